"""Sheet 01: plausible wrong implementations of every graded function, each of which must
lose points in its own task and only there, and correct alternatives a careful student writes,
each of which must pass every test cell (see mutation.py)."""

from mutation import Alternative, Mutant, check_alternatives, check_mutants

SHEET = "01_sigmoid_softmax_gradient_descent"

SIGMOID = ("test_a2_sigmoid",)
SOFTMAX = ("test_a2_softmax",)
TO_SIGMOID = ("test_a3_softmax_to_sigmoid",)
SIGMOID_GRAD = ("test_a5_sigmoid_grad",)
JACOBIAN = ("test_a5_softmax_jacobian",)
PLOT = ("test_a6_plot_activations",)
ROSENBROCK = ("test_b1_rosenbrock",)
GD = ("test_b2_gradient_descent",)
ADAM_CORRECTED = ("test_b3_adam_corrected",)
ADAM_UNCORRECTED = ("test_b3_adam_uncorrected",)
ADAM = ADAM_CORRECTED + ADAM_UNCORRECTED
FIRST_STEP = ("test_b4_first_adam_step",)

STABLE_SIGMOID = "return np.where(x >= 0, 1.0 / (1.0 + small), small / (1.0 + small))"
SHIFTED_EXP = "exps = np.exp(z - np.max(z, axis=axis, keepdims=True))"
GD_LOOP = """        x = x - lr * np.asarray(grad(x), dtype=float)
        trajectory.append(x.copy())"""

