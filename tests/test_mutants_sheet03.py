"""Sheet 03: plausible wrong implementations of every graded function, each of which must
lose points in its own task and only there (see mutation.py)."""

from mutation import Mutant, check_mutants

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


def test_every_mistake_loses_points_in_its_own_task_only():
    check_mutants(SHEET, MUTANTS)
