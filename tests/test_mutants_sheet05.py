"""Sheet 05: plausible wrong implementations of every graded function, each of which must
lose points in its own task and only there, and the correct alternatives a careful student
writes, each of which must earn every point (see mutation.py)."""

from mutation import Alternative, Mutant, check_alternatives, check_mutants

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

# The shortcuts B.1 and B.2 forbid: autograd in any of its forms (issue 16).
LAYER_BODY = """    z = sigmoid(W @ x)
    delta = z_hat * z * (1.0 - z)
    return W.T @ delta, np.outer(delta, x)"""
SKIP_BODY = """    z = sigmoid(W @ x)
    delta = y_hat * z * (1.0 - z)
    return y_hat + W.T @ delta, np.outer(delta, x)"""
MUTANTS += [
    Mutant("layer_backward by autograd: tensors that require gradients and backward()", "b1_layer_backward", LAYER_BODY,
           """    W_t, x_t = torch.tensor(W, requires_grad=True), torch.tensor(x, requires_grad=True)
    (torch.tensor(z_hat) @ torch.sigmoid(W_t @ x_t)).backward()
    return x_t.grad.numpy(), W_t.grad.numpy()""", LAYER),
    Mutant("layer_backward by autograd inside torch.enable_grad() (past torch.no_grad)", "b1_layer_backward", LAYER_BODY,
           """    with torch.enable_grad():
        W_t, x_t = torch.tensor(W, requires_grad=True), torch.tensor(x, requires_grad=True)
        (torch.tensor(z_hat) @ torch.sigmoid(W_t @ x_t)).backward()
    return x_t.grad.numpy(), W_t.grad.numpy()""", LAYER),
    Mutant("layer_backward by torch.autograd.grad", "b1_layer_backward", LAYER_BODY,
           """    with torch.enable_grad():
        W_t, x_t = torch.tensor(W, requires_grad=True), torch.tensor(x, requires_grad=True)
        dx, dW = torch.autograd.grad(torch.tensor(z_hat) @ torch.sigmoid(W_t @ x_t), (x_t, W_t))
    return dx.numpy(), dW.numpy()""", LAYER),
    Mutant("layer_backward by torch.autograd.functional.vjp", "b1_layer_backward", LAYER_BODY,
           """    _, (dW, dx) = torch.autograd.functional.vjp(lambda V, v: torch.sigmoid(V @ v),
                                                (torch.tensor(W), torch.tensor(x)), torch.tensor(z_hat))
    return dx.numpy(), dW.numpy()""", LAYER),
    Mutant("layer_backward by torch.func.vjp", "b1_layer_backward", LAYER_BODY,
           """    _, pullback = torch.func.vjp(lambda V, v: torch.sigmoid(V @ v), torch.tensor(W), torch.tensor(x))
    dW, dx = pullback(torch.tensor(z_hat))
    return dx.numpy(), dW.numpy()""", LAYER),
    Mutant("layer_backward by forward-mode autograd (torch.func.jacfwd)", "b1_layer_backward", LAYER_BODY,
           """    g = torch.tensor(z_hat)
    dx = torch.func.jacfwd(lambda v: g @ torch.sigmoid(torch.tensor(W) @ v))(torch.tensor(x))
    dW = torch.func.jacfwd(lambda V: g @ torch.sigmoid(V @ torch.tensor(x)))(torch.tensor(W))
    return dx.numpy(), dW.numpy()""", LAYER),
    Mutant("skip_layer_backward by autograd: backward()", "b2_skip_layer_backward", SKIP_BODY,
           """    W_t, x_t = torch.tensor(W, requires_grad=True), torch.tensor(x, requires_grad=True)
    (torch.tensor(y_hat) @ (x_t + torch.sigmoid(W_t @ x_t))).backward()
    return x_t.grad.numpy(), W_t.grad.numpy()""", SKIP),
    Mutant("skip_layer_backward by torch.autograd.grad inside torch.enable_grad()", "b2_skip_layer_backward", SKIP_BODY,
           """    with torch.enable_grad():
        W_t, x_t = torch.tensor(W, requires_grad=True), torch.tensor(x, requires_grad=True)
        dx, dW = torch.autograd.grad(torch.tensor(y_hat) @ (x_t + torch.sigmoid(W_t @ x_t)), (x_t, W_t))
    return dx.numpy(), dW.numpy()""", SKIP),
]

