"""Sheet 02: plausible wrong implementations of every graded function, each of which must
lose points in its own task and only there, and correct alternatives a careful student writes,
each of which must pass every test cell (see mutation.py).

Functions that call the student's functions of other tasks (sigmoid inside zeta_grad, zeta
inside logistic_loss, the batch gradients inside train_logistic, ...) are graded with correct
versions of those functions swapped in by the hidden part of their test cell, so a mistake in
sigmoid costs the points of A.1 only."""

from mutation import Alternative, Mutant, check_alternatives, check_mutants

SHEET = "02_logistic_regression"

A1 = ("test_a1_sigmoid", "test_a1_sigmoid_grad")
A1_FORMULA = ("test_a1_sigmoid_derivative_expression",)
A2 = ("test_a2_zeta", "test_a2_zeta_grads")
A2_LIMITS = ("test_a2_zeta_asymptotes",)
A2_PLOT = ("test_a2_plot_zeta",)
A3 = ("test_a3_c1_grads", "test_a3_c1_inflection")
A3_PLOT = ("test_a3_plot_c1_chord",)
A4 = ("test_a4_logistic_loss", "test_a4_logistic_loss_grads")
B1 = ("test_b1_logistic_batch_grad", "test_b1_mse_batch_grad")
B2 = ("test_b2_train_logistic", "test_b2_train_mse")
B4 = ("test_b4_epochs_needed",)
B6 = ("test_b6_dead_pixels",)

STABLE_SIGMOID = "return np.where(z >= 0, 1.0 / (1.0 + small), small / (1.0 + small))"
EPOCHS_BODY = """above = np.flatnonzero(errors > threshold)
    if len(above) == 0:
        return 1
    if above[-1] == len(errors) - 1:
        return None
    return int(above[-1]) + 2"""

