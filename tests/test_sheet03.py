"""Sheet 03: every formula and number stated in the notebook, checked by code; the reference
implementations against autograd; the XOR defaults; the slider view, tested headless."""

import numpy as np
import pytest
import sympy as sp
import torch
from nbtools import notebook

SHEET = "03_computation_graphs"


x = sp.Symbol("x", real=True)
s = sp.Symbol("s")
sigma = 1 / (1 + sp.exp(-x))


# ----------------------------------------------------------------------------- Part A formulas


def test_sigmoid_derivative_is_sigma_minus_sigma_squared():
    assert sp.simplify(sp.diff(sigma, x) - (sigma - sigma**2)) == 0
    assert sp.simplify(sp.diff(sigma, x) - sp.exp(-x) / (1 + sp.exp(-x)) ** 2) == 0
    assert sp.simplify(sp.exp(-x) / (1 + sp.exp(-x)) - (1 - sigma)) == 0


def test_derivative_polynomials_of_the_recursion():
    # P_{k+1}(s) = P_k'(s) (s - s^2) with P_0 = s gives sigma^(k)(x) = P_k(sigma(x)).
    polys = [s]
    for _ in range(6):
        polys.append(sp.expand(sp.diff(polys[-1], s) * (s - s**2)))
    for k, poly in enumerate(polys):
        assert sp.simplify(poly.subs(s, sigma) - sp.diff(sigma, x, k)) == 0
    # the values quoted in the hand derivation
    p2 = (1 - 2 * s) * (s - s**2)
    p3 = (-2 * (s - s**2) + (1 - 2 * s) ** 2) * (s - s**2)
    assert sp.expand(p2 - polys[2]) == 0 and sp.expand(p3 - polys[3]) == 0
    half = sp.Rational(1, 2)
    assert [polys[k].subs(s, half) for k in range(4)] == [half, sp.Rational(1, 4), 0, -sp.Rational(1, 8)]


def test_taylor_series_of_the_sigmoid():
    series = sp.series(sigma, x, 0, 8).removeO()
    expected = sp.Rational(1, 2) + x / 4 - x**3 / 48 + x**5 / 480 - 17 * x**7 / 80640
    assert sp.expand(series - expected) == 0
    assert sp.simplify(sigma.subs(x, -x) - (1 - sigma)) == 0  # sigma - 1/2 is odd


def test_sigmoid_has_poles_at_i_pi():
    assert sp.simplify(1 + sp.exp(-sp.I * sp.pi)) == 0  # denominator vanishes at x = i pi


def test_taylor_ranges_quoted(solution):
    xs = np.linspace(0, 6, 6001)
    exact = 1 / (1 + np.exp(-xs))

    def good_until(n):
        bad = np.abs(solution["sigmoid_taylor"](xs, n) - exact) > 1e-2
        return xs[np.argmax(bad)]

    assert abs(good_until(3) - 1.4) < 0.05
    assert abs(good_until(5) - 1.8) < 0.05 and abs(good_until(9) - 2.2) < 0.05
    # beyond pi a higher degree is worse, inside it better
    far, near = 4.0, 1.0
    err = {n: abs(float(solution["sigmoid_taylor"](far, n)) - 1 / (1 + np.exp(-far))) for n in (9, 15, 21)}
    assert err[9] < err[15] < err[21]
    errn = {n: abs(float(solution["sigmoid_taylor"](near, n)) - 1 / (1 + np.exp(-near))) for n in (3, 9, 15)}
    assert errn[3] > errn[9] > errn[15]


def test_reference_taylor_coefficients_are_exact(solution):
    got = solution["sigmoid_taylor_coefficients"](11)
    series = sp.series(sigma, x, 0, 12).removeO()
    for k, c in enumerate(got):
        assert sp.Rational(c.numerator, c.denominator) == series.coeff(x, k)