# The stated conventions and the shape rule, for every activation function (issue 16): the
# slope at exactly 0, and a number in, a number out.
MUTANTS += [
    Mutant("relu_grad(0) = 1/2 (np.heaviside(x, 0.5))", "a1_relu", "(x > 0).astype(float)", "np.heaviside(x, 0.5)", RELU_GRAD),
    Mutant("relu returns an array of shape (1,) for a number", "a1_relu",
           "return np.maximum(x, 0.0)", "return np.atleast_1d(np.maximum(x, 0.0))", RELU),
    Mutant("relu_grad flattens its result", "a1_relu", "(x > 0).astype(float)", "(x > 0).astype(float).ravel()", RELU_GRAD),
    Mutant("softplus returns an array of shape (1,) for a number", "a2_softplus",
           "return (np.maximum(u, 0.0) + np.log1p(np.exp(-np.abs(u)))) / beta",
           "return np.atleast_1d((np.maximum(u, 0.0) + np.log1p(np.exp(-np.abs(u)))) / beta)", SOFTPLUS),
    Mutant("softplus_grad flattens its result", "a2_softplus",
           "return np.where(u >= 0, 1.0 / (1.0 + small), small / (1.0 + small))",
           "return np.where(u >= 0, 1.0 / (1.0 + small), small / (1.0 + small)).reshape(-1)", SOFTPLUS_GRAD),
    Mutant("elu returns an array of shape (1,) for a number", "a3_elu",
           "return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))",
           "return np.atleast_1d(np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0))))", ELU),
    Mutant("elu_grad flattens its result", "a3_elu",
           "return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0)))",
           "return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0))).ravel()", ELU_GRAD),
    Mutant("elu_grad(0) = (1 + alpha) / 2, the mean of the one-sided slopes", "a3_elu",
           "return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0)))",
           "return np.where(x > 0, 1.0, np.where(x == 0, (1.0 + alpha) / 2, alpha * np.exp(np.minimum(x, 0.0))))", ELU_GRAD),
    Mutant("logsigmoid returns an array of shape (1,) for a number", "a4_logsigmoid",
           "return np.minimum(x, 0.0) - np.log1p(np.exp(-np.abs(x)))",
           "return np.atleast_1d(np.minimum(x, 0.0) - np.log1p(np.exp(-np.abs(x))))", LOGSIGMOID),
    Mutant("logsigmoid_grad returns an array of at least one dimension", "a4_logsigmoid",
           "return np.where(x >= 0, small / (1.0 + small), 1.0 / (1.0 + small))",
           "return np.array(np.where(x >= 0, small / (1.0 + small), 1.0 / (1.0 + small)), ndmin=1)", LOGSIGMOID_GRAD),
]


# Correct work written differently from the reference: stable and straightforward forms, PyTorch's
# own algorithms, masks instead of np.where, torch instead of numpy, loops, sympy in any form.
RELU_FORMULA_SOURCE = "sp.Piecewise((0, x < 0), (1, True))"
SOFTPLUS_FORMULA_SOURCE = "sp.exp(beta * x) / (1 + sp.exp(beta * x))"
ELU_FORMULA_SOURCE = "    return sp.Piecewise((alpha * sp.exp(x), x < 0), (1, True))"
LOGSIGMOID_FORMULA_SOURCE = "1 / (1 + sp.exp(x))"
RELU_SOURCE = "return np.maximum(x, 0.0)"
RELU_GRAD_SOURCE = "return (x > 0).astype(float)"
SOFTPLUS_SOURCE = "    u = beta * x\n    return (np.maximum(u, 0.0) + np.log1p(np.exp(-np.abs(u)))) / beta"
SOFTPLUS_GRAD_SOURCE = "return np.where(u >= 0, 1.0 / (1.0 + small), small / (1.0 + small))"
ELU_SOURCE = "return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))"
ELU_GRAD_SOURCE = "return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0)))"
LOGSIGMOID_SOURCE = "return np.minimum(x, 0.0) - np.log1p(np.exp(-np.abs(x)))"
LOGSIGMOID_GRAD_SOURCE = "    small = np.exp(-np.abs(x))\n    return np.where(x >= 0, small / (1.0 + small), 1.0 / (1.0 + small))"
GAP_SOURCE = "return 0.0, float(np.log(2.0) / beta)"
LIMITS_SOURCE = """    slope = sp.diff(f, x)

    def limit(g, side):
        return sp.limit(g.subs(x, x0 + side * h), h, 0, dir="+")"""
CLASS_SOURCE = """        return sp.simplify(sp.sympify(a) - sp.sympify(b)) == 0

    def finite(a):
        return sp.sympify(a).is_finite is not False and not sp.sympify(a).has(sp.oo, -sp.oo, sp.zoo, sp.nan)"""

