"""Sheet 03: plausible wrong implementations of every graded function, each of which must
lose points in its own task and only there, and correct alternatives a careful student writes,
each of which must pass every test cell (see mutation.py)."""

from mutation import Alternative, Mutant, check_alternatives, check_mutants

SHEET = "03_computation_graphs"

SECOND_DERIVATIVE = ("test_a1_sigmoid_derivative",)
COEFFICIENTS = ("test_a2_coefficients",)
TAYLOR = ("test_a2_taylor",)
DECREASE = ("test_a3_first_order_decrease",)
EDGES = ("test_b1_graph_edges",)
FORWARD = ("test_b1_xor_forward",)
GRADS = ("test_b2_manual_grads",)
NET = ("test_b3_xor_net",)
TRAIN = ("test_b3_train_xor",)
WALK = ("test_b3_walk_graph",)
SUCCESS = ("test_b3_success_rate",)
EIGEN = ("test_c4_hessian_eigenvalues",)
NEWTON = ("test_c4_newton_step",)
SADDLE_FREE = ("test_c4_saddle_free_newton_step",)

MUTANTS = [
    # A.1: sigma'' as a polynomial in s
    Mutant("returns the first derivative s - s^2", "a1_sigmoid_derivative",
           "(s - s**2) * (1 - 2 * s)", "s - s**2", SECOND_DERIVATIVE),
    Mutant("forgets the inner derivative ds/dx (returns 1 - 2s)", "a1_sigmoid_derivative",
           "(s - s**2) * (1 - 2 * s)", "1 - 2 * s", SECOND_DERIVATIVE),
    Mutant("sign slip in d(s - s^2)/ds", "a1_sigmoid_derivative",
           "(s - s**2) * (1 - 2 * s)", "(s - s**2) * (1 - s)", SECOND_DERIVATIVE),
    # A.2: Taylor coefficients by the recursion
    Mutant("coefficients: forgets to divide by k!", "a2_taylor",
           "coefficients.append(value_at_half / factorial)", "coefficients.append(value_at_half)", COEFFICIENTS),
    Mutant("coefficients: divides by (k+1)! (off by one)", "a2_taylor",
           "factorial *= max(k, 1)", "factorial *= k + 1", COEFFICIENTS),
    Mutant("coefficients: only n of them", "a2_taylor",
           "for k in range(n + 1):", "for k in range(n):", COEFFICIENTS),
    Mutant("coefficients: multiplies by s + s^2 instead of s - s^2", "a2_taylor",
           "poly[i + 2] -= c", "poly[i + 2] += c", COEFFICIENTS),
    Mutant("coefficients: P_k' not shifted down (multiplies by s)", "a2_taylor",
           "derivative = [i * c for i, c in enumerate(poly)][1:]",
           "derivative = [i * c for i, c in enumerate(poly)]", COEFFICIENTS),
    Mutant("coefficients: evaluates P_k at s = 0 instead of s = 1/2", "a2_taylor",
           "c * Fraction(1, 2) ** i", "c * Fraction(0) ** i", COEFFICIENTS),
    Mutant("coefficients: derivative without the factor i", "a2_taylor",
           "[i * c for i, c in enumerate(poly)][1:]", "list(poly)[1:]", COEFFICIENTS),
    Mutant("Taylor polynomial: coefficients in reversed order", "a2_taylor",
           "polyval(x, coefficients)", "polyval(x, coefficients[::-1])", TAYLOR),
    Mutant("Taylor polynomial: one degree too few", "a2_taylor",
           "sigmoid_taylor_coefficients(n)])", "sigmoid_taylor_coefficients(n - 1)])", TAYLOR),
    Mutant("Taylor polynomial: sums the coefficients into one number", "a2_taylor",
           "return np.polynomial.polynomial.polyval(x, coefficients)",
           "return float(np.polynomial.polynomial.polyval(x, coefficients).sum())", TAYLOR),
    # A.3: predicted and actual decrease
    Mutant("decrease: predicted without the step size", "a3_first_order_decrease",
           "predicted = lr * float(np.sum(g * g))", "predicted = float(np.sum(g * g))", DECREASE),
    Mutant("decrease: |g| instead of |g|^2", "a3_first_order_decrease",
           "float(np.sum(g * g))", "float(np.linalg.norm(g))", DECREASE),
    Mutant("decrease: steps uphill", "a3_first_order_decrease",
           "f(w - lr * g)", "f(w + lr * g)", DECREASE),
    Mutant("decrease: returns numpy arrays instead of floats", "a3_first_order_decrease",
           "return predicted, actual", "return np.array(predicted), np.array(actual)", DECREASE),
    # B.1: edges and forward pass
    Mutant("edges: W_i indices swapped", "b1_graph_edges",
           'f"W_i[{k},{j}]"', 'f"W_i[{j},{k}]"', EDGES),
    Mutant("edges: arrow a -> h reversed", "b1_graph_edges",
           '(f"a[{j}]", f"h[{j}]")', '(f"h[{j}]", f"a[{j}]")', EDGES),
    Mutant("edges: the shared bias feeds only a[0]", "b1_graph_edges",
           'edges += [("b_a", f"a[{j}]"), ', 'edges += [("b_a", "a[0]"), ', EDGES),
    Mutant("edges: the label y does not feed L", "b1_graph_edges",
           ', ("y", "L")]', "]", EDGES),
    Mutant("forward: W_i not transposed", "b1_xor_forward",
           "a = W_i.T @ x + b_a", "a = W_i @ x + b_a", FORWARD),
    Mutant("forward: forgets the hidden bias", "b1_xor_forward",
           "a = W_i.T @ x + b_a", "a = W_i.T @ x", FORWARD),
    Mutant("forward: no activation in the hidden layer", "b1_xor_forward",
           "h = sigmoid(a)", "h = a", FORWARD),
    Mutant("forward: tanh instead of the sigmoid", "b1_xor_forward",
           "h = sigmoid(a)", "h = np.tanh(a)", FORWARD),
    Mutant("forward: y_hat without the output sigmoid", "b1_xor_forward",
           '"y_hat": float(sigmoid(z))', '"y_hat": z', FORWARD),
    Mutant("forward: subtracts the output bias", "b1_xor_forward",
           "z = float(W_o @ h + b_o)", "z = float(W_o @ h - b_o)", FORWARD),
    # B.2: backpropagation by hand
    Mutant("grads: forgets the output sigmoid's derivative", "b2_manual_grads",
           "delta_z = (y_hat - y) * y_hat * (1 - y_hat)", "delta_z = y_hat - y", GRADS),
    Mutant("grads: sign of (y_hat - y)", "b2_manual_grads",
           "delta_z = (y_hat - y) * y_hat", "delta_z = (y - y_hat) * y_hat", GRADS),
    Mutant("grads: the shared bias gets only one path", "b2_manual_grads",
           '"b_a": float(delta_a.sum())', '"b_a": float(delta_a[0])', GRADS),
    Mutant("grads: dL/dW_i transposed", "b2_manual_grads",
           "np.outer(x, delta_a)", "np.outer(delta_a, x)", GRADS),
    Mutant("grads: hidden sigmoid's derivative forgotten", "b2_manual_grads",
           "* h * (1 - h)", "* h", GRADS),
    Mutant("grads: dL/dW_o uses the pre-activation a", "b2_manual_grads",
           '"W_o": delta_z * h', '"W_o": delta_z * forward["a"]', GRADS),
    Mutant("grads: autograd on the given torch loss instead of formulas", "b2_manual_grads",
           "forward = xor_forward(params, x)",
           "leaves = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}\n"
           "    xor_loss_torch(leaves, torch.tensor(x), float(y)).backward()\n"
           "    return {k: t.grad.numpy() for k, t in leaves.items()}\n"
           "    forward = xor_forward(params, x)", GRADS),
    Mutant("grads: calls a helper autograd_grads (no longer given)", "b2_manual_grads",
           "forward = xor_forward(params, x)", "return autograd_grads(params, x, y)", GRADS),
    # B.3: the module
    Mutant("XORNet: no sigmoid on the hidden layer", "b3_xor_net",
           "self.output_layer(torch.sigmoid(self.hidden_layer(x)))", "self.output_layer(self.hidden_layer(x))", NET),
    Mutant("XORNet: output of shape (N, 1)", "b3_xor_net",
           ").squeeze(-1)", ")", NET),
    Mutant("XORNet: hidden width ignored", "b3_xor_net",
           "self.hidden_layer = nn.Linear(2, hidden)\n        self.output_layer = nn.Linear(hidden, 1)",
           "self.hidden_layer = nn.Linear(2, 2)\n        self.output_layer = nn.Linear(2, 1)", NET),
    # B.3: the training loop
    Mutant("train: loss recorded after the update", "b3_train_xor",
           "history.append(loss.item())", "history.append((0.5 * ((model(X_T) - Y_T) ** 2).sum()).item())", TRAIN),
    Mutant("train: mean instead of sum", "b3_train_xor",
           "** 2).sum()", "** 2).mean()", TRAIN),
    Mutant("train: forgets the factor 1/2", "b3_train_xor",
           "loss = 0.5 * ((model", "loss = ((model", TRAIN),
    Mutant("train: gradients never reset", "b3_train_xor",
           "p.grad = None", "pass", TRAIN),
    Mutant("train: steps uphill", "b3_train_xor",
           "p -= lr * p.grad", "p += lr * p.grad", TRAIN),
    Mutant("train: seed ignored", "b3_train_xor",
           "torch.manual_seed(seed)", "torch.manual_seed(0)", TRAIN),
    Mutant("train: width ignored", "b3_train_xor",
           "model = XORNet(hidden)", "model = XORNet()", TRAIN),
    Mutant("train: one epoch too few", "b3_train_xor",
           "for _ in range(epochs):", "for _ in range(epochs - 1):", TRAIN),
    Mutant("train: returns tensors instead of floats", "b3_train_xor",
           "history.append(loss.item())", "history.append(loss.detach())", TRAIN),
    # B.3: autograd's graph
    Mutant("walk: depth not increased", "b3_walk_graph",
           "visit(child, depth + 1)", "visit(child, depth)", WALK),
    Mutant("walk: parameters by type, not by name", "b3_walk_graph",
           'if hasattr(node, "variable"):', "if False:", WALK),
    Mutant("walk: children in reversed order", "b3_walk_graph",
           "for child, _ in node.next_functions:", "for child, _ in reversed(node.next_functions):", WALK),
    # B.3: success rate
    Mutant("solves_xor: 0.5 counts as label 1", "b3_success_rate",
           "prob > 0.5, prob < 0.5", "prob >= 0.5, prob < 0.5", SUCCESS),
    Mutant("solves_xor: one right point is enough", "b3_success_rate",
           "torch.all(torch.where", "torch.any(torch.where", SUCCESS),
    Mutant("success_rate: count instead of fraction", "b3_success_rate",
           "sum(solves_xor(model) for model in models) / len(models)", "sum(solves_xor(model) for model in models)",
           SUCCESS),
    # C: Hessian eigenvalues, Newton and saddle-free Newton steps
    Mutant("eigenvalues in descending order", "c4_hessian_eigenvalues",
           "torch.linalg.eigvalsh(H).numpy()", "torch.linalg.eigvalsh(H).numpy()[::-1]", EIGEN),
    Mutant("eigenvalues: the diagonal of H", "c4_hessian_eigenvalues",
           "torch.linalg.eigvalsh(H).numpy()", "torch.sort(torch.diagonal(H)).values.numpy()", EIGEN),
    Mutant("Newton: step added instead of subtracted", "c4_newton_step",
           "t - torch.linalg.solve(H, grad)", "t + torch.linalg.solve(H, grad)", NEWTON),
    Mutant("Newton: a gradient step", "c4_newton_step",
           "t - torch.linalg.solve(H, grad)", "t - grad", NEWTON),
    Mutant("Newton: divides by the diagonal of H only", "c4_newton_step",
           "torch.linalg.solve(H, grad)", "grad / torch.diagonal(H)", NEWTON),
    Mutant("Newton: multiplies by H instead of solving", "c4_newton_step",
           "torch.linalg.solve(H, grad)", "H @ grad", NEWTON),
    Mutant("Newton: absolute values of H's entries", "c4_newton_step",
           "torch.linalg.solve(H, grad)", "torch.linalg.solve(H.abs(), grad)", NEWTON),
    Mutant("Newton: returns a tensor", "c4_newton_step",
           "return (t - torch.linalg.solve(H, grad)).numpy()", "return t - torch.linalg.solve(H, grad)", NEWTON),
    Mutant("saddle-free: plain Newton (no absolute value)", "c4_saddle_free_newton_step",
           "/ eigenvalues.abs())", "/ eigenvalues)", SADDLE_FREE),
    Mutant("saddle-free: forgets to rotate back", "c4_saddle_free_newton_step",
           "step = V @ ((V.T @ grad) / eigenvalues.abs())", "step = (V.T @ grad) / eigenvalues.abs()", SADDLE_FREE),
    Mutant("saddle-free: wrong rotation V instead of V^T", "c4_saddle_free_newton_step",
           "V @ ((V.T @ grad)", "V.T @ ((V @ grad)", SADDLE_FREE),
    Mutant("saddle-free: step added", "c4_saddle_free_newton_step",
           "return (t - step).numpy()", "return (t + step).numpy()", SADDLE_FREE),
    Mutant("saddle-free: absolute values of the diagonal of H", "c4_saddle_free_newton_step",
           "step = V @ ((V.T @ grad) / eigenvalues.abs())", "step = grad / torch.diagonal(H).abs()", SADDLE_FREE),
    Mutant("saddle-free: squares the eigenvalues", "c4_saddle_free_newton_step",
           "/ eigenvalues.abs())", "/ eigenvalues**2)", SADDLE_FREE),
]