MUTANTS = [
    # A.2 sigmoid
    Mutant("sigmoid written naively (overflow for large negative x)", "a2_sigmoid_softmax",
           STABLE_SIGMOID, "return 1.0 / (1.0 + np.exp(-x))", SIGMOID),
    Mutant("sigmoid with both branches in np.where (computes exp(1000))", "a2_sigmoid_softmax",
           STABLE_SIGMOID, "return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))",
           SIGMOID),
    Mutant("sigmoid uses the positive branch for negative x too", "a2_sigmoid_softmax",
           STABLE_SIGMOID, "return 1.0 / (1.0 + small)", SIGMOID),
    Mutant("sigmoid with the branches swapped", "a2_sigmoid_softmax",
           "np.where(x >= 0,", "np.where(x < 0,", SIGMOID),
    Mutant("sigmoid exponentiates -x instead of -|x|", "a2_sigmoid_softmax",
           "small = np.exp(-np.abs(x))", "small = np.exp(-x)", SIGMOID),
    Mutant("sigmoid flattens its input", "a2_sigmoid_softmax",
           "x = np.asarray(x, dtype=float)\n    ### BEGIN SOLUTION\n    small",
           "x = np.asarray(x, dtype=float).ravel()\n    ### BEGIN SOLUTION\n    small", SIGMOID),
    # A.2 softmax
    Mutant("softmax subtracts the global maximum instead of each row's", "a2_sigmoid_softmax",
           "np.max(z, axis=axis, keepdims=True)", "np.max(z)", SOFTMAX),
    Mutant("softmax normalises along the wrong axis", "a2_sigmoid_softmax",
           "np.sum(exps, axis=axis, keepdims=True)", "np.sum(exps, axis=0, keepdims=True)", SOFTMAX),
    Mutant("softmax without the max shift (overflows)", "a2_sigmoid_softmax",
           SHIFTED_EXP, "exps = np.exp(z)", SOFTMAX),
    Mutant("softmax subtracts the minimum instead of the maximum", "a2_sigmoid_softmax",
           SHIFTED_EXP, "exps = np.exp(z - np.min(z, axis=axis, keepdims=True))", SOFTMAX),
    Mutant("softmax ignores the axis argument", "a2_sigmoid_softmax",
           "return exps / np.sum(exps, axis=axis, keepdims=True)",
           "exps = np.exp(z - np.max(z, axis=-1, keepdims=True))\n    return exps / np.sum(exps, axis=-1, keepdims=True)",
           SOFTMAX),
    Mutant("softmax sums without keepdims (wrong broadcasting)", "a2_sigmoid_softmax",
           "return exps / np.sum(exps, axis=axis, keepdims=True)",
           "return exps / np.sum(exps, axis=axis)", SOFTMAX),
    # A.3
    Mutant("w' = w1 - w0: the rows subtracted the wrong way round", "a3_softmax_to_sigmoid",
           "return W[0] - W[1], float(b[0] - b[1])", "return W[1] - W[0], float(b[1] - b[0])", TO_SIGMOID),
    Mutant("the bias is forgotten", "a3_softmax_to_sigmoid",
           "float(b[0] - b[1])", "0.0", TO_SIGMOID),
    Mutant("only w0 is used", "a3_softmax_to_sigmoid",
           "return W[0] - W[1],", "return W[0],", TO_SIGMOID),
    Mutant("b' returned as an array", "a3_softmax_to_sigmoid",
           "float(b[0] - b[1])", "b[:1] - b[1:]", TO_SIGMOID),
    Mutant("columns instead of rows", "a3_softmax_to_sigmoid",
           "return W[0] - W[1],", "return W[:, 0] - W[:, 1],", TO_SIGMOID),
    # A.5 sigmoid_grad
    Mutant("sigmoid_grad = s (1 + s)", "a5_gradients", "return s * (1.0 - s)", "return s * (1.0 + s)", SIGMOID_GRAD),
    Mutant("sigmoid_grad = 1 - s", "a5_gradients", "return s * (1.0 - s)", "return 1.0 - s", SIGMOID_GRAD),
    Mutant("sigmoid_grad from the unstable formula (nan for large |x|)", "a5_gradients",
           "s = sigmoid(x)\n    return s * (1.0 - s)",
           "x = np.asarray(x, dtype=float)\n    return np.exp(-x) / (1 + np.exp(-x)) ** 2", SIGMOID_GRAD),
    Mutant("sigmoid_grad with the sign flipped", "a5_gradients",
           "return s * (1.0 - s)", "return s * (s - 1.0)", SIGMOID_GRAD),
    Mutant("sigmoid_grad = s (1 - s) without calling sigmoid: s = x", "a5_gradients",
           "s = sigmoid(x)", "s = np.asarray(x, dtype=float)", SIGMOID_GRAD),
    # A.5 softmax_jacobian
    Mutant("Jacobian with the wrong sign", "a5_gradients",
           "np.diag(s) - np.outer(s, s)", "np.outer(s, s) - np.diag(s)", JACOBIAN),
    Mutant("Jacobian only on the diagonal", "a5_gradients",
           "np.diag(s) - np.outer(s, s)", "np.diag(s * (1 - s))", JACOBIAN),
    Mutant("Jacobian with the identity instead of diag(s)", "a5_gradients",
           "np.diag(s) - np.outer(s, s)", "np.eye(len(s)) - np.outer(s, s)", JACOBIAN),
    Mutant("Jacobian from a naive softmax (overflows)", "a5_gradients",
           "s = softmax(z)", "s = np.exp(z) / np.exp(z).sum()", JACOBIAN),
    Mutant("Jacobian without the diagonal term", "a5_gradients",
           "np.diag(s) - np.outer(s, s)", "-np.outer(s, s)", JACOBIAN),
    # A.6 plot_activations
    Mutant("the y limits are not set", "a6_plot_activations",
           "ax.set(xlim=(-3, 3), ylim=(-3, 3),", "ax.set(xlim=(-3, 3),", PLOT),
    Mutant("ReLU's derivative drawn as ReLU", "a6_plot_activations",
           "right.plot(x, relu_grad,", "right.plot(x, relu,", PLOT),
    Mutant("the sigmoid instead of its derivative on the right", "a6_plot_activations",
           "right.plot(x, sigmoid_grad(x),", "right.plot(x, sigmoid(x),", PLOT),
    Mutant("no caption", "a6_plot_activations",
           'caption(fig, "The sigmoid', '("The sigmoid', PLOT),
    Mutant("no legends", "a6_plot_activations", "ax.legend(loc=\"upper left\")", "pass", PLOT),
    # B.1
    Mutant("rosenbrock_grad misses the inner derivative -2x", "b1_rosenbrock",
           "-400.0 * x * (y - x**2)", "-200.0 * (y - x**2)", ROSENBROCK),
    Mutant("rosenbrock_grad with the wrong sign of the second term", "b1_rosenbrock",
           "- 2.0 * (1.0 - x),", "+ 2.0 * (1.0 - x),", ROSENBROCK),
    Mutant("df/dy with 100 instead of 200", "b1_rosenbrock",
           "200.0 * (y - x**2)]", "100.0 * (y - x**2)]", ROSENBROCK),
    Mutant("rosenbrock with (1 - y)^2", "b1_rosenbrock", "(1.0 - x) ** 2", "(1.0 - y) ** 2", ROSENBROCK),
    Mutant("rosenbrock with (y - x)^2", "b1_rosenbrock", "100.0 * (y - x**2) ** 2", "100.0 * (y - x) ** 2", ROSENBROCK),
    # B.2
    Mutant("gradient ascent", "b2_gradient_descent", "x = x - lr *", "x = x + lr *", GD),
    Mutant("one step too few", "b2_gradient_descent", "range(steps)", "range(steps - 1)", GD),
    Mutant("the start is not in the trajectory", "b2_gradient_descent",
           "trajectory = [x.copy()]", "trajectory = []", GD),
    Mutant("the gradient is always taken at x0", "b2_gradient_descent", "grad(x)", "grad(x0)", GD),
    Mutant("x0 is updated in place", "b2_gradient_descent",
           "x = x - lr * np.asarray(grad(x), dtype=float)",
           "x0[...] = x - lr * np.asarray(grad(x), dtype=float)\n        x = x0", GD),
    Mutant("rows of the trajectory are the same array, updated in place", "b2_gradient_descent",
           GD_LOOP, "        x -= lr * np.asarray(grad(x), dtype=float)\n        trajectory.append(x)", GD),
    # B.3
    Mutant("Adam: epsilon inside the square root", "b3_adam",
           "np.sqrt(v_hat) + eps", "np.sqrt(v_hat + eps)", ADAM),
    Mutant("Adam: bias correction of the first moment only", "b3_adam",
           "m / (1 - beta1**t), v / (1 - beta2**t)", "m / (1 - beta1**t), v", ADAM_CORRECTED),
    Mutant("Adam: step counter off by one in the correction", "b3_adam",
           "m / (1 - beta1**t), v / (1 - beta2**t)", "m / (1 - beta1**(t + 1)), v / (1 - beta2**(t + 1))",
           ADAM_CORRECTED),
    Mutant("Adam: the flag is ignored (always corrected)", "b3_adam",
           "if bias_correction:", "if True:", ADAM_UNCORRECTED),
    Mutant("Adam: the flag is inverted", "b3_adam",
           "if bias_correction:", "if not bias_correction:", ADAM),
    Mutant("Adam: v averages |g| instead of g^2", "b3_adam",
           "(1 - beta2) * g**2", "(1 - beta2) * np.abs(g)", ADAM),
    Mutant("Adam: beta1 and beta2 swapped in the first moment", "b3_adam",
           "m = beta1 * m + (1 - beta1) * g", "m = beta2 * m + (1 - beta2) * g", ADAM),
    Mutant("Adam: the moments are not reset between calls", "b3_adam",
           "m, v = np.zeros_like(x), np.zeros_like(x)",
           "m, v = getattr(adam, 'm', np.zeros_like(x)), getattr(adam, 'v', np.zeros_like(x))\n    adam.m, adam.v = m, v",
           ADAM),
    Mutant("Adam: x0 is updated in place", "b3_adam",
           "x = x - lr * m_hat / (np.sqrt(v_hat) + eps)",
           "x0[...] = x - lr * m_hat / (np.sqrt(v_hat) + eps)\n        x = x0", ADAM),
    # B.4
    Mutant("first step: the correction is never applied", "b4_first_adam_step",
           "if bias_correction:", "if False:", FIRST_STEP),
    Mutant("first step: epsilon inside the square root", "b4_first_adam_step",
           "np.sqrt(v1) + eps", "np.sqrt(v1 + eps)", FIRST_STEP),
    Mutant("first step: the move goes along the gradient", "b4_first_adam_step",
           "return -lr * m1", "return lr * m1", FIRST_STEP),
    Mutant("first step: m1 without the factor 1 - beta1", "b4_first_adam_step",
           "m1, v1 = (1 - beta1) * g,", "m1, v1 = g,", FIRST_STEP),
    Mutant("first step: v1 = (1 - beta2) |g| instead of g^2", "b4_first_adam_step",
           "(1 - beta2) * g**2", "(1 - beta2) * np.abs(g)", FIRST_STEP),
    Mutant("first step: the square root is forgotten", "b4_first_adam_step",
           "np.sqrt(v1) + eps", "v1 + eps", FIRST_STEP),
]

