"""Sheet 02: plausible wrong implementations of every graded function, each of which must
lose points in its own task and only there (see mutation.py).

Functions that call the student's functions of other tasks (sigmoid inside zeta_grad, zeta
inside logistic_loss, the batch gradients inside train_logistic, ...) are graded with correct
versions of those functions swapped in by the hidden part of their test cell, so a mistake in
sigmoid costs the points of A.1 only."""

from mutation import Mutant, check_mutants

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


def test_every_mistake_loses_points_in_its_own_task_only():
    check_mutants(SHEET, MUTANTS)
