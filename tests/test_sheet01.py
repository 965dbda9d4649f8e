"""Sheet 01: every formula and number stated in the notebook, checked by code, and its
slider view, tested headless."""

import numpy as np
import pytest
import sympy as sp
import torch
from nbtools import notebook

SHEET = "01_sigmoid_softmax_gradient_descent"


# ----------------------------------------------------------------------------- Part A formulas

x = sp.Symbol("x", real=True)
sigma = 1 / (1 + sp.exp(-x))


def test_sigmoid_derivative_is_sigma_times_one_minus_sigma():
    assert sp.simplify(sp.diff(sigma, x) - sigma * (1 - sigma)) == 0
    assert sp.simplify(sp.diff(sigma, x) - sp.exp(-x) / (1 + sp.exp(-x)) ** 2) == 0


def test_sigmoid_slope_is_at_most_a_quarter():
    slope = sp.diff(sigma, x)
    assert sp.solve(sp.diff(slope, x), x) == [0] and slope.subs(x, 0) == sp.Rational(1, 4)
    assert float(slope.subs(x, 4)) < 0.02  # "nearly 0 once |x| > 4"


def test_negative_branch_of_the_stable_sigmoid():
    assert sp.simplify(sp.exp(x) / (1 + sp.exp(x)) - sigma) == 0


def test_softmax_jacobian_formula():
    z = sp.symbols("z0:3", real=True)
    total = sum(sp.exp(zj) for zj in z)
    s = [sp.exp(zi) / total for zi in z]
    for i in range(3):
        for j in range(3):
            expected = s[i] * ((1 if i == j else 0) - s[j])
            assert sp.simplify(sp.diff(s[i], z[j]) - expected) == 0


def test_two_class_softmax_is_a_sigmoid_of_the_score_difference():
    z0, z1, c = sp.symbols("z0 z1 c", real=True)
    p0 = sp.exp(z0) / (sp.exp(z0) + sp.exp(z1))
    assert sp.simplify(p0 - 1 / (1 + sp.exp(-(z0 - z1)))) == 0
    shifted = sp.exp(z0 + c) / (sp.exp(z0 + c) + sp.exp(z1 + c))
    assert sp.simplify(shifted - p0) == 0  # adding a constant to all scores changes nothing


# ----------------------------------------------------------------------------- Part B formulas

px, py = sp.symbols("x y", real=True)
rosen = 100 * (py - px**2) ** 2 + (1 - px) ** 2


def test_rosenbrock_gradient_formula():
    assert sp.expand(sp.diff(rosen, px) - (-400 * px * (py - px**2) - 2 * (1 - px))) == 0
    assert sp.expand(sp.diff(rosen, py) - 200 * (py - px**2)) == 0


def test_numbers_about_the_valley():
    grad = [sp.diff(rosen, v).subs({px: 0.5, py: 2}) for v in (px, py)]
    assert [float(g) for g in grad] == [-351.0, 350.0]
    hessian = np.array(sp.hessian(rosen, (px, py)).subs({px: 1, py: 1}), dtype=float)
    low, high = np.linalg.eigvalsh(hessian)
    assert abs(high - 1000) < 5 and abs(low - 0.4) < 0.01
    assert np.isclose(0.5**2 + 1.0**2, 1.25)  # squared distance of the start to (1, 1)


def test_first_adam_step_formulas():
    g, lr, b1, b2 = sp.symbols("g eta beta1 beta2", positive=True)
    m1, v1 = (1 - b1) * g, (1 - b2) * g**2
    uncorrected = -lr * m1 / sp.sqrt(v1)
    assert sp.simplify(uncorrected - (-lr * (1 - b1) / sp.sqrt(1 - b2))) == 0
    assert abs(float((uncorrected / -lr).subs({b1: 0.9, b2: 0.999})) - 3.16) < 0.01
    assert abs(float((uncorrected / -lr).subs({b1: 0.9, b2: 0.9999})) - 10) < 1e-9
    corrected = -lr * (m1 / (1 - b1)) / sp.sqrt(v1 / (1 - b2))
    assert sp.simplify(corrected + lr) == 0


def test_constant_gradient_averages_are_one_minus_beta_to_the_t():
    b, g, t = sp.Symbol("beta", positive=True), sp.Symbol("g"), sp.Symbol("t", integer=True, positive=True)
    k = sp.Symbol("k", integer=True)
    m_t = (1 - b) * sp.summation(b**k, (k, 0, t - 1)) * g
    assert sp.simplify(m_t - (1 - b**t) * g) == 0


