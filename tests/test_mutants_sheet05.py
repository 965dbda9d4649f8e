"""Sheet 05: plausible wrong implementations of every graded function, each of which must
lose points in its own task and only there (see mutation.py)."""

from mutation import Mutant, check_mutants

SHEET = "05_activations_and_skip_connections"

RELU_FORMULA = ("test_a1_relu_derivative_expression",)
RELU = ("test_a1_relu",)
RELU_GRAD = ("test_a1_relu_grad",)
SOFTPLUS_FORMULA = ("test_a2_softplus_derivative_expression",)
SOFTPLUS = ("test_a2_softplus",)
SOFTPLUS_GRAD = ("test_a2_softplus_grad",)
ELU_FORMULA = ("test_a3_elu_derivative_expression",)
ELU = ("test_a3_elu",)
ELU_GRAD = ("test_a3_elu_grad",)
LOGSIGMOID_FORMULA = ("test_a4_logsigmoid_derivative_expression",)
LOGSIGMOID = ("test_a4_logsigmoid",)
LOGSIGMOID_GRAD = ("test_a4_logsigmoid_grad",)
GAP = ("test_a5_softplus_relu_gap",)
LIMITS = ("test_a6_one_sided_limits",)
CLASS = ("test_a6_smoothness_class",)
LAYER = ("test_b1_layer_backward_dx", "test_b1_layer_backward_dW")
SKIP = ("test_b2_skip_layer_backward_dx", "test_b2_skip_layer_backward_dW")