# Correct work written differently from the reference: the recursion on sympy expressions or
# numpy coefficient arrays, Horner's scheme, loops instead of matrix products, an explicit stack
# instead of recursion, numpy's linear algebra on the Hessian that autograd gives, numpy floats
# where a float is asked for (np.float64 is a float).
TAYLOR_COEFFICIENTS_BODY = """    poly = [Fraction(0), Fraction(1)]  # P_0(s) = s, as coefficients of s^0, s^1, ...
    coefficients, factorial = [], 1
    for k in range(n + 1):
        factorial *= max(k, 1)
        value_at_half = sum(c * Fraction(1, 2) ** i for i, c in enumerate(poly))
        coefficients.append(value_at_half / factorial)
        derivative = [i * c for i, c in enumerate(poly)][1:]  # P_k'(s)
        poly = [Fraction(0)] * (len(derivative) + 2)  # P_k'(s) * (s - s^2)
        for i, c in enumerate(derivative):
            poly[i + 1] += c
            poly[i + 2] -= c
    return coefficients"""
TAYLOR_BODY = """    coefficients = np.array([float(c) for c in sigmoid_taylor_coefficients(n)])
    return np.polynomial.polynomial.polyval(x, coefficients)"""
DECREASE_BODY = """    g = np.asarray(grad(w), dtype=float)
    predicted = lr * float(np.sum(g * g))
    actual = float(f(w)) - float(f(w - lr * g))
    return predicted, actual"""