MUTANTS = [
    # A.1 sigmoid and its slope
    Mutant("sigmoid written naively (overflows for z = -1000)", "a1_sigmoid",
           STABLE_SIGMOID, "return 1.0 / (1.0 + np.exp(-z))", A1),
    Mutant("sigmoid: the two stable branches swapped", "a1_sigmoid", "np.where(z >= 0,", "np.where(z < 0,", A1),
    Mutant("sigmoid: exponent without the absolute value", "a1_sigmoid",
           "np.exp(-np.abs(z))", "np.exp(-z)", A1),
    Mutant("sigmoid_grad: the exp formula, which overflows", "a1_sigmoid",
           "s = sigmoid(z)\n    return s * (1.0 - s)", "e = np.exp(-z)\n    return e / (1.0 + e) ** 2", A1),
    Mutant("sigmoid_grad: the factor sigma forgotten", "a1_sigmoid", "return s * (1.0 - s)", "return 1.0 - s", A1),
    Mutant("sigmoid_grad: 1 + sigma instead of 1 - sigma", "a1_sigmoid", "return s * (1.0 - s)", "return s * (1.0 + s)", A1),
    # A.1 the formula
    Mutant("sigma' as only the second factor", "a1_sigmoid_derivative_expression",
           "return sigma * (1 - sigma)", "return 1 - sigma", A1_FORMULA),
    Mutant("sigma' with the second factor squared", "a1_sigmoid_derivative_expression",
           "return sigma * (1 - sigma)", "return sigma * (1 - sigma) ** 2", A1_FORMULA),
    Mutant("sigma' left to sympy's diff", "a1_sigmoid_derivative_expression",
           "return sigma * (1 - sigma)", "return sp.diff(sigma, z)", A1_FORMULA),
    # A.2 softplus
    Mutant("zeta written naively (overflows for z = 1000)", "a2_zeta",
           "return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))", "return np.log(1.0 + np.exp(z))", A2),
    Mutant("zeta with log(1 + u) instead of log1p (0 for very negative z)", "a2_zeta",
           "np.log1p(np.exp(-np.abs(z)))", "np.log(1.0 + np.exp(-np.abs(z)))", A2),
    Mutant("zeta as -log(sigmoid(-z)) (log 0 for z = 1000)", "a2_zeta",
           "return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))", "return -np.log(sigmoid(-z))", A2),
    Mutant("zeta without the max(0, z) part", "a2_zeta", "np.maximum(z, 0.0) + ", "", A2),
    Mutant("zeta_grad = sigmoid(-z)", "a2_zeta", "return sigmoid(z)", "return sigmoid(-z)", A2),
    Mutant("zeta_grad2 with the wrong sign", "a2_zeta", "return sigmoid_grad(z)", "return -sigmoid_grad(z)", A2),
    # A.2 the limits
    Mutant("slope of zeta at +infinity taken as infinite", "a2_zeta_asymptotes",
           "return 0.0, np.inf, 1.0", "return 0.0, np.inf, np.inf", A2_LIMITS),
    Mutant("limit at -infinity taken as log 2", "a2_zeta_asymptotes",
           "return 0.0, np.inf, 1.0", "return np.log(2.0), np.inf, 1.0", A2_LIMITS),
    Mutant("limit at +infinity taken as 1", "a2_zeta_asymptotes",
           "return 0.0, np.inf, 1.0", "return 0.0, 1.0, 1.0", A2_LIMITS),
    # A.2 the plot
    Mutant("plot_zeta only for z >= 0", "a2_plot_zeta", "np.linspace(-6, 6, 481)", "np.linspace(0, 6, 481)", A2_PLOT),
    Mutant("plot_zeta: ReLU mirrored", "a2_plot_zeta", "np.maximum(0.0, z)", "np.maximum(0.0, -z)", A2_PLOT),
    Mutant("plot_zeta without a legend", "a2_plot_zeta", "    ax.legend()\n", "", A2_PLOT),
    Mutant("plot_zeta returns nothing", "a2_plot_zeta", "    return fig\n", "    plt.show()\n", A2_PLOT),
    # A.3 c1
    Mutant("c1 with a factor 1/2", "a3_c1", "return (sigmoid(x) - 1.0) ** 2", "return (sigmoid(x) - 1.0) ** 2 / 2", A3),
    Mutant("c1': the slope of the sigmoid forgotten", "a3_c1",
           "return -2.0 * s * (1.0 - s) ** 2\n", "return 2.0 * (s - 1.0)\n", A3),
    Mutant("c1' with the wrong sign", "a3_c1", "return -2.0 * s * (1.0 - s) ** 2\n", "return 2.0 * s * (1.0 - s) ** 2\n", A3),
    Mutant("c1'': product rule slip (1 - 2 sigma)", "a3_c1", "(1.0 - 3.0 * s)", "(1.0 - 2.0 * s)", A3),
    Mutant("inflection point at +log 2", "a3_c1", "return -float(np.log(2.0))", "return float(np.log(2.0))", A3),
    Mutant("inflection point read off a plot", "a3_c1", "return -float(np.log(2.0))", "return -0.69", A3),
    # A.3 the chord plot
    Mutant("chord ignores the arguments a and b", "a3_plot_c1_chord",
           "ax.plot([a, b], [c1(a), c1(b)]", "ax.plot([-4.0, 2.0], [c1(-4.0), c1(2.0)]", A3_PLOT),
    Mutant("chord with its ends swapped", "a3_plot_c1_chord", "[c1(a), c1(b)]", "[c1(b), c1(a)]", A3_PLOT),
    Mutant("c1 drawn only between a and b", "a3_plot_c1_chord", "np.linspace(-6, 6, 481)", "np.linspace(a, b, 481)", A3_PLOT),
    Mutant("chord plot without axis labels", "a3_plot_c1_chord",
           'ax.set(xlabel="input x of the sigmoid", ylabel="squared error", ', "ax.set(", A3_PLOT),
    # A.4 logistic loss
    Mutant("logistic loss with log(sigmoid) (log 0 for large |w x|)", "a4_logistic_loss",
           "return y * zeta(-z) + (1.0 - y) * zeta(z)",
           "return -(y * np.log(sigmoid(z)) + (1.0 - y) * np.log(1.0 - sigmoid(z)))", A4),
    Mutant("logistic loss with the zeta arguments swapped", "a4_logistic_loss",
           "return y * zeta(-z) + (1.0 - y) * zeta(z)", "return y * zeta(z) + (1.0 - y) * zeta(-z)", A4),
    Mutant("c2' with the wrong sign", "a4_logistic_loss",
           "return (sigmoid(w * x) - y) * x", "return (y - sigmoid(w * x)) * x", A4),
    Mutant("c2' without the inner derivative x", "a4_logistic_loss",
           "return (sigmoid(w * x) - y) * x", "return sigmoid(w * x) - y", A4),
    Mutant("c2'' with x instead of x^2", "a4_logistic_loss", "return x**2 * sigmoid_grad", "return x * sigmoid_grad", A4),
    # B.1 batch gradients
    Mutant("logistic gradient: sum instead of mean", "b1_batch_gradients",
           "return X.T @ error / len(y), float(np.mean(error))", "return X.T @ error, float(np.sum(error))", B1),
    Mutant("logistic gradient: y - p instead of p - y", "b1_batch_gradients",
           "error = sigmoid(X @ w + b) - y", "error = y - sigmoid(X @ w + b)", B1),
    Mutant("logistic gradient: bias left out of the scores", "b1_batch_gradients",
           "error = sigmoid(X @ w + b) - y", "error = sigmoid(X @ w) - y", B1),
    Mutant("squared error gradient without the factor p (1 - p)", "b1_batch_gradients",
           "r = (p - y) * p * (1.0 - p)", "r = p - y", B1),
    Mutant("squared error gradient with 1/(2m)", "b1_batch_gradients",
           "return X.T @ r / len(y), float(np.mean(r))", "return X.T @ r / (2 * len(y)), float(np.mean(r)) / 2", B1),
    Mutant("squared error gradient: sigmoid_grad of p instead of p (1 - p)", "b1_batch_gradients",
           "p * (1.0 - p)", "sigmoid_grad(p)", B1),
    # B.2 training
    Mutant("training starts from small nonzero weights", "b2_train_logistic",
           "w, b = np.zeros(X.shape[1]), 0.0", "w, b = np.full(X.shape[1], 0.01), 0.0", B2),
    Mutant("errors recorded before the step", "b2_train_logistic",
           "w, b = w - lr * grad_w, b - lr * grad_b\n        z, z_val = X @ w + b, X_val @ w + b",
           "z, z_val = X @ w + b, X_val @ w + b\n        w, b = w - lr * grad_w, b - lr * grad_b", B2),
    Mutant("the loss flag is ignored (always logistic)", "b2_train_logistic",
           'gradient = logistic_loss_batch_grad if loss == "logistic" else mse_sigmoid_batch_grad',
           "gradient = logistic_loss_batch_grad", B2),
    Mutant("step uphill", "b2_train_logistic",
           "w - lr * grad_w, b - lr * grad_b", "w + lr * grad_w, b + lr * grad_b", B2),
    Mutant("bias never updated", "b2_train_logistic", "b - lr * grad_b", "b", B2),
    Mutant("validation error measured on the training set", "b2_train_logistic",
           "(z_val > 0) != (y_val == 1)", "(z > 0) != (y == 1)", B2),
    Mutant("training loss with log(sigmoid) (log 0 for huge steps)", "b2_train_logistic",
           "value = np.mean(y * zeta(-z) + (1.0 - y) * zeta(z))",
           "value = -np.mean(y * np.log(sigmoid(z)) + (1.0 - y) * np.log(1.0 - sigmoid(z)))", B2),
    Mutant("squared error recorded without the 1/2", "b2_train_logistic", "value = 0.5 * np.mean(", "value = np.mean(", B2),
    # B.4 epochs needed
    Mutant("epochs_needed: first crossing, even if the error rises again", "b4_epochs_needed", EPOCHS_BODY,
           "below = np.flatnonzero(errors <= threshold)\n    return int(below[0]) + 1 if len(below) else None", B4),
    Mutant("epochs_needed: off by one", "b4_epochs_needed", "return int(above[-1]) + 2", "return int(above[-1]) + 1", B4),
    Mutant("epochs_needed: threshold itself counts as above", "b4_epochs_needed", "errors > threshold", "errors >= threshold", B4),
    Mutant("epochs_needed: counts from 0", "b4_epochs_needed", "        return 1\n", "        return 0\n", B4),
    Mutant("epochs_needed: a run that ends above still counts", "b4_epochs_needed",
           "    if above[-1] == len(errors) - 1:\n        return None\n", "", B4),
    Mutant("epochs_needed returns a numpy integer", "b4_epochs_needed", "return int(above[-1]) + 2", "return above[-1] + 2", B4),
    # B.6 dead pixels
    Mutant("dead pixels by a zero column sum", "b6_dead_pixels", "np.all(X == 0, axis=0)", "X.sum(axis=0) == 0", B6),
    Mutant("dead pixels by a zero maximum", "b6_dead_pixels", "np.all(X == 0, axis=0)", "X.max(axis=0) == 0", B6),
    Mutant("dead pixels along the wrong axis", "b6_dead_pixels", "np.all(X == 0, axis=0)", "np.all(X == 0, axis=1)", B6),
    Mutant("dead pixels: any instead of all", "b6_dead_pixels", "np.all(X == 0, axis=0)", "np.any(X == 0, axis=0)", B6),
    Mutant("dead pixels as 0/1 integers", "b6_dead_pixels", "np.all(X == 0, axis=0)", "np.all(X == 0, axis=0).astype(int)", B6),
]