MUTANTS = [
    # ReLU
    Mutant("ReLU' with the sides swapped", "a1_relu_derivative_expression",
           "sp.Piecewise((0, x < 0), (1, True))", "sp.Piecewise((1, x < 0), (0, True))", RELU_FORMULA),
    Mutant("ReLU' written as ReLU itself", "a1_relu_derivative_expression",
           "sp.Piecewise((0, x < 0), (1, True))", "sp.Piecewise((0, x < 0), (x, True))", RELU_FORMULA),
    Mutant("relu sets the negative entries of its input to 0 in place", "a1_relu",
           "return np.maximum(x, 0.0)", "x[x < 0] = 0.0\n    return x", RELU),
    Mutant("relu returns x", "a1_relu", "return np.maximum(x, 0.0)", "return x", RELU),
    Mutant("relu_grad(0) = 1 instead of PyTorch's 0", "a1_relu", "(x > 0).astype(float)", "(x >= 0).astype(float)", RELU_GRAD),
    Mutant("relu_grad returns booleans", "a1_relu", "(x > 0).astype(float)", "(x > 0)", RELU_GRAD),
    Mutant("relu_grad returns relu", "a1_relu", "(x > 0).astype(float)", "np.maximum(x, 0.0)", RELU_GRAD),
    # Softplus
    Mutant("Softplus' without beta in the exponent", "a2_softplus_derivative_expression",
           "sp.exp(beta * x) / (1 + sp.exp(beta * x))", "sp.exp(x) / (1 + sp.exp(x))", SOFTPLUS_FORMULA),
    Mutant("Softplus' with an extra factor beta", "a2_softplus_derivative_expression",
           "sp.exp(beta * x) / (1 + sp.exp(beta * x))", "beta * sp.exp(beta * x) / (1 + sp.exp(beta * x))", SOFTPLUS_FORMULA),
    Mutant("Softplus' with the chain-rule factor squared", "a2_softplus_derivative_expression",
           "sp.exp(beta * x) / (1 + sp.exp(beta * x))", "sp.exp(beta * x) / (1 + sp.exp(beta * x)) ** 2", SOFTPLUS_FORMULA),
    Mutant("softplus written naively (overflows for large beta x)", "a2_softplus",
           "(np.maximum(u, 0.0) + np.log1p(np.exp(-np.abs(u)))) / beta", "np.log(1 + np.exp(u)) / beta", SOFTPLUS),
    Mutant("softplus forgets the 1 / beta", "a2_softplus",
           "(np.maximum(u, 0.0) + np.log1p(np.exp(-np.abs(u)))) / beta", "np.maximum(u, 0.0) + np.log1p(np.exp(-np.abs(u)))", SOFTPLUS),
    Mutant("softplus ignores beta", "a2_softplus", "    u = beta * x\n    return (", "    u = x\n    return (", SOFTPLUS),
    Mutant("softplus with log instead of log1p (inaccurate for very negative x)", "a2_softplus",
           "np.log1p(np.exp(-np.abs(u)))) / beta", "np.log(1 + np.exp(-np.abs(u)))) / beta", SOFTPLUS),
    Mutant("softplus_grad computes sigma(x) instead of sigma(beta x)", "a2_softplus",
           "    u = beta * x\n    small", "    u = x\n    small", SOFTPLUS_GRAD),
    Mutant("softplus_grad with an extra factor beta", "a2_softplus",
           "return np.where(u >= 0, 1.0 / (1.0 + small), small / (1.0 + small))",
           "return beta * np.where(u >= 0, 1.0 / (1.0 + small), small / (1.0 + small))", SOFTPLUS_GRAD),
    Mutant("softplus_grad written naively (overflow, nan)", "a2_softplus",
           "return np.where(u >= 0, 1.0 / (1.0 + small), small / (1.0 + small))", "return np.exp(u) / (1.0 + np.exp(u))", SOFTPLUS_GRAD),
    # ELU
    Mutant("ELU' without alpha", "a3_elu_derivative_expression",
           "sp.Piecewise((alpha * sp.exp(x), x < 0), (1, True))", "sp.Piecewise((sp.exp(x), x < 0), (1, True))", ELU_FORMULA),
    Mutant("ELU' with alpha on the right", "a3_elu_derivative_expression",
           "sp.Piecewise((alpha * sp.exp(x), x < 0), (1, True))", "sp.Piecewise((alpha * sp.exp(x), x < 0), (alpha, True))", ELU_FORMULA),
    Mutant("ELU' written as ELU on the left", "a3_elu_derivative_expression",
           "sp.Piecewise((alpha * sp.exp(x), x < 0), (1, True))", "sp.Piecewise((alpha * (sp.exp(x) - 1), x < 0), (1, True))", ELU_FORMULA),
    Mutant("elu exponentiates every x in np.where (overflow warning)", "a3_elu",
           "alpha * np.expm1(np.minimum(x, 0.0))", "alpha * (np.exp(x) - 1)", ELU),
    Mutant("elu with exp(x) - 1 instead of expm1 (inaccurate near 0)", "a3_elu",
           "np.expm1(np.minimum(x, 0.0))", "(np.exp(np.minimum(x, 0.0)) - 1)", ELU),
    Mutant("elu forgets alpha", "a3_elu", "alpha * np.expm1(", "np.expm1(", ELU),
    Mutant("elu_grad(0) = 1 instead of PyTorch's alpha", "a3_elu",
           "np.where(x > 0, 1.0, alpha * np.exp", "np.where(x >= 0, 1.0, alpha * np.exp", ELU_GRAD),
    Mutant("elu_grad forgets alpha", "a3_elu", "alpha * np.exp(np.minimum(x, 0.0))", "np.exp(np.minimum(x, 0.0))", ELU_GRAD),
    Mutant("elu_grad exponentiates every x (overflow warning)", "a3_elu",
           "alpha * np.exp(np.minimum(x, 0.0))", "alpha * np.exp(x)", ELU_GRAD),
    # LogSigmoid
    Mutant("LogSigmoid' written as the sigmoid", "a4_logsigmoid_derivative_expression",
           "1 / (1 + sp.exp(x))", "1 / (1 + sp.exp(-x))", LOGSIGMOID_FORMULA),
    Mutant("LogSigmoid' with the wrong sign", "a4_logsigmoid_derivative_expression",
           "1 / (1 + sp.exp(x))", "-1 / (1 + sp.exp(x))", LOGSIGMOID_FORMULA),
    Mutant("logsigmoid written naively (overflow, log 0)", "a4_logsigmoid",
           "np.minimum(x, 0.0) - np.log1p(np.exp(-np.abs(x)))", "np.log(1 / (1 + np.exp(-x)))", LOGSIGMOID),
    Mutant("logsigmoid with the wrong sign of the log term", "a4_logsigmoid",
           "np.minimum(x, 0.0) - np.log1p(", "np.minimum(x, 0.0) + np.log1p(", LOGSIGMOID),
    Mutant("logsigmoid with max instead of min", "a4_logsigmoid",
           "np.minimum(x, 0.0) - np.log1p(", "np.maximum(x, 0.0) - np.log1p(", LOGSIGMOID),
    Mutant("logsigmoid_grad returns sigma(x) instead of sigma(-x)", "a4_logsigmoid",
           "np.where(x >= 0, small / (1.0 + small), 1.0 / (1.0 + small))",
           "np.where(x >= 0, 1.0 / (1.0 + small), small / (1.0 + small))", LOGSIGMOID_GRAD),
    Mutant("logsigmoid_grad written naively (overflow warning)", "a4_logsigmoid",
           "return np.where(x >= 0, small / (1.0 + small), 1.0 / (1.0 + small))", "return 1.0 / (1.0 + np.exp(x))", LOGSIGMOID_GRAD),
    # the gap
    Mutant("gap without 1 / beta", "a5_softplus_relu_gap", "float(np.log(2.0) / beta)", "float(np.log(2.0))", GAP),
    Mutant("gap times beta", "a5_softplus_relu_gap", "float(np.log(2.0) / beta)", "float(np.log(2.0) * beta)", GAP),
    Mutant("gap 1 / beta", "a5_softplus_relu_gap", "float(np.log(2.0) / beta)", "float(1.0 / beta)", GAP),
    Mutant("gap at x = 1 / beta", "a5_softplus_relu_gap", "return 0.0, float", "return 1.0 / beta, float", GAP),
    # one-sided limits
    Mutant("one_sided_limits falls into the Piecewise trap of sp.limit", "a6_one_sided_limits",
           'return sp.limit(g.subs(x, x0 + side * h), h, 0, dir="+")',
           'return sp.limit(g, x, x0, dir="-" if side < 0 else "+")', LIMITS),
    Mutant("one_sided_limits swaps left and right", "a6_one_sided_limits",
           '"left": limit(f, -1)', '"left": limit(f, +1)', LIMITS),
    Mutant("one_sided_limits takes the slopes of f itself", "a6_one_sided_limits", "slope = sp.diff(f, x)", "slope = f", LIMITS),
    Mutant("one_sided_limits takes the left limit as the value", "a6_one_sided_limits",
           '"value": f.subs(x, x0)', '"value": limit(f, -1)', LIMITS),
    Mutant("one_sided_limits ignores x0", "a6_one_sided_limits", "x0 + side * h", "side * h", LIMITS),
    # smoothness class
    Mutant("smoothness_class ignores the value f(x0)", "a6_smoothness_class",
           "same(values[0], values[1]) and same(values[1], values[2])", "same(values[0], values[2])", CLASS),
    Mutant("smoothness_class ignores the slopes", "a6_smoothness_class",
           "if all(finite(s) for s in slopes) and same(*slopes):", "if True:", CLASS),
    Mutant("smoothness_class compares with == instead of simplifying", "a6_smoothness_class",
           "return sp.simplify(sp.sympify(a) - sp.sympify(b)) == 0", "return a == b", CLASS),
    # B.1
    Mutant("layer_backward takes sigma' at x instead of W x", "b1_layer_backward", "z = sigmoid(W @ x)", "z = sigmoid(x)", LAYER),
    Mutant("layer_backward uses W instead of W^T", "b1_layer_backward", "return W.T @ delta", "return W @ delta", LAYER),
    Mutant("layer_backward multiplies W elementwise", "b1_layer_backward",
           "return W.T @ delta", "return (W * (z * (1.0 - z))) @ z_hat", LAYER),
    Mutant("layer_backward forgets sigma'", "b1_layer_backward", "delta = z_hat * z * (1.0 - z)", "delta = z_hat", LAYER),
    Mutant("layer_backward with sigma' = sigma", "b1_layer_backward", "delta = z_hat * z * (1.0 - z)", "delta = z_hat * z", LAYER),
    Mutant("layer_backward returns dW transposed", "b1_layer_backward", "np.outer(delta, x)", "np.outer(x, delta)", LAYER),
    Mutant("layer_backward forgets sigma' in dW", "b1_layer_backward", "np.outer(delta, x)", "np.outer(z_hat, x)", LAYER),
    Mutant("layer_backward by finite differences with the given helper", "b1_layer_backward",
           "return W.T @ delta, np.outer(delta, x)",
           "return (dlcourse.numerical_gradient(lambda v: z_hat @ sigmoid(W @ v), x),\n"
           "            dlcourse.numerical_gradient(lambda V: z_hat @ sigmoid(V @ x), W))", LAYER),
    # B.2
    Mutant("skip_layer_backward forgets the identity term", "b2_skip_layer_backward",
           "return y_hat + W.T @ delta", "return W.T @ delta", SKIP),
    Mutant("skip_layer_backward adds a scalar 1 times y_hat (the sum of y_hat) to every entry", "b2_skip_layer_backward",
           "return y_hat + W.T @ delta", "return np.sum(y_hat) + W.T @ delta", SKIP),
    Mutant("skip_layer_backward multiplies instead of adding the identity term", "b2_skip_layer_backward",
           "return y_hat + W.T @ delta", "return y_hat * (W.T @ delta)", SKIP),
    Mutant("skip_layer_backward puts the identity term into dW too", "b2_skip_layer_backward",
           "np.outer(delta, x)", "np.outer(y_hat + delta, x)", SKIP),
    Mutant("skip_layer_backward takes sigma' at x", "b2_skip_layer_backward", "z = sigmoid(W @ x)", "z = sigmoid(x)", SKIP),
    Mutant("skip_layer_backward uses W instead of W^T", "b2_skip_layer_backward",
           "return y_hat + W.T @ delta", "return y_hat + W @ delta", SKIP),
    Mutant("skip_layer_backward takes sigma' at x + W x", "b2_skip_layer_backward",
           "z = sigmoid(W @ x)", "z = sigmoid(x + W @ x)", SKIP),
]


def test_every_mistake_loses_points_in_its_own_task_only():
    check_mutants(SHEET, MUTANTS)