def test_first_order_expansion_of_a_gradient_step():
    w1, w2, eta = sp.symbols("w1 w2 eta", real=True)
    f = 100 * (w2 - w1**2) ** 2 + (1 - w1) ** 2
    g = [sp.diff(f, v) for v in (w1, w2)]
    stepped = f.subs({w1: w1 - eta * g[0], w2: w2 - eta * g[1]}, simultaneous=True)
    H = sp.hessian(f, (w1, w2))
    gv = sp.Matrix(g)
    taylor = [sp.diff(stepped, eta, k).subs(eta, 0) / sp.factorial(k) for k in range(3)]
    assert sp.expand(taylor[0] - f) == 0
    assert sp.expand(taylor[1] + (gv.T * gv)[0]) == 0  # first order: -eta |g|^2
    assert sp.expand(taylor[2] - (gv.T * H * gv)[0] / 2) == 0  # second order: eta^2/2 g^T H g
    # a quadratic: the step helps exactly while eta < 2 |g|^2 / g^T H g
    A = sp.Matrix([[3, 1], [1, 2]])
    w = sp.Matrix([w1, w2])
    q = (w.T * A * w)[0] / 2
    gq = A * w
    decrease = sp.expand(q - q.subs({w1: w1 - eta * gq[0], w2: w2 - eta * gq[1]}, simultaneous=True))
    root = 2 * (gq.T * gq)[0] / (gq.T * A * gq)[0]
    assert sp.simplify(decrease - eta * (gq.T * gq)[0] * (1 - eta / root)) == 0


def test_numbers_of_the_decrease_experiment(solution):
    lrs = np.logspace(-7, -2, 201)
    ratios = solution["decrease_ratios"](lrs)
    assert abs(ratios[0] - 0.999997) < 5e-7
    assert np.isclose(lrs[ratios < 0][0], 3.35e-3, rtol=0.01)
    f, grad, w = solution["rosenbrock"], solution["rosenbrock_grad"], solution["W_START"]
    lo, hi = 1e-3, 1e-2  # bisection for the step size where the loss stops going down
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if f(w) - f(w - mid * grad(w)) > 0 else (lo, mid)
    assert abs(lo - 3.2e-3) < 0.05e-3
    assert 2.2e-3 < lo < 4.6e-3  # between the step sizes of sheet 01 that converged / diverged


# ----------------------------------------------------------------------------- Part B


def test_backprop_formulas_with_sympy():
    W = sp.Matrix(2, 2, sp.symbols("W00 W01 W10 W11", real=True))
    Wo = sp.Matrix(sp.symbols("Wo0 Wo1", real=True))
    ba, bo, y = sp.symbols("b_a b_o y", real=True)
    xv = sp.Matrix(sp.symbols("x0 x1", real=True))

    def sig(t):
        return 1 / (1 + sp.exp(-t))

    a = W.T * xv + sp.Matrix([ba, ba])
    h = a.applyfunc(sig)
    z = (Wo.T * h)[0] + bo
    yh = sig(z)
    L = (yh - y) ** 2 / 2
    delta_z = (yh - y) * yh * (1 - yh)
    delta_a = [delta_z * Wo[j] * h[j] * (1 - h[j]) for j in range(2)]
    values = {W[0, 0]: 0.3, W[0, 1]: -1.2, W[1, 0]: 0.7, W[1, 1]: 0.4, Wo[0]: 1.5, Wo[1]: -0.8,
              ba: 0.1, bo: -0.3, y: 1, xv[0]: 0.9, xv[1]: -0.4}

    def same(e1, e2):
        return abs(float(e1.subs(values)) - float(e2.subs(values))) < 1e-12

    assert same(sp.diff(L, bo), delta_z)
    for j in range(2):
        assert same(sp.diff(L, Wo[j]), delta_z * h[j])
        for k in range(2):
            assert same(sp.diff(L, W[k, j]), delta_a[j] * xv[k])
    assert same(sp.diff(L, ba), delta_a[0] + delta_a[1])