# Correct work written differently from the reference: other stable forms (numpy's logaddexp,
# sigma(z) sigma(-z), zeta(z) - y z), other ways to write a formula for sympy, masks and loops,
# the bias folded into X, numpy numbers where a float is asked for (np.float64 is a float).
SIGMOID_BODY = """    small = np.exp(-np.abs(z))  # in (0, 1]: never overflows
    return np.where(z >= 0, 1.0 / (1.0 + small), small / (1.0 + small))"""
SIGMOID_GRAD_BODY = "    s = sigmoid(z)\n    return s * (1.0 - s)"
FORMULA_BODY = "    sigma = 1 / (1 + sp.exp(-z))\n    return sigma * (1 - sigma)"
ZETA_BODY = "    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))"
ZETA_GRAD_BODY = "    return sigmoid(z)"
ZETA_GRAD2_BODY = "    return sigmoid_grad(z)"
PLOT_ZETA_BODY = """    z = np.linspace(-6, 6, 481)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(z, zeta(z), label=r"softplus $\\zeta(z) = \\log(1 + e^z)$")
    ax.plot(z, np.maximum(0.0, z), "--", label=r"ReLU $\\max(0, z)$")
    ax.set(xlabel="z", ylabel="value", title="Softplus, a rounded ReLU")
    ax.legend()"""
