"""Sheet 04: every formula and number stated in the notebook, checked by independent code
(sympy, torch autograd, torch.optim, Monte Carlo); the hand-computed optimizer tables; the run
cache; the slider views, tested headless.

FashionMNIST and CIFAR-10 are not on the development machine: the training code runs here on
the grading stand-in and on small tensors; real-data numbers are not quoted in the sheet.
"""

import ast
import math
import re
import time
import types

import nbformat
import numpy as np
import pytest
import sympy as sp
import torch
from nbtools import grading_mode, nbgrader_meta, notebook
from torch import nn

SHEET = "04_optimizers_and_initialization"


def cell_source(grade_id):
    nb = nbformat.read(notebook(SHEET), as_version=4)
    (cell,) = [c for c in nb.cells if nbgrader_meta(c).get("grade_id") == grade_id]
    return cell.source


# ----------------------------------------------------------------------------- independent optimizers


def book_gradient(w, x=1.0, y=-1.0, t=1.0):
    """d/dw (sigmoid(w . (x, y)) - t)^2 by torch autograd, in float64."""
    wt = torch.tensor(np.asarray(w, dtype=float), requires_grad=True)
    ((torch.sigmoid(wt[0] * x + wt[1] * y) - t) ** 2).backward()
    return wt.grad.numpy()


def book_run(method, steps=3, lr=1.0, delta=1e-8, rho=0.9, rho1=0.9, rho2=0.999, grad=book_gradient, swap_delta=False):
    """Goodfellow et al., algorithms 8.1, 8.4, 8.5, 8.7; returns one dict of values per step.
    ``swap_delta`` puts delta on the other side of the square root (for question (1))."""
    w = np.array([-1.0, 1.0])
    r, s = np.zeros(2), np.zeros(2)
    rows = []
    for k in range(1, steps + 1):
        g = grad(w)
        row = {"w": w[0], "z": w[0] - w[1], "o": 1 / (1 + np.exp(-(w[0] - w[1]))), "g": g[0]}
        if method == "SGD":
            update = -lr * g
        elif method == "AdaGrad":
            r = r + g * g
            update = -lr * g / (np.sqrt(delta + r) if swap_delta else delta + np.sqrt(r))
            row["r"] = r[0]
        elif method == "RMSProp":
            r = rho * r + (1 - rho) * g * g
            update = -lr * g / (delta + np.sqrt(r) if swap_delta else np.sqrt(delta + r))
            row["r"] = r[0]
        else:
            s = rho1 * s + (1 - rho1) * g
            r = rho2 * r + (1 - rho2) * g * g
            s_hat, r_hat = s / (1 - rho1**k), r / (1 - rho2**k)
            update = -lr * s_hat / (np.sqrt(delta + r_hat) if swap_delta else np.sqrt(r_hat) + delta)
            row.update(s=s[0], r=r[0], sh=s_hat[0], rh=r_hat[0])
        w = w + update
        row.update(d=update[0], new=w[0], w_vec=w.copy())
        rows.append(row)
    return rows


def torch_optimizer_path(make, steps=3):
    """The same three steps with a torch.optim optimizer (where it follows the book)."""
    w = torch.tensor([-1.0, 1.0], dtype=torch.float64, requires_grad=True)
    optimizer = make([w])
    path = [w.detach().clone().numpy()]
    for _ in range(steps):
        optimizer.zero_grad()
        ((torch.sigmoid(w[0] - w[1]) - 1.0) ** 2).backward()
        optimizer.step()
        path.append(w.detach().clone().numpy())
    return np.array(path)


METHODS = ("SGD", "AdaGrad", "RMSProp", "Adam")


def test_neuron_gradient_formula_with_sympy():
    wx, wy, x, y, t = sp.symbols("w_x w_y x y t", real=True)
    o = 1 / (1 + sp.exp(-(wx * x + wy * y)))
    loss = (o - t) ** 2
    assert sp.simplify(sp.diff(loss, wx) - 2 * (o - t) * o * (1 - o) * x) == 0
    assert sp.simplify(sp.diff(loss, wy) - 2 * (o - t) * o * (1 - o) * y) == 0
    at_start = {wx: -1, wy: 1, x: 1, y: -1, t: 1}
    assert abs(float(sp.diff(loss, wx).subs(at_start)) + 0.1850) < 5e-5
    assert abs(float(o.subs(at_start)) - 0.1192) < 5e-5


def test_reference_trajectories_follow_the_book(solution):
    functions = {"SGD": solution["sgd_steps"], "AdaGrad": solution["adagrad_steps"],
                 "RMSProp": solution["rmsprop_steps"], "Adam": solution["adam_steps"]}
    for method in METHODS:
        expected = np.array([[-1.0, 1.0]] + [row["w_vec"] for row in book_run(method, steps=8)])
        got = functions[method](solution["example_grad"], np.array([-1.0, 1.0]), 8)
        assert np.allclose(got, expected, atol=1e-12), method


def test_book_runs_agree_with_torch_optim_where_torch_follows_the_book():
    # torch's SGD, Adagrad and Adam put eps where the book puts delta; its RMSprop adds eps
    # outside the square root, unlike the book, so it is compared only to 1e-4.
    sgd = torch_optimizer_path(lambda p: torch.optim.SGD(p, lr=1.0))
    adagrad = torch_optimizer_path(lambda p: torch.optim.Adagrad(p, lr=1.0, eps=1e-8))
    adam = torch_optimizer_path(lambda p: torch.optim.Adam(p, lr=1.0, betas=(0.9, 0.999), eps=1e-8))
    rmsprop = torch_optimizer_path(lambda p: torch.optim.RMSprop(p, lr=1.0, alpha=0.9, eps=1e-8))
    for method, path, tol in (("SGD", sgd, 1e-12), ("AdaGrad", adagrad, 1e-10), ("Adam", adam, 1e-10), ("RMSProp", rmsprop, 1e-4)):
        book = np.array([[-1.0, 1.0]] + [row["w_vec"] for row in book_run(method)])
        assert np.allclose(path, book, atol=tol), method