def test_reference_grads_match_autograd(solution):
    rng = np.random.default_rng(0)
    for _ in range(10):
        params = solution["random_params"](rng, 3.0)
        xs, y = rng.normal(size=2), int(rng.integers(0, 2))
        leaves = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
        # the loss written out independently of the notebook
        a = torch.stack([leaves["W_i"][0, j] * xs[0] + leaves["W_i"][1, j] * xs[1] for j in range(2)]) + leaves["b_a"]
        z = (leaves["W_o"] * torch.sigmoid(a)).sum() + leaves["b_o"]
        (0.5 * (torch.sigmoid(z) - y) ** 2).backward()
        got = solution["xor_manual_grads"](params, xs, y)
        for key, leaf in leaves.items():
            assert np.allclose(got[key], leaf.grad.numpy(), atol=1e-12)
        forward = solution["xor_forward"](params, xs)
        assert np.isclose(forward["y_hat"], torch.sigmoid(z).item())


def test_graph_edges_follow_the_equations(solution):
    edges = set(solution["xor_graph_edges"]())
    parents = {}
    for parent, child in edges:
        parents.setdefault(child, set()).add(parent)
    assert parents["a[0]"] == {"x[0]", "x[1]", "W_i[0,0]", "W_i[1,0]", "b_a"}  # column 0 of W_i
    assert parents["a[1]"] == {"x[0]", "x[1]", "W_i[0,1]", "W_i[1,1]", "b_a"}
    assert parents["z"] == {"h[0]", "h[1]", "W_o[0]", "W_o[1]", "b_o"}
    assert parents["L"] == {"y_hat", "y"} and parents["y_hat"] == {"z"}
    fig = solution["draw_graph"](list(edges))
    labels = {t.get_text() for t in fig.axes[0].texts}
    assert set(solution["GRAPH_NODES"]) <= labels  # every node, every leaf named in the figure
    assert {"x[0]", "x[1]", "W_i[0,0]", "W_i[0,1]", "W_i[1,0]", "W_i[1,1]", "b_a", "W_o[0]", "W_o[1]", "b_o", "y"} <= labels
    forward_keys = set(solution["xor_forward"](solution["random_params"](np.random.default_rng(1)), [0.0, 1.0]))
    computed = {name.split("[")[0] for name, (_, formula) in solution["GRAPH_NODES"].items() if formula}
    assert computed - {"L"} == forward_keys  # node names match the keys of xor_forward


def test_autograd_walk_of_the_hand_graph(solution):
    rows = solution["walk_autograd_graph"](
        solution["example_loss"], {id(t): k for k, t in solution["leaves"].items()}
    )
    labels = [label for _, label in rows]
    assert labels.count("SigmoidBackward0") == 2 and labels.count("AddBackward0") == 2
    assert {"MvBackward0", "DotBackward0", "PermuteBackward0", "SubBackward0", "PowBackward0"} <= set(labels)
    depth = dict((label, d) for d, label in rows)
    assert depth["W_i"] > depth["b_a"] > depth["W_o"] > depth["b_o"]  # W_i is farthest from L


def test_shared_bias_network_of_the_reference_answer(solution):
    params = {"W_i": np.array([[20.0, 7.0], [20.0, 7.0]]), "b_a": -10.0,
              "W_o": np.array([20.0, -20.0]), "b_o": -10.0}
    forward = [solution["xor_forward"](params, p) for p in solution["XOR_X"]]
    y_hat = np.array([f["y_hat"] for f in forward])
    assert np.all(np.round(y_hat) == solution["XOR_Y"]) and np.all(np.abs(y_hat - solution["XOR_Y"]) < 0.01)
    h1 = [f["h"][1] for f in forward]
    assert abs(h1[1] - 0.05) < 0.005 and abs(h1[3] - 0.98) < 0.005
    assert np.isclose(10 / 7, 1.43, atol=0.005)


def test_defaults_learn_xor_for_every_seed_with_four_or_more_units(solution):
    train_xor, solves = solution["train_xor"], solution["solves_xor"]
    for hidden in (4, 8):
        for seed in range(20):
            model, history = train_xor(hidden, seed=seed)
            assert len(history) == 1000 and solves(model), (hidden, seed)