C1_BODY = "    return (sigmoid(x) - 1.0) ** 2"
C1_GRAD_BODY = "    s = sigmoid(x)\n    return -2.0 * s * (1.0 - s) ** 2\n"
C1_GRAD2_BODY = "    return -2.0 * s * (1.0 - s) ** 2 * (1.0 - 3.0 * s)"
CHORD_BODY = """    x = np.linspace(-6, 6, 481)
    x0 = c1_inflection_point()
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(x, c1(x), label=r"$c_1(x) = (\\sigma(x) - 1)^2$")
    ax.plot([a, b], [c1(a), c1(b)], "o-", label=f"chord from x = {a:g} to x = {b:g}")
    ax.plot(x0, c1(x0), "k*", markersize=10, label=r"inflection point $x = -\\log 2$")"""
LOSS_BODY = "    z = w * x\n    return y * zeta(-z) + (1.0 - y) * zeta(z)"
LOSS_GRAD_BODY = "    return (sigmoid(w * x) - y) * x"
LOSS_GRAD2_BODY = "    return x**2 * sigmoid_grad(w * x) + 0.0 * y  # y drops out; + 0 * y keeps the broadcast shape"
LOGISTIC_BATCH_BODY = "    error = sigmoid(X @ w + b) - y\n    return X.T @ error / len(y), float(np.mean(error))"
MSE_BATCH_BODY = """    p = sigmoid(X @ w + b)
    r = (p - y) * p * (1.0 - p)
    return X.T @ r / len(y), float(np.mean(r))"""
