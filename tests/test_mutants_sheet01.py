"""Sheet 01: plausible wrong implementations of every graded function, each of which must
lose points in its own task and only there (see mutation.py)."""

from mutation import Mutant, check_mutants

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


def test_every_mistake_loses_points_in_its_own_task_only():
    check_mutants(SHEET, MUTANTS)