def test_two_unit_numbers_quoted(solution):
    train_xor, solves = solution["train_xor"], solution["solves_xor"]
    counts, final_losses = {}, {}
    for lr in (1.0, 3.0, 10.0):
        runs = [train_xor(2, lr, 1000, seed) for seed in range(20)]
        counts[lr] = sum(solves(model) for model, _ in runs)
        final_losses[lr] = [h[-1] for model, h in runs if not solves(model)]
    assert counts == {1.0: 8, 3.0: 15, 10.0: 16}
    assert all(abs(loss - 0.25) < 0.01 for loss in final_losses[3.0])
    assert any(abs(loss - 1 / 3) < 0.01 for loss in final_losses[10.0])
    assert any(abs(loss - 0.5) < 0.01 for loss in final_losses[1.0])
    assert sum(solves(train_xor(3, 3.0, 1000, seed)[0]) for seed in range(20)) == 20


def test_xor_net_matches_the_hand_graph_when_biases_are_shared(solution):
    net = solution["XORNet"](2)
    rng = np.random.default_rng(3)
    params = solution["random_params"](rng)
    with torch.no_grad():
        net.hidden_layer.weight.copy_(torch.tensor(params["W_i"].T))
        net.hidden_layer.bias.fill_(params["b_a"])
        net.output_layer.weight.copy_(torch.tensor(params["W_o"][None, :]))
        net.output_layer.bias.fill_(params["b_o"])
        for point in solution["XOR_X"]:
            expected = solution["xor_forward"](params, point)["y_hat"]
            got = net(torch.tensor(point[None, :], dtype=torch.float32)).item()
            assert abs(got - expected) < 1e-6


# ----------------------------------------------------------------------------- Part C

px, py = sp.symbols("x y", real=True)
saddle = px**2 + py**4 / 4 - py**2


def test_saddle_function_formulas():
    assert [sp.expand(sp.diff(saddle, v)) for v in (px, py)] == [2 * px, py**3 - 2 * py]
    assert sp.hessian(saddle, (px, py)) == sp.Matrix([[2, 0], [0, 3 * py**2 - 2]])
    critical = sp.solve([sp.diff(saddle, px), sp.diff(saddle, py)], [px, py], dict=True)
    assert {(c[px], c[py]) for c in critical} == {(0, 0), (0, sp.sqrt(2)), (0, -sp.sqrt(2))}
    assert saddle.subs({px: 0, py: sp.sqrt(2)}) == -1
    assert sp.solve(3 * py**2 - 2, py) == [-sp.sqrt(6) / 3, sp.sqrt(6) / 3]  # |y| = sqrt(2/3)
    assert abs(float(sp.sqrt(sp.Rational(2, 3))) - 0.82) < 0.005


def test_hessians_against_sympy(solution):
    H = sp.hessian(saddle, (px, py))
    for point in ([0.0, 0.0], [0.3, -1.1], [1.0, 0.05], [-0.5, 2.0]):
        exact = np.array(H.subs({px: point[0], py: point[1]}), dtype=float)
        assert np.allclose(solution["hessian_eigenvalues"](solution["saddle_function"], np.array(point)),
                           np.linalg.eigvalsh(exact))


def test_newton_steps_against_sympy(solution):
    grad = sp.Matrix([sp.diff(saddle, v) for v in (px, py)])
    H = sp.hessian(saddle, (px, py))
    for point in ([1.0, 0.05], [0.8, 0.4], [-0.3, 1.7]):
        subs = {px: point[0], py: point[1]}
        g, h = np.array(grad.subs(subs), dtype=float).ravel(), np.array(H.subs(subs), dtype=float)
        lam, V = np.linalg.eigh(h)
        p = np.array(point)
        assert np.allclose(solution["newton_step"](solution["saddle_function"], p), p - np.linalg.solve(h, g))
        assert np.allclose(solution["saddle_free_newton_step"](solution["saddle_function"], p),
                           p - V @ ((V.T @ g) / np.abs(lam)))