TRAIN_BODY = """    gradient = logistic_loss_batch_grad if loss == "logistic" else mse_sigmoid_batch_grad
    w, b = np.zeros(X.shape[1]), 0.0
    history = {"train_error": [], "val_error": [], "train_loss": []}
    for _ in range(epochs):
        grad_w, grad_b = gradient(w, b, X, y)
        w, b = w - lr * grad_w, b - lr * grad_b
        z, z_val = X @ w + b, X_val @ w + b
        if loss == "logistic":
            value = np.mean(y * zeta(-z) + (1.0 - y) * zeta(z))
        else:
            value = 0.5 * np.mean((sigmoid(z) - y) ** 2)
        history["train_error"].append(float(np.mean((z > 0) != (y == 1))))
        history["val_error"].append(float(np.mean((z_val > 0) != (y_val == 1))))
        history["train_loss"].append(float(value))
    return w, b, history"""
EPOCHS_SOLVED = "    " + EPOCHS_BODY  # the whole body, with its first line's indent
DEAD_BODY = "    return np.all(X == 0, axis=0)"

ALTERNATIVES = [
    # A.1
    Alternative("sigmoid as exp(-logaddexp(0, -z))", "a1_sigmoid", SIGMOID_BODY, "    return np.exp(-np.logaddexp(0.0, -z))"),
    Alternative("sigmoid with boolean masks into an empty array", "a1_sigmoid", SIGMOID_BODY,
                """    out = np.empty_like(z)
    negative = z < 0
    out[~negative] = 1.0 / (1.0 + np.exp(-z[~negative]))
    e = np.exp(z[negative])
    out[negative] = e / (1.0 + e)
    return out"""),
    Alternative("sigmoid_grad as sigmoid(z) sigmoid(-z)", "a1_sigmoid", SIGMOID_GRAD_BODY, "    return sigmoid(z) * sigmoid(-z)"),
    Alternative("sigma' as exp(z) / (1 + exp(z))^2", "a1_sigmoid_derivative_expression", FORMULA_BODY,
                "    return sp.exp(z) / (1 + sp.exp(z)) ** 2"),
    Alternative("sigma' as 1 / (4 cosh(z / 2)^2)", "a1_sigmoid_derivative_expression", FORMULA_BODY,
                "    return 1 / (4 * sp.cosh(z / 2) ** 2)"),
    # A.2
    Alternative("zeta with np.logaddexp(0, z)", "a2_zeta", ZETA_BODY, "    return np.logaddexp(0.0, z)"),
    Alternative("zeta_grad as exp(z - zeta(z))", "a2_zeta", ZETA_GRAD_BODY, "    return np.exp(z - zeta(z))"),
    Alternative("zeta_grad2 as zeta_grad (1 - zeta_grad)", "a2_zeta", ZETA_GRAD2_BODY,
                "    s = zeta_grad(z)\n    return s * (1.0 - s)"),
    Alternative("zeta_asymptotes in sympy (sp.oo)", "a2_zeta_asymptotes", "return 0.0, np.inf, 1.0",
                "return sp.Integer(0), sp.oo, sp.Integer(1)"),
    Alternative("plot_zeta with add_subplot, np.logaddexp and np.clip", "a2_plot_zeta", PLOT_ZETA_BODY,
                """    z = np.linspace(-6.0, 6.0, 200)
    fig = plt.figure()
    ax = fig.add_subplot()
    ax.plot(z, np.logaddexp(0.0, z), label="softplus")
    ax.plot(z, np.clip(z, 0.0, None), label="ReLU")
    ax.set_xlabel("z")
    ax.set_ylabel("f(z)")
    ax.set_title("softplus and ReLU")
    ax.grid(True)
    ax.legend(loc="upper left")"""),
    # Correct, but fails the hidden test_a2_plot_zeta (each curve must be one line of more than 20 samples):
    # Alternative("plot_zeta: ReLU drawn exactly, through its kink", "a2_plot_zeta", PLOT_ZETA_BODY,
    #             PLOT_ZETA_BODY.replace("ax.plot(z, np.maximum(0.0, z),", "ax.plot([-6, 0, 6], [0, 0, 6],")),
    # A.3
    Alternative("c1 as sigmoid(-x)^2", "a3_c1", C1_BODY, "    return sigmoid(-np.asarray(x, dtype=float)) ** 2"),
    Alternative("c1_grad as 2 (sigma - 1) sigma' with sigmoid_grad", "a3_c1", C1_GRAD_BODY,
                "    return 2.0 * (sigmoid(x) - 1.0) * sigmoid_grad(x)\n"),
    Alternative("c1_grad2 by the product rule, not factored", "a3_c1", C1_GRAD2_BODY,
                "    return -2.0 * s * (1.0 - s) ** 3 + 4.0 * s**2 * (1.0 - s) ** 2"),
    Alternative("c1_inflection_point as the logit of 1/3, a np.float64", "a3_c1", "    return -float(np.log(2.0))",
                "    s = 1 / 3  # sigma(x0) = 1/3\n    return np.log(s / (1 - s))"),
    Alternative("plot_c1_chord with a dense chord and a vertical line at the inflection point", "a3_plot_c1_chord", CHORD_BODY,
                """    x = np.linspace(-6.0, 6.0, 300)
    fig, ax = plt.subplots()
    ax.plot(x, c1(x), label="c1")
    t = np.linspace(a, b, 50)
    ax.plot(t, c1(a) + (c1(b) - c1(a)) * (t - a) / (b - a), "--", label="chord")
    ax.axvline(c1_inflection_point(), color="gray", linestyle=":", label="inflection point")"""),
    # A.4
    Alternative("logistic_loss as zeta(z) - y z", "a4_logistic_loss", LOSS_BODY, "    z = w * x\n    return zeta(z) - y * z"),
    Alternative("logistic_loss_grad from the zeta form: -y x sigma(-wx) + (1 - y) x sigma(wx)", "a4_logistic_loss", LOSS_GRAD_BODY,
                "    return -y * x * sigmoid(-w * x) + (1.0 - y) * x * sigmoid(w * x)"),
    Alternative("logistic_loss_grad2 as x^2 sigma(wx) sigma(-wx), broadcast with np.broadcast_to", "a4_logistic_loss",
                LOSS_GRAD2_BODY,
                "    z = w * x\n    return np.broadcast_to(x**2 * sigmoid(z) * sigmoid(-z), np.broadcast(w, x, y).shape)"),
    # B.1
    Alternative("logistic_loss_batch_grad with the bias folded into X as a column of ones", "b1_batch_gradients",
                LOGISTIC_BATCH_BODY,
                """    X1 = np.hstack([X, np.ones((len(X), 1))])
    g = X1.T @ (sigmoid(X1 @ np.append(w, b)) - y) / X1.shape[0]
    return g[:-1], float(g[-1])"""),
    Alternative("logistic_loss_batch_grad: error @ X, grad_b a np.float64", "b1_batch_gradients", LOGISTIC_BATCH_BODY,
                "    error = sigmoid(X @ w + b) - y\n    return error @ X / X.shape[0], np.mean(error)"),
    Alternative("mse_sigmoid_batch_grad with sigmoid_grad and np.dot", "b1_batch_gradients", MSE_BATCH_BODY,
                """    z = X @ w + b
    r = (sigmoid(z) - y) * sigmoid_grad(z)
    return np.dot(X.T, r) / len(y), float(r.sum() / len(y))"""),
    # B.2
    Alternative("train_logistic: gradients by if/else, in-place steps, p > 1/2 as the prediction, the loss by logistic_loss",
                "b2_train_logistic", TRAIN_BODY,
                """    w = np.zeros(X.shape[1])
    b = 0.0
    history = {"train_error": [], "val_error": [], "train_loss": []}
    for _ in range(epochs):
        if loss == "logistic":
            grad_w, grad_b = logistic_loss_batch_grad(w, b, X, y)
        else:
            grad_w, grad_b = mse_sigmoid_batch_grad(w, b, X, y)
        w -= lr * grad_w
        b -= lr * grad_b
        p, p_val = sigmoid(X @ w + b), sigmoid(X_val @ w + b)
        history["train_error"].append(np.mean((p > 0.5) != (y == 1)))
        history["val_error"].append(np.mean((p_val > 0.5) != (y_val == 1)))
        if loss == "logistic":
            history["train_loss"].append(np.mean(logistic_loss(1.0, X @ w + b, y)))
        else:
            history["train_loss"].append(np.mean((p - y) ** 2) / 2)
    return w, b, history"""),
    Alternative("train_logistic: the loss as mean(zeta(z) - y z), errors counted with np.count_nonzero",
                "b2_train_logistic", TRAIN_BODY,
                """    grads = {"logistic": logistic_loss_batch_grad, "mse": mse_sigmoid_batch_grad}
    w, b = np.zeros(X.shape[1]), 0.0
    train_error, val_error, train_loss = [], [], []
    for _ in range(epochs):
        grad_w, grad_b = grads[loss](w, b, X, y)
        w = w - lr * grad_w
        b = b - lr * grad_b
        z = X @ w + b
        train_error.append(np.count_nonzero((z > 0).astype(float) != y) / len(y))
        val_error.append(np.count_nonzero((X_val @ w + b > 0).astype(float) != y_val) / len(y_val))
        train_loss.append(float(np.mean(zeta(z) - y * z)) if loss == "logistic" else float(np.mean((sigmoid(z) - y) ** 2) / 2))
    return w, b, {"train_error": train_error, "val_error": val_error, "train_loss": train_loss}"""),
    # B.4
    Alternative("epochs_needed by a loop from the last epoch backwards", "b4_epochs_needed", EPOCHS_SOLVED,
                """    for k in range(len(errors) - 1, -1, -1):
        if errors[k] > threshold:
            return None if k == len(errors) - 1 else k + 2
    return 1"""),
    Alternative("epochs_needed by a forward scan that restarts when the error rises above", "b4_epochs_needed", EPOCHS_SOLVED,
                """    n = None
    for epoch, error in enumerate(errors, start=1):
        if error <= threshold:
            if n is None:
                n = epoch
        else:
            n = None
    return n"""),
    Alternative("epochs_needed with a reversed cumulative logical and", "b4_epochs_needed", EPOCHS_SOLVED,
                """    ok = errors <= threshold
    if not ok[-1]:
        return None
    stays = np.logical_and.accumulate(ok[::-1])[::-1]
    return int(np.argmax(stays)) + 1"""),
    # B.6
    Alternative("dead_pixels as ~X.any(axis=0)", "b6_dead_pixels", DEAD_BODY, "    return ~X.any(axis=0)"),
    Alternative("dead_pixels by np.count_nonzero", "b6_dead_pixels", DEAD_BODY, "    return np.count_nonzero(X, axis=0) == 0"),
    Alternative("dead_pixels by a zero maximum of |X|", "b6_dead_pixels", DEAD_BODY, "    return np.abs(X).max(axis=0) == 0"),
]


def test_every_mistake_loses_points_in_its_own_task_only():
    check_mutants(SHEET, MUTANTS, ALTERNATIVES)  # their rounds run along, for the next test


def test_every_correct_alternative_passes_every_test():
    check_alternatives(SHEET, ALTERNATIVES, MUTANTS)