EDGES_BODY = """    edges = []
    for j in range(2):
        for k in range(2):
            edges += [(f"x[{k}]", f"a[{j}]"), (f"W_i[{k},{j}]", f"a[{j}]")]
        edges += [("b_a", f"a[{j}]"), (f"a[{j}]", f"h[{j}]"), (f"h[{j}]", "z"), (f"W_o[{j}]", "z")]
    edges += [("b_o", "z"), ("z", "y_hat"), ("y_hat", "L"), ("y", "L")]
    return edges"""
FORWARD_BODY = """    W_i, b_a = np.asarray(params["W_i"], dtype=float), float(params["b_a"])
    W_o, b_o = np.asarray(params["W_o"], dtype=float), float(params["b_o"])
    a = W_i.T @ x + b_a
    h = sigmoid(a)
    z = float(W_o @ h + b_o)
    return {"a": a, "h": h, "z": z, "y_hat": float(sigmoid(z))}"""
GRADS_BODY = """    forward = xor_forward(params, x)
    h, y_hat = forward["h"], forward["y_hat"]
    delta_z = (y_hat - y) * y_hat * (1 - y_hat)
    delta_a = delta_z * np.asarray(params["W_o"], dtype=float) * h * (1 - h)
    return {"W_i": np.outer(x, delta_a), "b_a": float(delta_a.sum()),
            "W_o": delta_z * h, "b_o": float(delta_z)}"""