# Correct work written differently from the reference: other stable forms, masks and loops
# instead of np.where and broadcasting, the chain rule in pieces or multiplied out, trajectories
# preallocated and updated in place, Adam in Kingma and Ba's efficient form.
SIGMOID_BODY = """    small = np.exp(-np.abs(x))  # exp of a non-positive number never overflows
    return np.where(x >= 0, 1.0 / (1.0 + small), small / (1.0 + small))"""
SOFTMAX_BODY = """    exps = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return exps / np.sum(exps, axis=axis, keepdims=True)"""
SIGMOID_GRAD_BODY = "    s = sigmoid(x)\n    return s * (1.0 - s)"
JACOBIAN_BODY = "    s = softmax(z)\n    return np.diag(s) - np.outer(s, s)"
PLOT_BODY = """    x = np.linspace(-3, 3, 601)
    relu = np.maximum(0.0, x)
    relu_grad = (x > 0).astype(float)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(x, sigmoid(x), label=r"sigmoid $\\sigma(x)$")
    left.plot(x, relu, label=r"ReLU $\\max(0, x)$")
    right.plot(x, sigmoid_grad(x), label=r"$\\sigma'(x)$")
    right.plot(x, relu_grad, label=r"ReLU$'(x)$")
    for ax, title in ((left, "Activation functions"), (right, "Their derivatives")):
        ax.set(xlim=(-3, 3), ylim=(-3, 3), xlabel="input x", ylabel="output", title=title)
        ax.legend(loc="upper left")
    right.set_ylabel("derivative")"""