def test_hidden_test_numbers_are_the_book_values():
    written = {"SGD": "test_a2_sgd", "AdaGrad": "test_a2_adagrad", "RMSProp": "test_a2_rmsprop", "Adam": "test_a2_adam"}
    for method, grade_id in written.items():
        source = cell_source(grade_id)
        line = next(line for line in source.splitlines() if line.startswith("expected = np.array"))
        numbers = [float(v) for v in re.findall(r"-?\d+\.\d+", line)]
        book = np.array([[-1.0, 1.0]] + [row["w_vec"] for row in book_run(method)]).ravel()
        assert np.allclose(numbers, book, atol=1e-6), method
    line = next(line for line in cell_source("test_a1_neuron_grad").splitlines() if "-0.184956" in line)
    assert abs(book_gradient([-1.0, 1.0])[0] + 0.184956) < 1e-6 and "0.184956" in line


def hand_tables():
    """The four tables of the reference answer, parsed: {method: list of rows of numbers}."""
    text = cell_source("a2_hand_tables")
    tables = {}
    for method in METHODS:
        start = text.index(f"**{method}**")
        lines = [line for line in text[start:].splitlines() if line.startswith("|")]
        rows = []
        for line in lines[2:]:  # skip the header and the --- line
            if not re.match(r"\|\s*\d", line):
                break
            rows.append([float(cell) for cell in line.strip("|").split("|")])
        tables[method] = (lines[0], rows)
    return tables


COLUMNS = {"SGD": ["w", "z", "o", "g", "d", "new"], "AdaGrad": ["w", "z", "o", "g", "r", "d", "new"],
           "RMSProp": ["w", "z", "o", "g", "r", "d", "new"],
           "Adam": ["w", "z", "o", "g", "s", "r", "sh", "rh", "d", "new"]}


def test_every_number_of_the_hand_tables():
    for method, (header, rows) in hand_tables().items():
        assert len(rows) == 3, method
        assert header.count("|") - 1 == len(COLUMNS[method]) + 1, method
        for k, (row, book) in enumerate(zip(rows, book_run(method)), start=1):
            assert row[0] == k
            for value, column in zip(row[1:], COLUMNS[method]):
                exact = book[column]
                # four decimals, or four significant digits for small numbers
                tolerance = 5.1e-5 if abs(value) >= 1e-2 or value == 0 else 5.1e-4 * abs(exact)
                assert abs(value - exact) <= max(tolerance, 6e-8), (method, k, column, value, exact)


def test_final_weights_quoted_after_three_steps():
    text = cell_source("a2_hand_tables")
    for method, quoted in (("SGD", -0.3102), ("AdaGrad", 0.9515), ("RMSProp", 2.1746), ("Adam", 1.8165)):
        assert f"({quoted:.4f}, {-quoted:.4f})" in text
        assert abs(book_run(method)[-1]["new"] - quoted) < 5e-5
    assert abs(book_run("AdaGrad")[0]["new"] + 5.4e-8) < 0.05e-8 and abs(book_run("Adam")[0]["new"] + 5.4e-8) < 0.05e-8


def test_claims_about_delta_and_the_first_steps():
    # (1) delta on the other side of the root changes nothing at four decimals
    largest = 0.0
    for method in ("AdaGrad", "RMSProp", "Adam"):
        for a, b in zip(book_run(method), book_run(method, swap_delta=True)):
            for column in COLUMNS[method]:
                largest = max(largest, abs(a[column] - b[column]))
    assert 3.5e-6 < largest < 8.5e-6  # "4e-6 in the first RMSProp step, 8e-6 in the next z"
    first, second = book_run("RMSProp", swap_delta=True)[:2], book_run("RMSProp")[:2]
    assert 3.5e-6 < abs(first[0]["d"] - second[0]["d"]) < 4.5e-6 and 7.5e-6 < abs(first[1]["z"] - second[1]["z"]) < 8.5e-6
    roots = [np.sqrt(row["r"]) for method in ("AdaGrad", "RMSProp") for row in book_run(method)]
    assert 0.05 < min(roots) and max(roots) < 0.32  # "sqrt(r) about 0.05 to 0.3"
    relative = [1e-8 / (2 * row["r"]) for row in book_run("RMSProp")] + [1e-8 / math.sqrt(row["r"]) for row in book_run("AdaGrad")]
    assert max(relative) < 2e-6  # "less than a relative 2e-6"
    # (2) first AdaGrad and Adam steps: length epsilon = 1, to w = 0
    for method in ("AdaGrad", "Adam"):
        assert abs(book_run(method)[0]["d"] - 1.0) < 1e-6
    # (3) RMSProp: 1/sqrt(0.1), saturated sigmoid, tiny gradient and steps afterwards
    rms = book_run("RMSProp")
    assert abs(rms[0]["d"] - 1 / math.sqrt(0.1)) < 1e-5 and abs(1 / math.sqrt(0.1) - 3.16) < 0.005
    assert abs(rms[1]["o"] - 0.987) < 0.0005 and 3e-4 < abs(rms[1]["g"]) < 3.5e-4
    assert all(abs(row["d"] - 0.006) < 0.0005 for row in rms[1:])
    assert rms[2]["r"] < rms[1]["r"] < rms[0]["r"]  # r decays