NET_FORWARD = "        return torch.sigmoid(self.output_layer(torch.sigmoid(self.hidden_layer(x)))).squeeze(-1)"
NET_BODY = """        self.hidden_layer = nn.Linear(2, hidden)
        self.output_layer = nn.Linear(hidden, 1)
        ### END SOLUTION

    def forward(self, x):
        # x: (N, 2) -> probabilities of label 1, shape (N,)
        ### BEGIN SOLUTION
""" + NET_FORWARD
TRAIN_BODY = """    torch.manual_seed(seed)
    model = XORNet(hidden)
    params = list(model.parameters())
    history = []
    for _ in range(epochs):
        loss = 0.5 * ((model(X_T) - Y_T) ** 2).sum()
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
        history.append(loss.item())
    return model, history"""
WALK_BODY = """    rows = []

    def visit(node, depth):
        if hasattr(node, "variable"):
            rows.append((depth, names[id(node.variable)]))
        else:
            rows.append((depth, type(node).__name__))
        for child, _ in node.next_functions:
            if child is not None:
                visit(child, depth + 1)

    visit(output.grad_fn, 0)
    return rows"""
SOLVES_BODY = """        prob = model(X_T)
        return bool(torch.all(torch.where(Y_T == 1, prob > 0.5, prob < 0.5)))"""