ROSENBROCK_BODY = "    return float(100.0 * (y - x**2) ** 2 + (1.0 - x) ** 2)"
ROSENBROCK_GRAD_BODY = "    return np.array([-400.0 * x * (y - x**2) - 2.0 * (1.0 - x), 200.0 * (y - x**2)])"
GD_BODY = """    x = np.array(x0, dtype=float)
    trajectory = [x.copy()]
    for _ in range(steps):
        x = x - lr * np.asarray(grad(x), dtype=float)
        trajectory.append(x.copy())
    return np.array(trajectory)"""
ADAM_STEP = """        if bias_correction:
            m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
        else:
            m_hat, v_hat = m, v
        x = x - lr * m_hat / (np.sqrt(v_hat) + eps)"""
ADAM_BODY = """    x = np.array(x0, dtype=float)
    m, v = np.zeros_like(x), np.zeros_like(x)
    trajectory = [x.copy()]
    for t in range(1, steps + 1):
        g = np.asarray(grad(x), dtype=float)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
""" + ADAM_STEP + """
        trajectory.append(x.copy())
    return np.array(trajectory)"""
FIRST_STEP_BODY = """    m1, v1 = (1 - beta1) * g, (1 - beta2) * g**2
    if bias_correction:
        m1, v1 = m1 / (1 - beta1), v1 / (1 - beta2)
    return -lr * m1 / (np.sqrt(v1) + eps)"""