def test_saddle_trajectories_quoted():
    # the trajectories of the reference answer, recomputed with numpy from the sympy formulas
    def grad(p):
        return np.array([2 * p[0], p[1] ** 3 - 2 * p[1]])

    def hess(p):
        return np.diag([2.0, 3 * p[1] ** 2 - 2])

    def f(p):
        return p[0] ** 2 + p[1] ** 4 / 4 - p[1] ** 2

    def run(step, steps=30):
        points = [np.array([0.8, 0.05])]
        for _ in range(steps):
            move = step(points[-1])
            if np.linalg.norm(move) > 1.0:
                move = move / np.linalg.norm(move)
            points.append(points[-1] + move)
        return np.array(points)

    newton = run(lambda p: -np.linalg.solve(hess(p), grad(p)))
    assert abs(newton[1, 1] + 0.0001) < 0.00005 and np.allclose(newton[-1], 0, atol=1e-12)
    sfn = run(lambda p: -grad(p) / np.abs(np.diag(hess(p))))
    assert np.allclose(sfn[:5, 1], [0.05, 0.10, 0.20, 0.41, 0.92], atol=0.01)
    assert np.linalg.norm(-grad(sfn[4]) / np.abs(np.diag(hess(sfn[4])))) > 1  # the capped step
    assert np.allclose(sfn[10], [0, np.sqrt(2)], atol=1e-6)
    gd = run(lambda p: -0.1 * grad(p))
    values = np.array([f(p) for p in gd])
    assert np.all(np.abs(values[4:12]) < 0.13) and np.argmax(values < -0.5) == 16
    assert abs(values[26] + 1) < 1e-3 and abs(values[25] + 1) > 5e-4
    assert np.allclose(gd[1:8, 1] / gd[:7, 1], 1.2, atol=0.01)


def test_saddle_trajectories_in_the_notebook(solution):
    # full-length trajectories with the notebook's own code
    run = solution["trajectory"]
    newton = run(solution["newton_step"], steps=30)
    sfn = run(solution["saddle_free_newton_step"], steps=30)
    gd = run(solution["gradient_step"], steps=30)
    assert np.allclose(newton[-1], 0, atol=1e-9)
    assert np.allclose(sfn[-1], [0, np.sqrt(2)], atol=1e-9)
    assert np.allclose(gd[-1], [0, np.sqrt(2)], atol=0.01)


# ----------------------------------------------------------------------------- the slider view


def test_slider_view_redraws_with_new_settings(solution):
    view = solution["explorer"]
    assert view.figure is not None and view.message is None
    view.controls["hidden"].value = 4
    view.controls["epochs"].value = 300
    assert view.settings["hidden"] == 4 and view.settings["epochs"] == 300
    left, right = view.figure.axes[0], view.figure.axes[1]
    assert len(left.get_lines()[0].get_xdata()) == 300  # one loss per epoch
    assert "hidden 4" in view.figure.texts[-1].get_text() and "epochs 300" in view.figure.texts[-1].get_text()
    view.controls["lr"].value = 10.0
    assert view.settings["lr"] == pytest.approx(10.0)
    assert "learning rate 1.0e+01" in view.figure.texts[-1].get_text()
    view.controls["seed"].value = 3
    assert "seed 3" in view.figure.texts[-1].get_text()
    assert view.figure.axes[1] is not right  # a new figure was drawn
    assert view.figure.axes[0].get_title() in ("solved", "not solved")


def test_slider_view_in_the_release_asks_for_the_missing_code():
    from nbtools import notebook_namespace

    release = notebook_namespace(notebook(SHEET, "notebooks"), grading=True)
    view = release["explorer"]
    assert view.figure is None and "is not implemented yet" in view.message
    view.controls["hidden"].value = 3
    assert "is not implemented yet" in view.message