SUCCESS_BODY = """    models = list(models)
    return sum(solves_xor(model) for model in models) / len(models)"""
EIGEN_BODY = """    H = torch.autograd.functional.hessian(f, as_tensor(p))
    return torch.linalg.eigvalsh(H).numpy()"""
NEWTON_BODY = """    t = as_tensor(p)
    grad = torch.autograd.functional.jacobian(f, t)
    H = torch.autograd.functional.hessian(f, t)
    return (t - torch.linalg.solve(H, grad)).numpy()"""
SADDLE_FREE_BODY = """    eigenvalues, V = torch.linalg.eigh(H)
    step = V @ ((V.T @ grad) / eigenvalues.abs())
    return (t - step).numpy()"""

ALTERNATIVES = [
    # A.1
    Alternative("sigma'' expanded: 2 s^3 - 3 s^2 + s", "a1_sigmoid_derivative", "(s - s**2) * (1 - 2 * s)",
                "2 * s**3 - 3 * s**2 + s"),
    Alternative("sigma'' by the chain rule with sp.diff in s: d(s - s^2)/ds * (s - s^2)", "a1_sigmoid_derivative",
                "(s - s**2) * (1 - 2 * s)", "sp.diff(s - s**2, s) * (s - s**2)"),
    # A.2
    Alternative("Taylor coefficients by the recursion on sympy expressions in s, as floats", "a2_taylor",
                TAYLOR_COEFFICIENTS_BODY,
                """    P, coefficients = s, []
    for k in range(n + 1):
        coefficients.append(float(P.subs(s, sp.Rational(1, 2)) / sp.factorial(k)))
        P = sp.expand(sp.diff(P, s) * (s - s**2))
    return coefficients"""),
    Alternative("Taylor coefficients by the recursion on numpy coefficient arrays (polyder, polymul)", "a2_taylor",
                TAYLOR_COEFFICIENTS_BODY,
                """    import math

    P = np.polynomial.polynomial
    poly, coefficients = np.array([0.0, 1.0]), []
    for k in range(n + 1):
        coefficients.append(P.polyval(0.5, poly) / math.factorial(k))
        poly = P.polymul(P.polyder(poly), [0.0, 1.0, -1.0])
    return coefficients"""),
    Alternative("sigmoid_taylor by Horner's scheme", "a2_taylor", TAYLOR_BODY,
                """    result = np.zeros_like(x)
    for c in reversed(sigmoid_taylor_coefficients(n)):
        result = result * x + float(c)
    return result"""),
    Alternative("sigmoid_taylor as the sum of c_k x^k", "a2_taylor", TAYLOR_BODY,
                "    return sum(float(c) * x**k for k, c in enumerate(sigmoid_taylor_coefficients(n)))"),
    Alternative("sigmoid_taylor with np.polyval on the reversed list", "a2_taylor", TAYLOR_BODY,
                "    return np.polyval([float(c) for c in sigmoid_taylor_coefficients(n)][::-1], x)"),
    # A.3
    Alternative("first_order_decrease with g @ g and one float() around each difference", "a3_first_order_decrease",
                DECREASE_BODY,
                """    g = np.asarray(grad(w), dtype=float)
    step = w - lr * g
    return float(lr * (g @ g)), float(f(w) - f(step))"""),
    Alternative("first_order_decrease with np.linalg.norm, as np.float64 numbers", "a3_first_order_decrease",
                DECREASE_BODY,
                """    g = np.asarray(grad(w), dtype=float)
    predicted = lr * np.linalg.norm(g) ** 2
    actual = np.float64(f(w)) - np.float64(f(w - lr * g))
    return predicted, actual"""),
    # B.1
    Alternative("xor_graph_edges written out by hand", "b1_graph_edges", EDGES_BODY,
                """    return [("x[0]", "a[0]"), ("x[1]", "a[0]"), ("W_i[0,0]", "a[0]"), ("W_i[1,0]", "a[0]"), ("b_a", "a[0]"),
            ("x[0]", "a[1]"), ("x[1]", "a[1]"), ("W_i[0,1]", "a[1]"), ("W_i[1,1]", "a[1]"), ("b_a", "a[1]"),
            ("a[0]", "h[0]"), ("a[1]", "h[1]"), ("h[0]", "z"), ("h[1]", "z"), ("W_o[0]", "z"), ("W_o[1]", "z"),
            ("b_o", "z"), ("z", "y_hat"), ("y_hat", "L"), ("y", "L")]"""),
    Alternative("xor_graph_edges from a dict of each node's parents", "b1_graph_edges", EDGES_BODY,
                """    parents = {
        "a[0]": ["x[0]", "x[1]", "W_i[0,0]", "W_i[1,0]", "b_a"],
        "a[1]": ["x[0]", "x[1]", "W_i[0,1]", "W_i[1,1]", "b_a"],
        "h[0]": ["a[0]"], "h[1]": ["a[1]"],
        "z": ["h[0]", "h[1]", "W_o[0]", "W_o[1]", "b_o"],
        "y_hat": ["z"], "L": ["y_hat", "y"],
    }
    return [(parent, child) for child, nodes in parents.items() for parent in nodes]"""),
    Alternative("xor_forward with a sum per hidden unit and .item()", "b1_xor_forward", FORWARD_BODY,
                """    W_i, W_o = params["W_i"], params["W_o"]
    a = np.array([W_i[0, j] * x[0] + W_i[1, j] * x[1] + params["b_a"] for j in range(2)])
    h = sigmoid(a)
    z = float(W_o[0] * h[0] + W_o[1] * h[1] + params["b_o"])
    return {"a": a, "h": h, "z": z, "y_hat": sigmoid(z).item()}"""),
    Alternative("xor_forward as x @ W_i, z a np.float64", "b1_xor_forward", FORWARD_BODY,
                """    a = x @ params["W_i"] + params["b_a"]
    h = sigmoid(a)
    z = h @ params["W_o"] + params["b_o"]
    return {"a": a, "h": h, "z": z, "y_hat": float(sigmoid(z))}"""),
    # B.2
    Alternative("xor_manual_grads with loops over the hidden units and inputs", "b2_manual_grads", GRADS_BODY,
                """    forward = xor_forward(params, x)
    h, y_hat = forward["h"], forward["y_hat"]
    W_o = np.asarray(params["W_o"], dtype=float)
    delta_z = (y_hat - y) * y_hat * (1 - y_hat)
    grads = {"W_i": np.zeros((2, 2)), "b_a": 0.0, "W_o": np.zeros(2), "b_o": float(delta_z)}
    for j in range(2):
        delta_a = delta_z * W_o[j] * h[j] * (1 - h[j])
        grads["W_o"][j] = delta_z * h[j]
        grads["b_a"] += delta_a
        for k in range(2):
            grads["W_i"][k, j] = delta_a * x[k]
    return grads"""),
    Alternative("xor_manual_grads with sigma' = h - h^2 and x delta_a^T by broadcasting", "b2_manual_grads", GRADS_BODY,
                """    forward = xor_forward(params, x)
    h, y_hat = forward["h"], forward["y_hat"]
    delta_z = (y_hat - y) * (y_hat - y_hat**2)
    delta_a = delta_z * np.asarray(params["W_o"]) * (h - h**2)
    return {"W_i": x[:, None] * delta_a[None, :], "b_a": float(np.sum(delta_a)),
            "W_o": h * delta_z, "b_o": float(delta_z)}"""),
    # B.3
    Alternative("XORNet: the output column taken with [:, 0]", "b3_xor_net", NET_FORWARD,
                "        h = torch.sigmoid(self.hidden_layer(x))\n        return torch.sigmoid(self.output_layer(h))[:, 0]"),
    Alternative("XORNet with an nn.Sigmoid module and flatten()", "b3_xor_net", NET_BODY,
                NET_BODY.replace("nn.Linear(hidden, 1)\n", "nn.Linear(hidden, 1)\n        self.activation = nn.Sigmoid()\n")
                .replace(NET_FORWARD, "        return self.activation(self.output_layer(self.activation(self.hidden_layer(x)))).flatten()")),
    Alternative("train_xor with nn.functional.mse_loss(reduction='sum') / 2, model.parameters() each step, float(loss)",
                "b3_train_xor", TRAIN_BODY,
                """    torch.manual_seed(seed)
    model = XORNet(hidden)
    losses = []
    for _ in range(epochs):
        loss = nn.functional.mse_loss(model(X_T), Y_T, reduction="sum") / 2
        for p in model.parameters():
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p.sub_(lr * p.grad)
        losses.append(float(loss))
    return model, losses"""),
    Alternative("train_xor with the losses kept as tensors and turned into floats by .tolist()", "b3_train_xor", TRAIN_BODY,
                """    torch.manual_seed(seed)
    model = XORNet(hidden)
    losses = []
    for _ in range(epochs):
        loss = 0.5 * torch.sum((model(X_T) - Y_T) ** 2)
        for p in model.parameters():
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= lr * p.grad
        losses.append(loss.detach())
    return model, torch.stack(losses).tolist() if losses else []"""),
    Alternative("train_xor with torch.optim.SGD (the task allows it: 'it does the same')", "b3_train_xor", TRAIN_BODY,
                """    torch.manual_seed(seed)
    model = XORNet(hidden)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    history = []
    for _ in range(epochs):
        loss = 0.5 * ((model(X_T) - Y_T) ** 2).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    return model, history"""),
    Alternative("walk_autograd_graph with an explicit stack", "b3_walk_graph", WALK_BODY,
                """    rows, stack = [], [(output.grad_fn, 0)]
    while stack:
        node, depth = stack.pop()
        label = names[id(node.variable)] if hasattr(node, "variable") else type(node).__name__
        rows.append((depth, label))
        children = [child for child, _ in node.next_functions if child is not None]
        stack += [(child, depth + 1) for child in reversed(children)]
    return rows"""),
    Alternative("walk_autograd_graph as a recursive generator that tells AccumulateGrad by its type name", "b3_walk_graph",
                WALK_BODY,
                """    def visit(node, depth):
        if type(node).__name__ == "AccumulateGrad":
            yield depth, names[id(node.variable)]
        else:
            yield depth, type(node).__name__
        for child, _ in node.next_functions:
            if child is not None:
                yield from visit(child, depth + 1)

    return list(visit(output.grad_fn, 0))"""),
    Alternative("solves_xor with boolean masks per label", "b3_success_rate", SOLVES_BODY,
                """        prob = model(X_T)
        right = ((Y_T == 1) & (prob > 0.5)) | ((Y_T == 0) & (prob < 0.5))
        return bool(right.all())"""),
    Alternative("solves_xor in a loop over the four points", "b3_success_rate", SOLVES_BODY,
                """        for p, label in zip(model(X_T).tolist(), XOR_Y):
            if (label == 1 and not p > 0.5) or (label == 0 and not p < 0.5):
                return False
        return True"""),
    Alternative("success_rate as np.mean of the booleans, a float", "b3_success_rate", SUCCESS_BODY,
                "    return float(np.mean([solves_xor(model) for model in models]))"),
    # C.4
    Alternative("hessian_eigenvalues with np.linalg.eigvalsh", "c4_hessian_eigenvalues", EIGEN_BODY,
                """    H = torch.autograd.functional.hessian(f, torch.tensor(np.asarray(p, dtype=float), dtype=torch.float64))
    return np.linalg.eigvalsh(H.numpy())"""),
    Alternative("hessian_eigenvalues with torch.linalg.eigh", "c4_hessian_eigenvalues", EIGEN_BODY,
                """    H = torch.autograd.functional.hessian(f, as_tensor(p))
    return torch.linalg.eigh(H).eigenvalues.numpy()"""),
    Alternative("newton_step with np.linalg.solve", "c4_newton_step", NEWTON_BODY,
                """    t = as_tensor(p)
    g = torch.autograd.functional.jacobian(f, t).numpy()
    H = torch.autograd.functional.hessian(f, t).numpy()
    return np.asarray(p, dtype=float) - np.linalg.solve(H, g)"""),
    Alternative("saddle_free_newton_step with |H| built in numpy and solved with np.linalg.solve",
                "c4_saddle_free_newton_step", SADDLE_FREE_BODY,
                """    lam, V = np.linalg.eigh(H.numpy())
    abs_H = V @ np.diag(np.abs(lam)) @ V.T
    return np.asarray(p, dtype=float) - np.linalg.solve(abs_H, grad.numpy())"""),
    Alternative("saddle_free_newton_step with torch.diag and torch.linalg.solve", "c4_saddle_free_newton_step",
                SADDLE_FREE_BODY,
                """    eigenvalues, V = torch.linalg.eigh(H)
    abs_H = V @ torch.diag(eigenvalues.abs()) @ V.T
    return (t - torch.linalg.solve(abs_H, grad)).numpy()"""),
]


def test_every_mistake_loses_points_in_its_own_task_only():
    check_mutants(SHEET, MUTANTS, ALTERNATIVES)  # their rounds run along, for the next test


def test_every_correct_alternative_passes_every_test():
    check_alternatives(SHEET, ALTERNATIVES, MUTANTS)