# ----------------------------------------------------------------------------- the reference code


def test_reference_adam_matches_pytorch(solution):
    start = np.array([0.5, 2.0])
    for corrected_betas in ((0.9, 0.999), (0.8, 0.99)):
        point = torch.tensor(start, dtype=torch.float64, requires_grad=True)
        optimizer = torch.optim.Adam([point], lr=3e-2, betas=corrected_betas, eps=1e-6)
        expected = [start]
        for _ in range(50):
            optimizer.zero_grad()
            (100 * (point[1] - point[0] ** 2) ** 2 + (1 - point[0]) ** 2).backward()
            optimizer.step()
            expected.append(point.detach().numpy().copy())
        got = solution["adam"](solution["rosenbrock_grad"], start, 3e-2, 50, *corrected_betas, 1e-6)
        assert np.allclose(got, np.array(expected), atol=1e-9)


def test_reference_derivatives_match_autograd(solution):
    z = torch.tensor([0.3, -1.2, 2.5, 0.0], dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, 0), z).numpy()
    assert np.allclose(solution["softmax_jacobian"](z.numpy()), jac)
    xs = torch.linspace(-6, 6, 13, dtype=torch.float64, requires_grad=True)
    torch.sigmoid(xs).sum().backward()
    assert np.allclose(solution["sigmoid_grad"](xs.detach().numpy()), xs.grad.numpy())


def test_numbers_quoted_in_the_reflections(solution):
    sweep, gd, adam = solution["step_size_sweep"], solution["gradient_descent"], solution["adam"]
    lrs = solution["STEP_SIZES"]
    final = sweep(gd)[:, -1]
    assert np.all(~np.isfinite(final[:2])) and np.all(np.isfinite(final[2:]))  # two diverge
    assert np.argmin(final) == 2 and np.isclose(lrs[2], 2.2e-3, rtol=0.05)
    assert abs(final[2] - 0.03) < 0.005 and abs(final[3] - 0.24) < 0.01 and abs(final[-1] - 0.97) < 0.01
    assert np.linalg.norm(lrs[0] * solution["rosenbrock_grad"]([0.5, 2.0])) > 2
    corrected, uncorrected = sweep(adam)[:, -1], sweep(adam, bias_correction=False)[:, -1]
    assert np.all(np.isfinite(corrected)) and np.all(np.diff(corrected) > 0)  # ordered by lr
    assert abs(corrected[0] - 0.55) < 0.01 and abs(uncorrected[0] - 0.08) < 0.01
    assert solution["squared_distances"](adam(solution["rosenbrock_grad"], solution["START"], 0.1, 30))[-1] < 0.03
    first = np.diff(adam(solution["rosenbrock_grad"], solution["START"], 1e-2, 1, bias_correction=False), axis=0)
    assert np.allclose(np.abs(first), 1e-2 * 0.1 / np.sqrt(0.001), rtol=1e-3)  # about 3x longer


# ----------------------------------------------------------------------------- the slider view


def test_slider_view_redraws_with_new_settings(solution):
    view = solution["explorer"]
    assert view.figure is not None and view.message is None
    view.controls["lr"].value = 1e-3
    assert view.settings["lr"] == pytest.approx(1e-3)
    assert "learning rate 1.0e-03" in view.figure.texts[-1].get_text()
    view.controls["optimizer"].value = "gradient descent"
    view.controls["steps"].value = 50
    left, right = view.figure.axes[0], view.figure.axes[1]
    assert left.get_title() == "gradient descent"
    assert len(left.get_lines()[0].get_xdata()) == 51  # the path: start plus 50 steps
    view.controls["lr"].value = 1e-2  # diverges: the view says so instead of crashing
    assert "diverged" in view.figure.axes[1].get_title()
    view.controls["optimizer"].value = "Adam"
    view.controls["beta1"].value = 0.5
    assert "beta1 0.50" in view.figure.texts[-1].get_text() and view.settings["beta1"] == 0.5
    assert right is not view.figure.axes[1]  # a new figure was drawn


def test_slider_view_in_the_release_asks_for_the_missing_code():
    from nbtools import notebook_namespace

    release = notebook_namespace(notebook(SHEET, "notebooks"), grading=True)
    view = release["explorer"]
    assert view.figure is None and "is not implemented yet" in view.message
    view.controls["lr"].value = 1e-3
    assert "is not implemented yet" in view.message