def test_notebook_states_where_delta_sits():
    nb = nbformat.read(notebook(SHEET), as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown" and not nbgrader_meta(c))
    rows = {name: next(line for line in text.splitlines() if line.startswith(f"| {name}")) for name in ("AdaGrad", "RMSProp", "Adam")}
    assert "outside the root" in rows["AdaGrad"] and r"\delta + \sqrt{\mathbf r}" in rows["AdaGrad"]
    assert "**inside** the root" in rows["RMSProp"] and r"\sqrt{\delta + \mathbf r}" in rows["RMSProp"]
    assert "outside the root" in rows["Adam"] and r"\sqrt{\hat{\mathbf r}} + \delta" in rows["Adam"]


# ----------------------------------------------------------------------------- Part B


def autograd_chain(ws, x, act):
    w = torch.tensor(np.asarray(ws, dtype=float), requires_grad=True)
    h = torch.tensor(float(x), dtype=torch.float64)
    for k in range(len(ws)):
        h = act(w[k] * h)
    h.backward()
    return w.grad.numpy()


def test_chain_derivative_formula_and_reference(solution):
    rng = np.random.default_rng(0)
    for act_name, act in (("sigmoid", torch.sigmoid), ("relu", torch.relu)):
        for n in (1, 2, 5, 9):
            ws, x = rng.normal(size=n), rng.normal()
            exact = autograd_chain(ws, x, act)
            assert np.allclose(solution["chain_grads"](ws, x, act_name), exact, atol=1e-12)
            # the product formula of the reference answer
            h, a = [x], []
            for w in ws:
                a.append(w * h[-1])
                h.append(float(act(torch.tensor(a[-1]))))
            slope = [float(torch.autograd.functional.jacobian(act, torch.tensor(ak, dtype=torch.float64))) for ak in a]
            formula = [np.prod([slope[k] * ws[k] for k in range(i + 1, n)]) * slope[i] * h[i] for i in range(n)]
            assert np.allclose(formula, exact, atol=1e-12)


def test_bounds_of_b2():
    rng = np.random.default_rng(1)
    s = sp.Symbol("s")
    assert sp.maximum(s * (1 - s), s, sp.Interval(0, 1)) == sp.Rational(1, 4)
    for _ in range(300):
        n = int(rng.integers(1, 8))
        ws, x = rng.uniform(-1, 1, n), rng.normal(scale=3)
        grads = np.abs(autograd_chain(ws, x, torch.sigmoid))
        i = np.arange(1, n + 1)
        bound = np.where(i == 1, abs(x), 1.0) / 4.0 ** (n - i + 1)
        assert np.all(grads <= bound)
        if n >= 2:
            assert grads[-1] < 0.25
        # ReLU: below |x| while all weights are below 1 in size; exactly the product when active
        relu = np.abs(autograd_chain(ws, x, torch.relu))
        assert np.all(relu < abs(x) + 1e-15)
        if x > 0 and np.all(ws > 0):
            assert np.allclose(relu, [abs(x) * np.prod(np.delete(ws, k)) for k in range(n)])
    assert abs(4.0**-10 - 1e-6) < 0.05e-6  # "4^-10 is about 10^-6"
    # with |w| > 1 the ReLU chain explodes, the sigmoid one does not unless |w| > 4
    assert autograd_chain([3.0] * 10, 1.0, torch.relu)[0] > 1e4
    assert abs(autograd_chain([3.0] * 10, 1.0, torch.sigmoid)[0]) < 1


def test_reference_sigmoid_bound(solution):
    for n, x in ((1, 2.0), (6, -0.5)):
        i = np.arange(1, n + 1)
        assert np.allclose(solution["sigmoid_chain_bound"](n, x), np.where(i == 1, abs(x), 1.0) * 0.25 ** (n - i + 1))


def test_variance_of_products_with_sympy_stats():
    from sympy.stats import E, Normal, Uniform, variance

    a, b, m1, m2 = sp.symbols("a b m1 m2", positive=True)
    X, Y, Z = Normal("X", 0, a), Uniform("Y", -b, b), Normal("Z", 0, 2)
    assert sp.simplify(variance(X * Y) - variance(X) * variance(Y)) == 0
    assert sp.simplify(variance(X * Y * Z) - variance(X) * variance(Y) * variance(Z)) == 0
    # the general formula quoted for non-zero means
    U, V = Normal("U", m1, a), Normal("V", m2, b)
    general = variance(U) * variance(V) + variance(U) * E(V) ** 2 + variance(V) * E(U) ** 2
    assert sp.simplify(variance(U * V) - general) == 0


def test_layer_variance_and_the_forward_condition_by_monte_carlo(solution):
    gen = torch.Generator().manual_seed(0)
    fan_in, fan_out, var_w = 40, 7, 0.3
    # a fresh weight matrix and input per sample: the variance over weights and inputs together
    x = torch.randn(20_000, fan_in, generator=gen, dtype=torch.float64) * math.sqrt(2.0)
    W = torch.randn(20_000, fan_out, fan_in, generator=gen, dtype=torch.float64) * math.sqrt(var_w)
    h = (W @ x[:, :, None]).squeeze(-1)
    assert abs(h.var().item() / (fan_in * var_w * 2.0) - 1) < 0.03  # fan-in, not fan-out
    widths, weight_vars = [784, 50, 30, 30, 30, 10], [0.01, 0.02, 0.03, 0.04, 0.05]
    expected = np.cumprod([n * v for n, v in zip(widths[:-1], weight_vars)])
    assert np.allclose(solution["activation_variances"](widths, weight_vars), expected)
    assert abs(3.0**-20 - 3e-10) < 0.2e-10  # "a factor 3^-20, about 3e-10"


def test_backward_condition_by_monte_carlo():
    # Var(dh^L/dh^i) = n_{i+1} Var(W^{i+1}) Var(dh^L/dh^{i+1}): the fan-out of layer i + 1
    gen = torch.Generator().manual_seed(1)
    n_in, n_out, var_w, samples = 30, 80, 0.01, 4000
    W = torch.randn(samples, n_out, n_in, generator=gen, dtype=torch.float64) * math.sqrt(var_w)
    upstream = torch.randn(samples, n_out, generator=gen, dtype=torch.float64)
    h = torch.zeros(samples, n_in, dtype=torch.float64, requires_grad=True)
    ((W @ h[:, :, None]).squeeze(-1) * upstream).sum().backward()
    assert abs(h.grad.var().item() / (n_out * var_w) - 1) < 0.05


def test_default_initialization_of_linear_layers(solution):
    for fan_in in (3, 30, 784):
        gain = nn.init.calculate_gain("leaky_relu", math.sqrt(5))
        assert math.isclose(gain * math.sqrt(3 / fan_in), 1 / math.sqrt(fan_in))
        assert math.isclose(solution["default_init_variance"](fan_in), 1 / (3 * fan_in))
    torch.manual_seed(0)
    layer = nn.Linear(784, 1000)
    assert layer.weight.abs().max() <= 1 / math.sqrt(784) and layer.bias.abs().max() <= 1 / math.sqrt(784)
    assert abs(layer.weight.var().item() * 3 * 784 - 1) < 0.01
    source = __import__("inspect").getsource(nn.Linear.reset_parameters)
    assert "kaiming_uniform_(self.weight, a=math.sqrt(5))" in source
    # a = 0 gives gain sqrt 2, variance 2 / fan_in: six times the default
    assert math.isclose(nn.init.calculate_gain("leaky_relu", 0) ** 2, 2.0)
    assert math.isclose((2.0 / 784) / (1 / (3 * 784)), 6.0)


def test_xavier_numbers_quoted(solution):
    layers = [(784, 50), (50, 30), (30, 30), (30, 30), (30, 10)]
    c_xavier = [2 * n_in / (n_in + n_out) for n_in, n_out in layers]
    assert np.allclose(np.round(c_xavier, 2), [1.88, 1.25, 1.0, 1.0, 1.5])
    ratios = [solution["xavier_variance"](n_in, n_out) / solution["default_init_variance"](n_in) for n_in, n_out in layers[:4] + layers[4:]]
    assert 3.0 - 1e-12 <= min(ratios) and max(ratios) < 6  # "3 to 6 times larger in our layers"
    assert math.isclose(solution["xavier_variance"](784, 50), 2 / 834) and math.isclose(1 / (3 * 784), 1 / 2352)
    n_in = 10  # Xavier > default exactly when fan-out < 5 fan-in
    assert all((2 / (n_in + n_out) > 1 / (3 * n_in)) == (n_out < 5 * n_in) for n_out in range(1, 100))
    torch.manual_seed(0)
    w = torch.empty(400, 300)
    nn.init.xavier_normal_(w)
    assert abs(w.var().item() / solution["xavier_variance"](300, 400) - 1) < 0.02


def test_monte_carlo_variances_stay_flat_vanish_or_explode(solution):
    base = solution["measured_variances"](256)[:20]
    assert np.all((base > 0.5) & (base < 2))
    layers = np.arange(1, 21)
    assert abs(math.log10(base[-1] * (1 / 3) ** 20) - math.log10(3.0**-20)) < 1
    small = solution["measured_variances"](16)[:20]
    assert (small * 3.0**layers)[-1] > 1e7 and np.all(np.diff(np.log(small * 3.0**layers)) > 0)
    # the scaling argument of the cell: weights times sqrt(c) give variances times c^i
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(100, 8, generator=gen, dtype=torch.float64)
    Ws = [torch.randn(8, 8, generator=gen, dtype=torch.float64) for _ in range(5)]
    for c in (0.3, 2.0):
        h1, hc = x, x
        for i, W in enumerate(Ws, start=1):
            h1, hc = h1 @ W.T, hc @ (math.sqrt(c) * W).T
            assert math.isclose(hc.var().item(), c**i * h1.var().item(), rel_tol=1e-12)


# ----------------------------------------------------------------------------- Part C and D code


def test_make_mlp_variances_of_each_init(solution):
    torch.manual_seed(0)
    for init, variance in (("default", lambda i, o: 1 / (3 * i)), ("xavier_normal", lambda i, o: 2 / (i + o)),
                           ("kaiming_a0", lambda i, o: 2 / i)):
        net = solution["make_mlp"]((500, 400), "sigmoid", init)
        for layer in [m for m in net if isinstance(m, nn.Linear)][:2]:
            n_out, n_in = layer.weight.shape
            assert abs(layer.weight.var().item() / variance(n_in, n_out) - 1) < 0.05, init
            assert layer.bias.abs().max() <= 1 / math.sqrt(n_in)


def test_training_on_the_stand_in_learns(solution):
    # the grading stand-in has learnable classes: a ReLU network gets far above chance
    histories = [solution["RUNS"]["relu", "default", (50,)], solution["RUNS"]["sigmoid", "default", (50,)]]
    for history in histories:
        assert history["test_accuracy"].shape == (2,) and history["grad_norms"].shape == (2, 2)
    torch.manual_seed(0)
    model = solution["make_mlp"]((50,), "relu")
    history = solution["train_classifier"](model, torch.optim.SGD(model.parameters(), lr=0.05), solution["fashion"], 5)
    assert history["test_accuracy"][-1] > 0.5 and history["train_accuracy"][-1] > 0.5


def test_deep_sigmoid_gradients_shrink_towards_the_input(solution):
    for hidden in solution["HIDDEN_LAYERS"][1:]:
        norms = solution["RUNS"]["sigmoid", "default", hidden]["grad_norms"][-1]
        assert norms[0] < norms[-1]
    deepest = solution["RUNS"]["sigmoid", "default", (50, 30, 30, 30)]["grad_norms"][-1]
    assert deepest[0] < 0.05 * deepest[-1]


def test_random_search_values_quoted(solution):
    k = -np.log10(solution["random_learning_rates"](5, solution["RANDOM_SEED"]))
    assert np.allclose(np.round(k, 2), [3.70, 1.86, 2.24, 4.20, 4.98])
    text = cell_source("d4_random_vs_grid")
    assert "3.70, 1.86, 2.24, 4.20, 4.98" in text
    lrs = 10.0**-k
    assert f"{lrs.min():.1e}".startswith("1.0e-05") and f"{lrs.max():.1e}".startswith("1.4e-02")
    assert "$1.0\\cdot 10^{-5}$ to $1.4\\cdot 10^{-2}$" in text


def test_grid_is_ten_to_minus_one_to_five(solution):
    assert np.allclose(solution["GRID_LRS"], [1e-1, 1e-2, 1e-3, 1e-4, 1e-5])
    assert torch.optim.Adam([nn.Parameter(torch.zeros(1))]).defaults["lr"] == 1e-3  # "PyTorch's default 10^-3"


def test_points_add_up_to_the_sheet():
    nb = nbformat.read(notebook(SHEET), as_version=4)
    parts = {}
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade"):
            part = meta["grade_id"].removeprefix("test_")[0]
            parts[part] = parts.get(part, 0) + meta["points"]
    assert parts == pytest.approx({"a": 5, "b": 10, "c": 9, "d": 6})
    intro = nb.cells[0].source
    assert "**30 points**" in intro and "(5 points)" in intro and "(10 points)" in intro
    assert "(9 points)" in intro and "(6 points)" in intro


def scheme_total(text):
    """The points listed in a mark scheme: 'X for', 'X each for A and B' (two items),
    'About X each for the three ...' (three items)."""
    scheme = text[text.index("**Mark scheme"):]
    total = 0.0
    for value, each, rest in re.findall(r"(\d+(?:\.\d+)?)\s+(each\s+)?for\s+((?:[^;,.]|\.\d)*)", scheme.split("**", 2)[2]):
        count = 1
        if each:
            count = 3 if "three" in rest else 2 if " and " in rest else 1
        total += float(value) * count
    return total


def test_mark_schemes_add_up():
    nb = nbformat.read(notebook(SHEET), as_version=4)
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type == "markdown" and meta.get("solution"):
            stated = float(re.search(r"\*\*Mark scheme \((\d+(?:\.\d+)?)\)", cell.source).group(1))
            assert stated == meta["points"], meta["grade_id"]
            assert scheme_total(cell.source) == pytest.approx(stated), meta["grade_id"]


def test_missing_data_falls_back_to_the_stand_in_with_a_message(solution, capsys):
    from dlcourse.data import DataUnavailable

    def unavailable(name, split="train", classes=None, limit=None):
        raise DataUnavailable(f"{name} is not here: put the archives into the data folder")

    real = solution["load_dataset"]
    solution["load_dataset"] = unavailable
    try:
        with grading_mode(False):
            data, fingerprint = solution["load_tensors"]("cifar10", train_limit=100)
    finally:
        solution["load_dataset"] = real
    shown = capsys.readouterr().out
    assert "cifar10 is not here" in shown and "synthetic stand-in" in shown
    assert data["train_x"].shape == (100, 3, 32, 32) and data["test_x"].shape == (200, 3, 32, 32)
    assert abs(data["train_x"].mean().item()) < 1e-4 and abs(data["train_x"].std().item() - 1) < 1e-3  # standardized


# ----------------------------------------------------------------------------- the run cache


def test_cache_stores_reads_and_clears(tmp_path, monkeypatch):
    from dlcourse.cache import cached_run, clear_cache, code_fingerprint

    monkeypatch.setenv("DLCOURSE_CACHE", str(tmp_path))
    calls = []

    def compute():
        calls.append(1)
        return {"test_accuracy": np.array([0.1, 0.2]), "grad_norms": np.ones((2, 3)), "note": "x"}

    with grading_mode(False):
        first = cached_run("run", {"lr": 0.1}, compute)
        second = cached_run("run", {"lr": 0.1}, compute)
        assert len(calls) == 1 and np.array_equal(first["grad_norms"], second["grad_norms"])
        assert second["grad_norms"].shape == (2, 3) and second["note"] == "x"
        cached_run("run", {"lr": 0.2}, compute)
        assert len(calls) == 2
        assert clear_cache() == 2 and not list(tmp_path.glob("*.json"))
        cached_run("run", {"lr": 0.1}, compute)
        assert len(calls) == 3
    with grading_mode(True):  # never read (nor written) while grading
        cached_run("run", {"lr": 0.1}, compute)
        assert len(calls) == 4 and len(list(tmp_path.glob("*.json"))) == 1

    def f(a):
        return a + 1

    def g(a):
        return a + 2

    assert code_fingerprint(f) != code_fingerprint(g) and code_fingerprint(f) == code_fingerprint(f)
    # without a source file (code run by exec) the fingerprint must not change between runs
    source = "def h(a):\n    def inner(b):\n        return b * 2\n    return inner(a) + 1\n"
    prints = set()
    for name in ("first.py", "second.py"):
        namespace = {}
        exec(compile(source, name, "exec"), namespace)
        prints.add(code_fingerprint(namespace["h"]))
    assert len(prints) == 1
    namespace = {}
    exec(compile(source.replace("b * 2", "b * 3"), "third.py", "exec"), namespace)
    assert code_fingerprint(namespace["h"]) not in prints


def test_notebook_runs_are_cached_with_their_settings(solution, tmp_path, monkeypatch):
    monkeypatch.setenv("DLCOURSE_CACHE", str(tmp_path))
    with grading_mode(False):
        first = solution["run_mlp"]((5,), "relu", epochs=1)
        files = list(tmp_path.glob("fashion-mlp-*.json"))
        assert len(files) == 1
        start = time.perf_counter()
        again = solution["run_mlp"]((5,), "relu", epochs=1)
        print(f"reading a stored run: {time.perf_counter() - start:.4f} s")
        assert np.array_equal(first["test_accuracy"], again["test_accuracy"]) and len(list(tmp_path.glob("*.json"))) == 1
        solution["run_mlp"]((5,), "relu", epochs=1, seed=1)
        solution["run_mlp"]((5,), "sigmoid", epochs=1)
        assert len(list(tmp_path.glob("*.json"))) == 3
        stored = files[0].read_text()
        files[0].write_text(stored.replace("[", "[9, ", 1))  # a stored run is what is read back
        assert solution["run_mlp"]((5,), "relu", epochs=1)["train_accuracy"][0] == 9


# ----------------------------------------------------------------------------- the slider views


def timed_change(view, name, value):
    start = time.perf_counter()
    view.controls[name].value = value
    seconds = time.perf_counter() - start
    print(f"{name} -> {value}: redrawn in {seconds:.3f} s")
    return seconds


def test_optimizer_view(solution):
    view = solution["optimizer_view"]
    assert view.figure is not None and view.message is None
    right = view.figure.axes[1]
    assert len(right.get_lines()) == 4 and right.get_yscale() == "log"
    timed_change(view, "lr", 0.1)
    assert "learning rate 0.1" in view.figure.texts[-1].get_text()
    timed_change(view, "x_input", 3.0)
    paths = [line for line in view.figure.axes[0].get_lines() if line.get_label() in ("SGD", "Adam")]
    sgd, adam = (np.column_stack([p.get_xdata(), p.get_ydata()]) for p in paths)
    first_sgd, first_adam = sgd[1] - sgd[0], adam[1] - adam[0]
    assert abs(first_sgd[0]) > 2.5 * abs(first_sgd[1])  # SGD follows the gradient (3, -1) ...
    assert np.isclose(abs(first_adam[0]), abs(first_adam[1]), rtol=1e-3)  # ... Adam steps by the sign
    timed_change(view, "rho", 0.99)
    assert "RMSProp rho 0.990" in view.figure.texts[-1].get_text()
    timed_change(view, "rho2", 0.95)
    assert "rho2 0.9500" in view.figure.texts[-1].get_text()
    ylim = view.figure.axes[1].get_ylim()
    lows = [line.get_ydata().min() for line in view.figure.axes[1].get_lines()]
    assert ylim[0] <= min(lows) and ylim[0] > min(lows) / 10  # the log axis fits the data


def test_variance_view(solution):
    view = solution["variance_view"]
    assert view.figure is not None and view.message is None
    timed_change(view, "depth", 30)
    ax = view.figure.axes[0]
    measured, predicted = ax.get_lines()[0], ax.get_lines()[1]
    assert len(measured.get_xdata()) == 30 and np.allclose(predicted.get_ydata(), 1.0)
    timed_change(view, "width", 256)
    timed_change(view, "scale", 10 ** (-4 / 8))  # a grid point of the log slider near 1/3
    predicted = view.figure.axes[0].get_lines()[1].get_ydata()
    assert np.allclose(predicted, (10 ** (-4 / 8)) ** np.arange(1, 31))
    assert "width 256" in view.figure.axes[0].get_title()
    low, high = view.figure.axes[0].get_ylim()
    assert low < predicted.min() and high > 1


def test_run_view_greys_out_what_does_not_apply(solution):
    view = solution["run_view"]
    assert view.figure is not None, view.message
    assert not view.controls["init"].disabled  # deepest sigmoid net: three inits
    timed_change(view, "init", "kaiming_a0")
    assert "init kaiming_a0" in view.figure.axes[0].get_title()
    timed_change(view, "depth", 2)
    assert view.controls["init"].disabled and "init default" in view.figure.axes[0].get_title()
    timed_change(view, "activation", "relu")
    assert view.controls["init"].disabled and "relu, (50, 30)" in view.figure.axes[0].get_title()
    right = view.figure.axes[1]
    assert right.get_yscale() == "log" and len(right.get_lines()) == 3
    assert len(view.figure.axes[0].get_lines()) == len(solution["RUNS"]) + 2


def test_views_in_the_release_ask_for_the_missing_code():
    from nbtools import notebook_namespace

    release = notebook_namespace(notebook(SHEET, "notebooks"), grading=True)
    for name, control, value in (("optimizer_view", "lr", 0.5), ("variance_view", "depth", 3), ("run_view", "depth", 1)):
        view = release[name]
        assert view.figure is None
        assert "is not implemented yet" in view.message or "not trained yet" in view.message
        view.controls[control].value = value
        assert view.figure is None and view.message


# ----------------------------------------------------------------------------- issue 16


def test_kingma_ba_efficient_form_is_the_book_step_only_with_delta_rescaled():
    # c1 = 1 - rho1^k and c2 = 1 - rho2^k lie in (0, 1) for 0 < rho < 1, k >= 1
    lr, s, r, delta, c1, c2 = sp.symbols("epsilon s r delta c1 c2", positive=True)
    book = lr * (s / c1) / (sp.sqrt(r / c2) + delta)
    step = lr * sp.sqrt(c2) / c1
    assert sp.simplify(book - step * s / (sp.sqrt(r) + delta * sp.sqrt(c2))) == 0
    assert sp.simplify(book - step * s / (sp.sqrt(r) + delta)) != 0  # delta not rescaled: another step
    text = next(c.source for c in nbformat.read(notebook(SHEET), as_version=4).cells if "Kingma and Ba also give" in c.source)
    assert r"\epsilon_k = \epsilon\sqrt{1 - \rho_2^k} / (1 - \rho_1^k)" in text and r"\hat\delta = \delta\sqrt{1 - \rho_2^k}" in text


def test_explore_text_on_rho1_and_rho2(solution):
    """With the slider's start (learning rate 1, x = 1): rho1 = 0.9 keeps Adam moving where the
    gradient is gone, rho2 near 1 makes the late steps shorter than a smaller rho2."""
    def late_step(rho1, rho2):
        path = solution["adam_steps"](solution["example_grad"], np.array([-1.0, 1.0]), 20, 1.0, rho1, rho2)
        return abs(path[-1, 0] - path[-2, 0])

    assert abs(solution["example_grad"](solution["adam_steps"](solution["example_grad"], np.array([-1.0, 1.0]), 19)[-1])[0]) < 1e-6
    assert late_step(0.9, 0.999) > 5 * late_step(0.0, 0.999)
    for rho1 in (0.0, 0.9):
        assert late_step(rho1, 0.999) < late_step(rho1, 0.9)
    text = next(c.source for c in nbformat.read(notebook(SHEET), as_version=4).cells if "Things to try" in c.source)
    assert "keeps Adam moving" in text and "the later steps shrink" in text


def test_first_adagrad_and_adam_steps_have_euclidean_length_sqrt_2():
    for method in ("AdaGrad", "Adam"):
        step = book_run(method)[0]["w_vec"] - np.array([-1.0, 1.0])
        assert abs(np.linalg.norm(step) - math.sqrt(2)) < 1e-6
    assert r"\sqrt 2\,\epsilon" in cell_source("a2_delta_and_first_steps")


def test_one_dead_relu_kills_the_gradient_of_every_weight():
    rng = np.random.default_rng(16)
    for _ in range(200):
        n = int(rng.integers(2, 8))
        ws, dead = rng.uniform(0.1, 2, n), int(rng.integers(0, n))
        ws[dead] *= -1
        assert np.all(autograd_chain(ws, abs(rng.normal()) + 0.1, torch.relu) == 0)
    assert "the gradient of **every** weight is exactly 0" in cell_source("b2_bounds")


def test_chain_grads_test_switches_autograd_off_visibly():
    source = cell_source("test_b1_chain_grads")
    visible = source.split("### BEGIN HIDDEN TESTS")[0]
    assert 'dlcourse.rule("no autograd")' in visible
    assert ".backward()" not in visible and "autograd.grad" not in visible


def test_bounds_quoted_in_the_b2_test_are_derivatives_of_real_chains():
    line = re.findall(r"\(\[([^\]]*)\], (-?[\d.]+)\), \[([^\]]*)\]", cell_source("test_b2_sigmoid_chain_bound"))
    assert len(line) == 3
    for ws, x, sizes in line:
        ws = [float(v) for v in ws.split(",")]
        exact = np.abs(autograd_chain(ws, float(x), torch.sigmoid))
        sizes = np.array([float(v) for v in sizes.split(",")])
        assert np.all(sizes <= exact) and np.all(sizes > 0.99 * exact)  # rounded down, 3 digits
        assert max(abs(w) for w in ws) < 1


def test_release_gives_no_written_answer_away():
    release = nbformat.read(notebook(SHEET, "notebooks"), as_version=4)
    before_c5 = []
    for cell in release.cells:
        if "### C.5" in cell.source:
            break
        before_c5.append(cell.source)
    before_c5 = "\n".join(before_c5)
    assert "sqrt(5)" not in before_c5 and "a=math.sqrt" not in before_c5  # C.5 asks for PyTorch's default
    text = "\n".join(c.source for c in release.cells)
    assert "own choice" not in text and "prescribed" in text
    visible = {nbgrader_meta(c).get("grade_id"): c.source for c in release.cells if nbgrader_meta(c).get("grade")}
    assert "0.25" not in visible["test_b2_sigmoid_chain_bound"] and "grows" not in visible["test_b2_sigmoid_chain_bound"]
    a1 = visible["test_a1_neuron_grad"]
    for point in ("[-1.0, 1.0]", "[0.0, 0.0]", "0.1849", "0.1850", "-0.25"):  # w0 and the w = 0 of the hand tables
        assert point not in a1


def test_random_draw_checks_have_the_stated_false_fail_bounds():
    # Hoeffding for the quarters (D.4, visible) and the halves (hidden)
    assert 4 * 2 * math.exp(-2 * 20_000 * 0.025**2) < 2e-10 and math.isclose(math.exp(-25), math.exp(-2 * 20_000 * 0.025**2))
    assert 2 * 2 * math.exp(-2 * 40_000 * 0.02**2) < 1e-12
    # C.5: the largest of N uniform draws lies below b (1 - 40 / N) with probability (1 - 40 / N)^N < e^-40
    for n in (784 * 400, 400 * 300):
        assert (1 - 40 / n) ** n < math.exp(-40)
    # the standard errors used in C.4 and C.5, by simulation (N = 3000, 4000 repetitions)
    gen = torch.Generator().manual_seed(16)
    n, repeats = 3000, 4000
    normal = torch.randn(repeats, 2, n, generator=gen, dtype=torch.float64)
    ratio = normal[:, 0].std(dim=1) / normal[:, 1].std(dim=1) - 1
    assert abs(ratio.std().item() * math.sqrt(n) - 1) < 0.05  # two normal draws: std ratio has s.e. 1 / sqrt(N)
    assert abs(normal[:, 0].std(dim=1).std().item() * math.sqrt(2 * n) - 1) < 0.05  # one draw: 1 / sqrt(2 N)
    uniform = torch.rand(repeats, 2, n, generator=gen, dtype=torch.float64) * 2 - 1
    var_ratio = uniform[:, 0].var(dim=1) / uniform[:, 1].var(dim=1) - 1
    assert abs(var_ratio.std().item() / math.sqrt(1.6 / n) - 1) < 0.05  # uniform: variance ratio s.e. sqrt(1.6 / N)
    # 9 standard errors of a normal: two-sided tail below 1e-18; Chernoff for chi-square agrees at this size
    assert math.erfc(9 / math.sqrt(2)) < 1e-18


def test_adam_at_its_default_learning_rate_is_trained_once(solution):
    runs = solution["CIFAR_RUNS"]
    assert ("adam", None) in runs and not any(opt == "adam" and lr is not None and math.isclose(lr, 1e-3) for opt, lr in runs)
    assert solution["cifar_history"]("adam", 10.0**-3) is runs["adam", None]
    assert solution["CIFAR_PROTOCOL"].startswith("quick budget")


def answer_functions():
    nb = nbformat.read(notebook(SHEET), as_version=4)
    names = set()
    for cell in nb.cells:
        if cell.cell_type == "code" and nbgrader_meta(cell).get("solution"):
            names |= {node.name for node in ast.parse(cell.source).body if isinstance(node, ast.FunctionDef)}
    return names


def failing_at(function, calls, fail_at):
    """``function``, counting the calls of all such wrappers in ``calls``; the ``fail_at``-th fails."""
    def wrapper(*args, **kwargs):
        calls[0] += 1
        if calls[0] == fail_at:
            raise RuntimeError(f"{function.__name__} fails on purpose")
        return function(*args, **kwargs)
    return wrapper


def test_swapped_functions_come_back_when_the_graded_code_fails(solution):
    """Issue 16: a test cell that puts a stand-in in place of a student's function gives it back in
    `finally`, also when the graded code fails, at whichever of its calls it fails."""
    functions = answer_functions()
    nb = nbformat.read(notebook(SHEET), as_version=4)
    checked = 0
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if not meta.get("grade") or meta.get("solution"):
            continue
        tree = ast.parse(cell.source)
        swapped = {t.id for node in ast.walk(tree) if isinstance(node, ast.Assign)
                   for t in ast.walk(node) if isinstance(t, ast.Name) and isinstance(t.ctx, ast.Store) and t.id in functions}
        swapped |= {node.name for node in tree.body if isinstance(node, ast.FunctionDef) and node.name in functions}
        if not swapped:
            continue
        checked += 1
        for fail_at in range(1, 50):
            ns, calls = dict(solution), [0]
            for name, value in solution.items():  # the sheet's functions look their names up in ns
                if isinstance(value, types.FunctionType) and value.__globals__ is solution:
                    ns[name] = types.FunctionType(value.__code__, ns, value.__name__, value.__defaults__, value.__closure__)
            students = {name: failing_at(ns[name], calls, fail_at) for name in functions}
            ns.update(students)
            with grading_mode(True):
                try:
                    exec(compile(cell.source, meta["grade_id"], "exec"), ns)
                    failed = False
                except Exception:
                    failed = True
            for name in swapped:
                assert ns[name] is students[name], (meta["grade_id"], name, fail_at)
            if not failed:
                break
        assert not failed, meta["grade_id"]
    assert checked >= 2  # C.1 make_mlp (init_weights) and C.1 training (layer_grad_norms)


def test_numbers_in_the_new_visible_tests_by_independent_code():
    # A.1: the gradient at w = (0.5, -1) for x = 2, y = 1, t = 0
    assert np.allclose(book_gradient([0.5, -1.0], x=2.0, y=1.0, t=0.0), [0.5, 0.25])
    # A.2: one step with a gradient of two non-zero coordinates, by torch.optim where it follows the book
    def first_step(make, g):
        w = torch.zeros(2, dtype=torch.float64, requires_grad=True)
        optimizer = make([w])
        w.grad = torch.tensor(g, dtype=torch.float64)
        optimizer.step()
        return w.detach().numpy()

    # torch's Adagrad and Adam put eps where the book puts delta; its RMSprop does not (see above)
    assert np.allclose(first_step(lambda p: torch.optim.Adagrad(p, lr=1.0, eps=1.0), [3.0, -1.0]), [-0.75, 0.5])
    assert np.allclose(first_step(lambda p: torch.optim.Adam(p, lr=1.0, betas=(0.5, 0.75), eps=2.0), [2.0, -6.0]), [-0.5, 0.75])
    g = np.array([2.0, -4.0])
    assert np.allclose(-1.0 * g / np.sqrt(2.0 + 0.5 * g * g), [-1.0, 4.0 / np.sqrt(10.0)])  # book RMSProp, rho = 0.5
    # C.1: the nested probe of layer_grad_norms
    nested = nn.Sequential(nn.Sequential(nn.Conv2d(1, 1, 1), nn.Flatten()), nn.ReLU(), nn.Sequential(nn.Linear(2, 1)))
    with torch.no_grad():
        for layer in (nested[0][0], nested[2][0]):
            layer.weight.fill_(1.0)
            layer.bias.fill_(0.0)
    nested(torch.tensor([[[[1.0, 2.0]]]])).sum().backward()
    assert np.allclose([nested[0][0].weight.grad.norm().item(), nested[2][0].weight.grad.norm().item()], [3.0, math.sqrt(5.0)])
    for grade_id, text in (("test_a1_neuron_grad", "[0.5, 0.25]"), ("test_a2_adagrad", "[-0.75, 0.5]"),
                           ("test_a2_adam", "[-0.5, 0.75]"), ("test_a2_rmsprop", "4.0 / np.sqrt(10.0)"),
                           ("test_c1_layer_grad_norms", "[3.0, np.sqrt(5.0)]")):
        assert text in cell_source(grade_id).split("### BEGIN HIDDEN TESTS")[0], grade_id


def test_training_test_problem_is_learnable_and_catches_one_class_models(solution):
    source = cell_source("test_c1_train_classifier")
    namespace = {"torch": torch}
    exec(source[source.index("def toy_problem"):source.index("toy = toy_problem(0)")], namespace)
    toy = namespace["toy_problem"](0)
    for key in ("train_y", "test_y"):  # balanced: a one-class model gets a third right
        assert torch.bincount(toy[key]).tolist() == [len(toy[key]) // 3] * 3
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 5), nn.Sigmoid(), nn.Linear(5, 3))
    history = solution["train_classifier"](model, torch.optim.SGD(model.parameters(), lr=0.5), toy, 5, 16)
    assert history["test_accuracy"][-1] > 0.9 and history["train_accuracy"][-1] > 0.9  # the test asks for 0.8