ALTERNATIVES = [
    # A.2 sigmoid and softmax
    Alternative("sigmoid as exp(-logaddexp(0, -x))", "a2_sigmoid_softmax", SIGMOID_BODY,
                "    return np.exp(-np.logaddexp(0.0, -x))"),
    Alternative("sigmoid as (1 + tanh(x / 2)) / 2", "a2_sigmoid_softmax", SIGMOID_BODY,
                "    return 0.5 * (1.0 + np.tanh(0.5 * x))"),
    Alternative("sigmoid with boolean masks into an empty array", "a2_sigmoid_softmax", SIGMOID_BODY,
                """    out = np.empty_like(x)
    positive = x >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-x[positive]))
    e = np.exp(x[~positive])
    out[~positive] = e / (1.0 + e)
    return out"""),
    Alternative("softmax as exp(z - logsumexp(z))", "a2_sigmoid_softmax", SOFTMAX_BODY,
                """    top = np.max(z, axis=axis, keepdims=True)
    log_sum = top + np.log(np.sum(np.exp(z - top), axis=axis, keepdims=True))
    return np.exp(z - log_sum)"""),
    Alternative("softmax in place on its own shifted copy", "a2_sigmoid_softmax", SOFTMAX_BODY,
                """    shifted = z - z.max(axis=axis, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=axis, keepdims=True)
    return shifted"""),
    Alternative("softmax with np.apply_along_axis over 1-d slices", "a2_sigmoid_softmax", SOFTMAX_BODY,
                """    def one(row):
        e = np.exp(row - row.max())
        return e / e.sum()

    return np.apply_along_axis(one, axis, z)"""),
    # A.3
    Alternative("softmax_to_sigmoid through the difference vector (1, -1)", "a3_softmax_to_sigmoid",
                "return W[0] - W[1], float(b[0] - b[1])",
                "difference = np.array([1.0, -1.0])\n    return difference @ W, float(difference @ b)"),
    Alternative("softmax_to_sigmoid with -np.diff (b' a np.float64)", "a3_softmax_to_sigmoid",
                "return W[0] - W[1], float(b[0] - b[1])", "return -np.diff(W, axis=0)[0], -np.diff(b)[0]"),
    # A.5
    Alternative("sigmoid_grad as sigmoid(x) sigmoid(-x)", "a5_gradients", SIGMOID_GRAD_BODY,
                "    x = np.asarray(x, dtype=float)\n    return sigmoid(x) * sigmoid(-x)"),
    Alternative("sigmoid_grad as (1 - tanh(x / 2)^2) / 4", "a5_gradients", SIGMOID_GRAD_BODY,
                "    return 0.25 * (1.0 - np.tanh(0.5 * np.asarray(x, dtype=float)) ** 2)"),
    Alternative("sigmoid_grad as e^-|x| / (1 + e^-|x|)^2 (symmetric, stable)", "a5_gradients", SIGMOID_GRAD_BODY,
                "    small = np.exp(-np.abs(np.asarray(x, dtype=float)))\n    return small / (1.0 + small) ** 2"),
    Alternative("softmax_jacobian by a double loop over i and j", "a5_gradients", JACOBIAN_BODY,
                """    s = softmax(z)
    n = len(s)
    J = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            J[i, j] = s[i] * ((1.0 if i == j else 0.0) - s[j])
    return J"""),
    Alternative("softmax_jacobian as s_i (delta_ij - s_j) by broadcasting", "a5_gradients", JACOBIAN_BODY,
                "    s = softmax(z)\n    return s[:, None] * (np.eye(len(s)) - s[None, :])"),
    Alternative("softmax_jacobian with np.fill_diagonal", "a5_gradients", JACOBIAN_BODY,
                "    s = softmax(z)\n    J = -np.outer(s, s)\n    np.fill_diagonal(J, s * (1.0 - s))\n    return J"),
    # A.6
    Alternative("plot_activations with add_subplot, np.where and np.heaviside(x, 0.5)", "a6_plot_activations", PLOT_BODY,
                """    x = np.linspace(-3.0, 3.0, 250)
    fig = plt.figure(figsize=(11, 4))
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    left.plot(x, sigmoid(x), label="sigmoid")
    left.plot(x, np.where(x > 0, x, 0.0), label="ReLU")
    right.plot(x, sigmoid_grad(x), label="sigmoid'")
    right.plot(x, np.heaviside(x, 0.5), label="ReLU'")
    left.set_title("activations")
    right.set_title("derivatives")
    for ax in (left, right):
        ax.set_xlim(-3, 3)
        ax.set_ylim(-3, 3)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.legend()"""),
    Alternative("plot_activations on shared axes, the curves from a dict", "a6_plot_activations", PLOT_BODY,
                """    x = np.linspace(-3, 3, 100)
    curves = {"sigmoid": (sigmoid(x), sigmoid_grad(x)), "ReLU": (np.clip(x, 0, None), 1.0 * (x > 0))}
    fig, axes = plt.subplots(ncols=2, sharex=True, sharey=True, figsize=(10, 4))
    for name, (f, df) in curves.items():
        axes[0].plot(x, f, label=name)
        axes[1].plot(x, df, label=f"d/dx {name}")
    for ax, what in zip(axes, ("f(x)", "f'(x)")):
        ax.set(xlim=(-3, 3), ylim=(-3, 3), xlabel="x", ylabel=what, title=what)
        ax.legend()"""),
    Alternative("plot_activations with 20 points per curve", "a6_plot_activations", PLOT_BODY,
                PLOT_BODY.replace("np.linspace(-3, 3, 601)", "np.linspace(-3, 3, 20)")),
    # Correct, but fails the hidden test_a6_plot_activations (each curve must be one line of at least 20 samples):
    # Alternative("plot_activations: ReLU and ReLU' drawn exactly, through their kinks", "a6_plot_activations", PLOT_BODY,
    #             PLOT_BODY.replace("left.plot(x, relu,", "left.plot([-3, 0, 3], [0, 0, 3],")
    #             .replace("right.plot(x, relu_grad,", "right.plot([-3, 0, 0, 3], [0, 0, 1, 1],")),
    # B.1
    Alternative("rosenbrock as the squared length of the residuals (10 (y - x^2), 1 - x)", "b1_rosenbrock", ROSENBROCK_BODY,
                "    r = np.array([10.0 * (y - x * x), 1.0 - x])\n    return float(r @ r)"),
    Alternative("rosenbrock returned as a np.float64", "b1_rosenbrock", ROSENBROCK_BODY,
                "    return 100 * np.square(y - np.square(x)) + np.square(1 - x)"),
    Alternative("rosenbrock_grad by the chain rule in named pieces", "b1_rosenbrock", ROSENBROCK_GRAD_BODY,
                """    inner = y - x**2
    df_dx = 200.0 * inner * (-2.0 * x) + 2.0 * (1.0 - x) * (-1.0)
    df_dy = 200.0 * inner
    return np.array([df_dx, df_dy])"""),
    Alternative("rosenbrock_grad multiplied out", "b1_rosenbrock", ROSENBROCK_GRAD_BODY,
                "    return np.array([400 * x**3 - 400 * x * y + 2 * x - 2, 200 * y - 200 * x**2])"),
    # B.2
    Alternative("gradient_descent into a preallocated array", "b2_gradient_descent", GD_BODY,
                """    x0 = np.asarray(x0, dtype=float)
    trajectory = np.zeros((steps + 1, len(x0)))
    trajectory[0] = x0
    for t in range(steps):
        trajectory[t + 1] = trajectory[t] - lr * np.asarray(grad(trajectory[t]))
    return trajectory"""),
    Alternative("gradient_descent in place on a copy, stacked with np.vstack", "b2_gradient_descent", GD_BODY,
                """    x = np.array(x0, dtype=float, copy=True)
    rows = [x.copy()]
    for _ in range(steps):
        x -= lr * np.asarray(grad(x), dtype=float)
        rows.append(x.copy())
    return np.vstack(rows)"""),
    # B.3
    Alternative("adam in Kingma and Ba's efficient form, eps rescaled by sqrt(1 - beta2^t)", "b3_adam", ADAM_STEP,
                """        if bias_correction:
            step = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
            x = x - step * m / (np.sqrt(v) + eps * np.sqrt(1 - beta2**t))
        else:
            x = x - lr * m / (np.sqrt(v) + eps)"""),
    Alternative("adam with preallocated moments and trajectory, updated in place", "b3_adam", ADAM_BODY,
                """    x = np.array(x0, dtype=float)
    trajectory = np.empty((steps + 1, *x.shape))
    trajectory[0] = x
    m, v = np.zeros_like(x), np.zeros_like(x)
    for t in range(1, steps + 1):
        g = np.asarray(grad(trajectory[t - 1]), dtype=float)
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * np.square(g)
        c1, c2 = (1 - beta1**t, 1 - beta2**t) if bias_correction else (1.0, 1.0)
        trajectory[t] = trajectory[t - 1] - lr * (m / c1) / (np.sqrt(v / c2) + eps)
    return trajectory"""),
    # B.4
    Alternative("first_adam_step from the closed forms -lr g / (|g| + eps) and its uncorrected version", "b4_first_adam_step",
                FIRST_STEP_BODY,
                """    if bias_correction:
        return -lr * g / (np.abs(g) + eps)
    return -lr * (1 - beta1) * g / (np.sqrt(1 - beta2) * np.abs(g) + eps)"""),
    Alternative("first_adam_step with m-hat_1 = g and v-hat_1 = g^2 written out", "b4_first_adam_step", FIRST_STEP_BODY,
                """    if bias_correction:
        m_hat, v_hat = g, g * g
    else:
        m_hat, v_hat = (1 - beta1) * g, (1 - beta2) * g * g
    return -lr * m_hat / (np.sqrt(v_hat) + eps)"""),
]


def test_every_mistake_loses_points_in_its_own_task_only():
    check_mutants(SHEET, MUTANTS, ALTERNATIVES)  # their rounds run along, for the next test


def test_every_correct_alternative_passes_every_test():
    check_alternatives(SHEET, ALTERNATIVES, MUTANTS)