ALTERNATIVES = [
    # the formulas
    Alternative("ReLU' as sp.Heaviside(x)", "a1_relu_derivative_expression", RELU_FORMULA_SOURCE, "sp.Heaviside(x)"),
    Alternative("ReLU' as (sign(x) + 1) / 2", "a1_relu_derivative_expression", RELU_FORMULA_SOURCE, "(sp.sign(x) + 1) / 2"),
    Alternative("ReLU' as a Piecewise with x <= 0 and x > 0", "a1_relu_derivative_expression", RELU_FORMULA_SOURCE,
                "sp.Piecewise((0, x <= 0), (1, x > 0))"),
    Alternative("Softplus' as sigma(beta x) = 1 / (1 + exp(-beta x))", "a2_softplus_derivative_expression",
                SOFTPLUS_FORMULA_SOURCE, "1 / (1 + sp.exp(-beta * x))"),
    Alternative("Softplus' as (1 + tanh(beta x / 2)) / 2", "a2_softplus_derivative_expression",
                SOFTPLUS_FORMULA_SOURCE, "(1 + sp.tanh(beta * x / 2)) / 2"),
    Alternative("Softplus' simplified by sympy before it is returned", "a2_softplus_derivative_expression",
                SOFTPLUS_FORMULA_SOURCE, "sp.simplify(1 - 1 / (1 + sp.exp(beta * x)))"),
    Alternative("ELU' with a note that it is continuous at 0 exactly when sp.Eq(alpha, 1)", "a3_elu_derivative_expression",
                ELU_FORMULA_SOURCE, """    derivative = sp.Piecewise((alpha * sp.exp(x), x < 0), (1, True))
    continuous_at_0 = sp.Eq(alpha, 1)  # both slopes at 0 agree only then
    assert continuous_at_0 == sp.Eq(alpha * sp.exp(0), 1)
    return derivative"""),
    Alternative("ELU' as ELU(x) + alpha on the left (PyTorch's formula)", "a3_elu_derivative_expression",
                ELU_FORMULA_SOURCE, "    return sp.Piecewise((alpha * (sp.exp(x) - 1) + alpha, x <= 0), (1, True))"),
    Alternative("ELU' as a Piecewise with x <= 0 and x > 0, simplified by sympy", "a3_elu_derivative_expression",
                ELU_FORMULA_SOURCE, "    return sp.simplify(sp.Piecewise((alpha * sp.exp(x), x <= 0), (1, x > 0)))"),
    Alternative("LogSigmoid' as 1 - sigma(x)", "a4_logsigmoid_derivative_expression",
                LOGSIGMOID_FORMULA_SOURCE, "1 - 1 / (1 + sp.exp(-x))"),
    Alternative("LogSigmoid' as exp(-x) / (1 + exp(-x))", "a4_logsigmoid_derivative_expression",
                LOGSIGMOID_FORMULA_SOURCE, "sp.exp(-x) / (1 + sp.exp(-x))"),
    Alternative("LogSigmoid' as (1 - tanh(x / 2)) / 2", "a4_logsigmoid_derivative_expression",
                LOGSIGMOID_FORMULA_SOURCE, "(1 - sp.tanh(x / 2)) / 2"),
    # ReLU
    Alternative("relu with np.where", "a1_relu", RELU_SOURCE, "return np.where(x > 0, x, 0.0)"),
    Alternative("relu as x times a mask", "a1_relu", RELU_SOURCE, "return x * (x > 0)"),
    Alternative("relu as (x + |x|) / 2", "a1_relu", RELU_SOURCE, "return (x + np.abs(x)) / 2"),
    Alternative("relu with np.clip", "a1_relu", RELU_SOURCE, "return np.clip(x, 0.0, None)"),
    Alternative("relu in torch", "a1_relu", RELU_SOURCE, "return torch.relu(torch.as_tensor(x)).numpy()"),
    Alternative("relu_grad with np.heaviside", "a1_relu", RELU_GRAD_SOURCE, "return np.heaviside(x, 0.0)"),
    Alternative("relu_grad with np.where", "a1_relu", RELU_GRAD_SOURCE, "return np.where(x > 0, 1.0, 0.0)"),
    Alternative("relu_grad in torch", "a1_relu", RELU_GRAD_SOURCE, "return (torch.as_tensor(x) > 0).double().numpy()"),
    # Softplus
    Alternative("softplus with PyTorch's algorithm (x itself above beta x = 20)", "a2_softplus", SOFTPLUS_SOURCE,
                "    u = beta * x\n    return np.where(u > 20, x, np.log1p(np.exp(np.minimum(u, 20.0))) / beta)"),
    Alternative("softplus with np.logaddexp", "a2_softplus", SOFTPLUS_SOURCE, "    return np.logaddexp(0.0, beta * x) / beta"),
    Alternative("softplus in torch", "a2_softplus", SOFTPLUS_SOURCE,
                "    return torch.nn.functional.softplus(torch.as_tensor(x), beta=beta).numpy()"),
    Alternative("softplus with boolean masks", "a2_softplus", SOFTPLUS_SOURCE, """    u = beta * x
    out = np.empty_like(u)
    positive = u > 0
    out[positive] = u[positive] + np.log1p(np.exp(-u[positive]))
    out[~positive] = np.log1p(np.exp(u[~positive]))
    return out / beta"""),
    Alternative("softplus_grad with PyTorch's algorithm (slope 1 above beta x = 20)", "a2_softplus", SOFTPLUS_GRAD_SOURCE,
                "z = np.exp(np.minimum(u, 20.0))\n    return np.where(u > 20, 1.0, z / (z + 1.0))"),
    Alternative("softplus_grad as (1 + tanh(beta x / 2)) / 2", "a2_softplus", SOFTPLUS_GRAD_SOURCE,
                "return (1.0 + np.tanh(u / 2.0)) / 2.0"),
    Alternative("softplus_grad as exp(-logaddexp(0, -beta x))", "a2_softplus", SOFTPLUS_GRAD_SOURCE,
                "return np.exp(-np.logaddexp(0.0, -u))"),
    Alternative("softplus_grad in torch (torch.sigmoid, no autograd)", "a2_softplus", SOFTPLUS_GRAD_SOURCE,
                "return torch.sigmoid(torch.as_tensor(u)).numpy()"),
    Alternative("softplus_grad with boolean masks", "a2_softplus", SOFTPLUS_GRAD_SOURCE, """out = np.empty_like(u)
    positive = u >= 0
    out[positive] = 1.0 / (1.0 + small[positive])
    out[~positive] = small[~positive] / (1.0 + small[~positive])
    return out"""),
    # ELU
    Alternative("elu in torch", "a3_elu", ELU_SOURCE, "return torch.nn.functional.elu(torch.as_tensor(x), alpha=alpha).numpy()"),
    Alternative("elu with a boolean mask", "a3_elu", ELU_SOURCE, """out = x.copy()
    negative = x <= 0
    out[negative] = alpha * np.expm1(x[negative])
    return out"""),
    Alternative("elu as max(x, 0) + alpha expm1(min(x, 0))", "a3_elu", ELU_SOURCE,
                "return np.maximum(x, 0.0) + alpha * np.expm1(np.minimum(x, 0.0))"),
    Alternative("elu_grad as ELU(x) + alpha for x <= 0 (PyTorch's formula)", "a3_elu", ELU_GRAD_SOURCE,
                "return np.where(x > 0, 1.0, elu(x, alpha) + alpha)"),
    Alternative("elu_grad with a boolean mask", "a3_elu", ELU_GRAD_SOURCE, """out = np.ones_like(x)
    negative = x <= 0
    out[negative] = alpha * np.exp(x[negative])
    return out"""),
    # LogSigmoid
    Alternative("logsigmoid as -softplus(-x)", "a4_logsigmoid", LOGSIGMOID_SOURCE, "return -softplus(-x)"),
    Alternative("logsigmoid as -logaddexp(0, -x)", "a4_logsigmoid", LOGSIGMOID_SOURCE, "return -np.logaddexp(0.0, -x)"),
    Alternative("logsigmoid with PyTorch's Softplus algorithm", "a4_logsigmoid", LOGSIGMOID_SOURCE,
                "return -np.where(-x > 20, -x, np.log1p(np.exp(np.minimum(-x, 20.0))))"),
    Alternative("logsigmoid in torch", "a4_logsigmoid", LOGSIGMOID_SOURCE,
                "return torch.nn.functional.logsigmoid(torch.as_tensor(x)).numpy()"),
    Alternative("logsigmoid_grad as 1 - sigmoid(x)", "a4_logsigmoid", LOGSIGMOID_GRAD_SOURCE,
                "    small = np.exp(-np.abs(x))\n    return 1.0 - np.where(x >= 0, 1.0 / (1.0 + small), small / (1.0 + small))"),
    Alternative("logsigmoid_grad as softplus_grad(-x)", "a4_logsigmoid", LOGSIGMOID_GRAD_SOURCE, "    return softplus_grad(-x)"),
    Alternative("logsigmoid_grad as (1 - tanh(x / 2)) / 2", "a4_logsigmoid", LOGSIGMOID_GRAD_SOURCE,
                "    return (1.0 - np.tanh(x / 2.0)) / 2.0"),
    Alternative("logsigmoid_grad as exp(logsigmoid(-x))", "a4_logsigmoid", LOGSIGMOID_GRAD_SOURCE,
                "    return np.exp(logsigmoid(-x))"),
    # the gap
    Alternative("gap as a list with an integer 0", "a5_softplus_relu_gap", GAP_SOURCE, "return [0, np.log(2) / beta]"),
    Alternative("gap with sympy's log 2", "a5_softplus_relu_gap", GAP_SOURCE, "return 0.0, sp.log(2) / beta"),
    Alternative("gap from the functions at the x_max found on paper", "a5_softplus_relu_gap", GAP_SOURCE,
                "return 0.0, softplus(0.0, beta) - relu(0.0)"),
    # one-sided limits and the smoothness class
    Alternative("one_sided_limits with f.diff and sp.Limit(...).doit()", "a6_one_sided_limits", LIMITS_SOURCE,
                """    slope = f.diff(x)

    def limit(g, side):
        return sp.Limit(g.subs(x, x0 + side * h), h, 0).doit()"""),
    Alternative("smoothness_class with .equals and a test for infinities only", "a6_smoothness_class", CLASS_SOURCE,
                """        return sp.sympify(a).equals(sp.sympify(b)) is True

    def finite(a):
        return not sp.sympify(a).has(sp.oo, -sp.oo, sp.zoo, sp.nan)"""),
    # B.1 and B.2
    Alternative("layer_backward with the Jacobian diag(sigma') W", "b1_layer_backward", LAYER_BODY, """    z = sigmoid(W @ x)
    jacobian = np.diag(z * (1.0 - z)) @ W
    return jacobian.T @ z_hat, (z_hat * z * (1.0 - z))[:, None] * x[None, :]"""),
    Alternative("layer_backward with the naive sigmoid and sigma' = exp(-u) / (1 + exp(-u))^2", "b1_layer_backward",
                LAYER_BODY, """    u = W @ x
    delta = z_hat * np.exp(-u) / (1.0 + np.exp(-u)) ** 2
    return W.T @ delta, np.outer(delta, x)"""),
    Alternative("layer_backward with loops over the rows", "b1_layer_backward", LAYER_BODY, """    dx, dW = np.zeros(len(x)), np.zeros(W.shape)
    for i in range(len(x)):
        s = sigmoid(W[i] @ x)
        delta = z_hat[i] * s * (1.0 - s)
        dx += delta * W[i]
        dW[i] = delta * x
    return dx, dW"""),
    Alternative("layer_backward with torch operations, no autograd", "b1_layer_backward", LAYER_BODY,
                """    W_t, x_t, g_t = (torch.as_tensor(v) for v in (W, x, z_hat))
    z = torch.sigmoid(W_t @ x_t)
    delta = g_t * z * (1 - z)
    return (W_t.T @ delta).numpy(), torch.outer(delta, x_t).numpy()"""),
    Alternative("layer_backward with np.einsum", "b1_layer_backward", LAYER_BODY, """    z = sigmoid(W @ x)
    delta = z_hat * z * (1.0 - z)
    return np.einsum("ij,i->j", W, delta), np.einsum("i,j->ij", delta, x)"""),
    Alternative("skip_layer_backward reusing layer_backward", "b2_skip_layer_backward", SKIP_BODY,
                """    dx, dW = layer_backward(W, x, y_hat)
    return y_hat + dx, dW"""),
    Alternative("skip_layer_backward with the Jacobian I + diag(sigma') W", "b2_skip_layer_backward", SKIP_BODY,
                """    z = sigmoid(W @ x)
    jacobian = np.eye(len(x)) + np.diag(z * (1.0 - z)) @ W
    return jacobian.T @ y_hat, np.outer(y_hat * z * (1.0 - z), x)"""),
]


def test_every_mistake_loses_points_in_its_own_task_only():
    check_mutants(SHEET, MUTANTS, ALTERNATIVES)  # their rounds run along, for the next test


def test_every_correct_alternative_earns_every_point():
    check_alternatives(SHEET, ALTERNATIVES, MUTANTS)
