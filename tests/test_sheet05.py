"""Sheet 05: every formula and number stated in the notebook, checked by code (sympy, finite
differences, PyTorch autograd); the reference activations against torch on grids with 0 and
|x| up to 1000, with numpy warnings as errors; the grading of symbolic answers; and the two
slider views, headless.

The MNIST numbers quoted in the reference answers come from the real data; that test is
skipped when MNIST is neither in the data folder nor reachable through DLCOURSE_MIRROR.
"""

import contextlib
import inspect
import itertools
import os
import sys
import time
import types
import unittest.mock
import warnings

import nbformat
import numpy as np
import pytest
import sympy as sp
import torch
from nbtools import grading_mode, nbgrader_meta, notebook

SHEET = "05_activations_and_skip_connections"


def cell_source(grade_id):
    nb = nbformat.read(notebook(SHEET), as_version=4)
    (cell,) = [c for c in nb.cells if nbgrader_meta(c).get("grade_id") == grade_id]
    return cell.source


def run_test_cell(grade_id, setup="", **names):
    """Run a test cell of the source (hidden tests included) against the given functions, or
    against functions that the code ``setup`` defines in the cell's namespace."""
    import dlcourse

    def sigmoid(v):
        return 1 / (1 + np.exp(-np.asarray(v, dtype=float)))

    namespace = {"np": np, "sp": sp, "torch": torch, "warnings": warnings, "dlcourse": dlcourse,
                 "contextlib": contextlib, "os": os, "sys": sys, "unittest": unittest,
                 "sigmoid": sigmoid, **names}
    exec(setup, namespace)
    exec(compile(cell_source(grade_id), grade_id, "exec"), namespace)


x = sp.Symbol("x", real=True)
h = sp.Symbol("h", positive=True)
alpha, beta = sp.Symbol("alpha", positive=True), sp.Symbol("beta", positive=True)
RELU = sp.Piecewise((0, x < 0), (x, True))
SOFTPLUS = sp.log(1 + sp.exp(beta * x)) / beta
ELU = sp.Piecewise((alpha * (sp.exp(x) - 1), x <= 0), (x, True))
LOGSIGMOID = sp.log(1 / (1 + sp.exp(-x)))


def sig(v):
    return 1 / (1 + sp.exp(-v))


def side(f, sign):
    """f on one side of 0, as an expression in h > 0 (x = sign * h)."""
    return f.subs(x, sign * h)


# ----------------------------------------------------------------------------- Part A formulas


def test_derivatives_of_the_four_activations():
    assert sp.simplify(side(sp.diff(RELU, x), -1)) == 0 and side(sp.diff(RELU, x), 1) == 1
    softplus_slope = sp.diff(SOFTPLUS, x)
    assert sp.simplify(softplus_slope - sp.exp(beta * x) / (1 + sp.exp(beta * x))) == 0
    assert sp.simplify(softplus_slope - sig(beta * x)) == 0  # sigma(beta x), as the answer says
    elu_slope = sp.diff(ELU, x)
    assert sp.simplify(side(elu_slope, -1) - alpha * sp.exp(-h)) == 0 and side(elu_slope, 1) == 1
    assert sp.simplify(side(elu_slope, -1) - (side(ELU, -1) + alpha)) == 0  # ELU' = ELU + alpha on the left
    logsigmoid_slope = sp.diff(LOGSIGMOID, x)
    assert sp.simplify(logsigmoid_slope - 1 / (1 + sp.exp(x))) == 0
    assert sp.simplify(logsigmoid_slope - sig(-x)) == 0
    assert sp.simplify(LOGSIGMOID + SOFTPLUS.subs(beta, 1).subs(x, -x)) == 0  # LogSigmoid = -Softplus(-x)


def test_stable_rewritings():
    u = sp.Symbol("u", positive=True)
    for v in (u, -u):  # log(1 + e^v) = max(v, 0) + log(1 + e^-|v|) on both sides of 0
        rewritten = sp.Max(v, 0) + sp.log(1 + sp.exp(-sp.Abs(v)))
        assert sp.simplify(sp.expand_log(sp.log(1 + sp.exp(v)) - rewritten, force=True)) == 0
    for v in (u, -u):  # LogSigmoid(v) = min(v, 0) - log(1 + e^-|v|)
        rewritten = sp.Min(v, 0) - sp.log(1 + sp.exp(-sp.Abs(v)))
        assert sp.simplify(sp.expand_log(LOGSIGMOID.subs(x, v) - rewritten, force=True)) == 0


def test_softplus_relu_gap_formula():
    gap = SOFTPLUS - RELU
    for sign in (-1, 1):  # gap = log(1 + e^(-beta |x|)) / beta on both sides
        closed = sp.log(1 + sp.exp(-beta * h)) / beta
        assert sp.simplify(sp.expand_log(side(gap, sign) - closed, force=True)) == 0
    assert sp.simplify(gap.subs(x, 0) - sp.log(2) / beta) == 0
    assert sp.diff(sp.log(1 + sp.exp(-beta * h)) / beta, h).subs(beta, 1).subs(h, 1) < 0  # falls away from 0
    for b in (0.1, 1.0, 2.5, 10.0):
        xs = np.linspace(-20, 20, 400001)
        values = np.logaddexp(0, b * xs) / b - np.maximum(xs, 0)
        assert np.isclose(values.max(), np.log(2) / b, rtol=1e-12) and abs(xs[np.argmax(values)]) < 1e-9
        assert values.min() > -1e-14  # positive up to rounding
        assert np.all(np.log1p(np.exp(-b * np.abs(xs[np.abs(b * xs) < 30]))) > 0)


def one_sided(f, x0=0):
    """Independent one-sided limits: (left, value, right, slope_left, slope_right)."""
    slope = sp.diff(f, x)
    def lim(g, s):
        return sp.limit(g.subs(x, x0 + s * h), h, 0, dir="+")
    return lim(f, -1), f.subs(x, x0), lim(f, 1), lim(slope, -1), lim(slope, 1)


def test_smoothness_claims():
    assert one_sided(RELU) == (0, 0, 0, 0, 1)  # C0 with a corner
    assert one_sided(ELU) == (0, 0, 0, alpha, 1)  # corner unless alpha = 1
    for a in (sp.Rational(1, 2), 1, 2):
        limits = one_sided(ELU.subs(alpha, a))
        assert limits[:3] == (0, 0, 0) and limits[3:] == (a, 1)
    # ELU with alpha = 1 is C1 but not C2: the second derivative jumps from 1 to 0
    second = sp.diff(ELU.subs(alpha, 1), x, 2)
    assert sp.limit(side(second, -1), h, 0, "+") == 1 and sp.limit(side(second, 1), h, 0, "+") == 0
    for f, value, slope in ((SOFTPLUS, sp.log(2) / beta, sp.Rational(1, 2)), (LOGSIGMOID, -sp.log(2), sp.Rational(1, 2))):
        limits = one_sided(f)
        assert all(sp.simplify(v - value) == 0 for v in limits[:3])
        assert all(sp.simplify(s - slope) == 0 for s in limits[3:])


def test_the_piecewise_limit_trap_stated_in_the_sheet_is_real():
    step = sp.Piecewise((0, x < 0), (1, True))
    assert sp.limit(step, x, 0, dir="-") == 1  # wrong, as the sheet warns
    assert sp.limit(step.subs(x, -h), h, 0, dir="+") == 0  # the substitution gives the true limit


def test_solution_limits_table(solution):
    rows = solution["SMOOTHNESS_ROWS"]
    expected = {"ReLU": "C0", "Softplus (any beta)": "C1", "ELU, alpha = 1/2": "C0", "ELU, alpha = 1": "C1",
                "ELU, alpha = 2": "C0", "LogSigmoid": "C1"}
    for name, f in rows.items():
        limits = solution["one_sided_limits"](f, solution["x_sym"], 0)
        reference = one_sided(f.subs({solution["x_sym"]: x, solution["beta_sym"]: beta}))
        got = [limits[k] for k in ("left", "value", "right", "slope_left", "slope_right")]
        assert all(sp.simplify(g.subs(solution["beta_sym"], beta) - r) == 0 for g, r in zip(got, reference)), name
        assert solution["smoothness_class"](limits) == expected[name], name


def test_pytorch_conventions_at_the_kinks():
    t = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    torch.relu(t).backward()
    assert t.grad.item() == 0.0  # ReLU'(0) := 0 in PyTorch
    for a in (0.5, 1.0, 2.0):
        t = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
        torch.nn.functional.elu(t, alpha=a).backward()
        assert t.grad.item() == a  # ELU'(0) := alpha, the slope of the left branch


def test_np_where_warns_for_the_branch_it_does_not_choose():
    with pytest.warns(RuntimeWarning, match="overflow"):
        np.where(np.array([1000.0]) > 0, 1000.0, np.exp(np.array([1000.0])) - 1)


# ----------------------------------------------------------------------------- Part A reference code

GRID = np.concatenate([np.linspace(-40, 40, 321), [-1000.0, -700.0, -1e-9, 0.0, 1e-9, 700.0, 1000.0]])


@pytest.mark.parametrize("name, torch_fn, params", [
    ("relu", lambda t: torch.relu(t), [{}]),
    ("softplus", lambda t, beta=1.0: torch.logaddexp(torch.zeros_like(t), beta * t) / beta,
     [{"beta": b} for b in (0.1, 0.5, 1.0, 3.0, 10.0)]),
    ("elu", lambda t, alpha=1.0: torch.nn.functional.elu(t, alpha=alpha), [{"alpha": a} for a in (0.1, 0.5, 1.0, 2.0, 3.0)]),
    ("logsigmoid", lambda t: torch.nn.functional.logsigmoid(t), [{}]),
])
def test_reference_activations_match_torch_without_warnings(solution, name, torch_fn, params):
    f, grad = solution[name], solution[f"{name}_grad"]
    for kwargs in params:
        t = torch.tensor(GRID, requires_grad=True)
        expected = torch_fn(t, **kwargs)
        expected.sum().backward()
        with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
            warnings.simplefilter("error")
            values, grads = f(GRID, **kwargs), grad(GRID, **kwargs)
        assert np.allclose(values, expected.detach().numpy(), rtol=1e-12, atol=1e-300), (name, kwargs)
        assert np.allclose(grads, t.grad.numpy(), rtol=1e-12, atol=1e-300), (name, kwargs)


def test_reference_activations_match_torch_functional(solution):
    """The same against torch.nn.functional itself (its Softplus switches to x above
    beta x = 20, which costs it about 1e-9 of accuracy there)."""
    t = torch.tensor(GRID)
    for b in (0.5, 1.0, 4.0):
        assert np.allclose(solution["softplus"](GRID, b), torch.nn.functional.softplus(t, beta=b).numpy(), rtol=1e-9, atol=1e-300)
    assert np.allclose(solution["relu"](GRID), torch.nn.functional.relu(t).numpy())


def test_symbolic_reference_answers_are_the_derivatives(solution):
    xs = sp.Symbol("x", real=True)
    exprs = {
        "relu": solution["relu_derivative_expression"](xs),
        "softplus": solution["softplus_derivative_expression"](xs, beta),
        "elu": solution["elu_derivative_expression"](xs, alpha),
        "logsigmoid": solution["logsigmoid_derivative_expression"](xs),
    }
    for name, expr in exprs.items():
        f = solution[f"{name}_grad"]
        kwargs = {"softplus": {"beta": 1.7}, "elu": {"alpha": 0.6}}.get(name, {})
        numeric = sp.lambdify(xs, expr.subs({beta: 1.7, alpha: 0.6}), "numpy")
        points = np.array([-3.0, -0.4, 0.3, 2.5])
        assert np.allclose([float(numeric(p)) for p in points], f(points, **kwargs)), name


# ----------------------------------------------------------------------------- grading of formulas


@pytest.mark.parametrize("grade_id, name, forms", [
    ("test_a1_relu_derivative_expression", "relu_derivative_expression", [
        lambda v: sp.Piecewise((0, v < 0), (1, True)),
        lambda v: sp.Piecewise((0, v <= 0), (1, True)),
        lambda v: sp.Heaviside(v),
        lambda v: (sp.sign(v) + 1) / 2,
    ]),
    ("test_a2_softplus_derivative_expression", "softplus_derivative_expression", [
        lambda v, b: sp.exp(b * v) / (1 + sp.exp(b * v)),
        lambda v, b: 1 / (1 + sp.exp(-b * v)),
        lambda v, b: (1 + sp.tanh(b * v / 2)) / 2,
    ]),
    ("test_a3_elu_derivative_expression", "elu_derivative_expression", [
        lambda v, a: sp.Piecewise((a * sp.exp(v), v < 0), (1, True)),
        lambda v, a: sp.Piecewise((a * sp.exp(v), v <= 0), (1, v > 0)),
        lambda v, a: sp.Piecewise((a * (sp.exp(v) - 1) + a, v < 0), (1, True)),
    ]),
    ("test_a4_logsigmoid_derivative_expression", "logsigmoid_derivative_expression", [
        lambda v: 1 / (1 + sp.exp(v)),
        lambda v: sp.exp(-v) / (1 + sp.exp(-v)),
        lambda v: 1 - 1 / (1 + sp.exp(-v)),
    ]),
])
def test_symbolic_answers_accept_every_correct_form(grade_id, name, forms):
    for form in forms:
        run_test_cell(grade_id, **{name: form})


@pytest.mark.parametrize("grade_id, name, form", [
    ("test_a1_relu_derivative_expression", "relu_derivative_expression", lambda v: sp.Piecewise((1, v < 0), (0, True))),
    ("test_a1_relu_derivative_expression", "relu_derivative_expression", lambda v: sp.sign(v)),
    ("test_a1_relu_derivative_expression", "relu_derivative_expression", lambda v: sp.Integer(1) + 0 * v),
    ("test_a2_softplus_derivative_expression", "softplus_derivative_expression", lambda v, b: sp.exp(v) / (1 + sp.exp(v)) + 0 * b),
    ("test_a2_softplus_derivative_expression", "softplus_derivative_expression", lambda v, b: b * sp.exp(b * v) / (1 + sp.exp(b * v))),
    ("test_a2_softplus_derivative_expression", "softplus_derivative_expression", lambda v, b: sp.exp(b * v) / b),
    ("test_a3_elu_derivative_expression", "elu_derivative_expression", lambda v, a: sp.Piecewise((sp.exp(v), v < 0), (1, True))),
    ("test_a3_elu_derivative_expression", "elu_derivative_expression", lambda v, a: sp.Piecewise((a * sp.exp(v), v < 0), (a, True))),
    ("test_a3_elu_derivative_expression", "elu_derivative_expression", lambda v, a: sp.Piecewise((a * (sp.exp(v) - 1), v < 0), (1, True))),
    ("test_a4_logsigmoid_derivative_expression", "logsigmoid_derivative_expression", lambda v: 1 / (1 + sp.exp(-v))),
    ("test_a4_logsigmoid_derivative_expression", "logsigmoid_derivative_expression", lambda v: -1 / (1 + sp.exp(v))),
    ("test_a4_logsigmoid_derivative_expression", "logsigmoid_derivative_expression", lambda v: 1 / (1 + sp.exp(sp.Symbol("y")))),
])
def test_symbolic_answers_reject_wrong_forms(grade_id, name, form):
    with pytest.raises(AssertionError):
        run_test_cell(grade_id, **{name: form})


def test_symbolic_answers_must_not_use_sympys_differentiation():
    x_ = sp.Symbol("x", real=True)
    for grade_id, name, form in (
        ("test_a1_relu_derivative_expression", "relu_derivative_expression", lambda v: sp.diff(sp.Max(v, 0), v)),
        ("test_a2_softplus_derivative_expression", "softplus_derivative_expression",
         lambda v, b: sp.diff(sp.log(1 + sp.exp(b * v)) / b, v)),
        ("test_a3_elu_derivative_expression", "elu_derivative_expression",
         lambda v, a: sp.Piecewise((a * (sp.exp(v) - 1), v <= 0), (v, True)).diff(v)),
        ("test_a4_logsigmoid_derivative_expression", "logsigmoid_derivative_expression",
         lambda v: sp.Derivative(sp.log(1 / (1 + sp.exp(-v))), v).doit()),
    ):
        with pytest.raises(AssertionError, match="switched off"):
            run_test_cell(grade_id, **{name: form})
    assert sp.diff(x_**2, x_) == 2 * x_  # and it is back on afterwards


STUDENT_CODE_WITH_A_BROKEN_HELPER = """
def softplus(v, beta=1.0):  # wrong
    return np.zeros_like(np.asarray(v, dtype=float))


def logsigmoid(v):  # right, written with the (wrong) softplus
    return -softplus(-np.asarray(v, dtype=float))


def layer_backward(W, x, z_hat):  # wrong
    return np.zeros(len(x)), np.zeros((len(x), len(x)))


def skip_layer_backward(W, x, y_hat):  # right, reusing the (wrong) layer_backward
    dx, dW = layer_backward(W, x, y_hat)
    return np.asarray(y_hat, dtype=float) + dx, dW
"""


def without_hidden_tests(source):
    """The test cell as the release shows it."""
    kept, hidden = [], False
    for line in source.splitlines():
        if "### BEGIN HIDDEN TESTS" in line:
            hidden = True
        elif "### END HIDDEN TESTS" in line:
            hidden = False
        elif not hidden:
            kept.append(line)
    return "\n".join(kept)


def test_a_wrong_helper_of_another_task_costs_only_its_own_cell():
    import dlcourse

    for grade_id in ("test_a4_logsigmoid", "test_b2_skip_layer_backward_dx", "test_b2_skip_layer_backward_dW"):
        run_test_cell(grade_id, setup=STUDENT_CODE_WITH_A_BROKEN_HELPER)  # graded: passes
        namespace = {"np": np, "torch": torch, "warnings": warnings, "dlcourse": dlcourse, "contextlib": contextlib,
                     "unittest": unittest, "sigmoid": lambda v: 1 / (1 + np.exp(-np.asarray(v, dtype=float)))}
        exec(STUDENT_CODE_WITH_A_BROKEN_HELPER, namespace)
        with pytest.raises(AssertionError):  # the visible part alone still shows the broken helper
            exec(without_hidden_tests(cell_source(grade_id)), namespace)


@pytest.mark.parametrize("wrong", [
    lambda b: (0.0, float(np.log(2.0))),  # beta forgotten
    lambda b: (0.0, float(np.log(2.0) * b)),
    lambda b: (1.0 / b, float(np.log(2.0) / b)),  # wrong place
    lambda b: (0.0, 1.0 / b),
    lambda b: (0.0, float(np.log(2.0) / b) * 0.999),  # a numerical search on a coarse grid
])
def test_gap_test_rejects_wrong_answers(wrong):
    with pytest.raises(AssertionError):
        run_test_cell("test_a5_softplus_relu_gap", softplus_relu_gap=wrong, relu=None, softplus=None)


# ----------------------------------------------------------------------------- Part B formulas


def test_layer_gradients_symbolically():
    d = 2
    W = sp.Matrix(d, d, sp.symbols("w0:4", real=True))
    xv = sp.Matrix(sp.symbols("x0:2", real=True))
    g = sp.Matrix(sp.symbols("g0:2", real=True))
    z = (W * xv).applyfunc(sig)
    delta = sp.Matrix([g[i] * z[i] * (1 - z[i]) for i in range(d)])
    values = {**dict(zip(W, (0.7, -1.3, 0.4, 2.1))), **dict(zip(xv, (0.5, -1.5))), **dict(zip(g, (1.2, -0.3)))}
    for skip in (False, True):
        loss = (g.T * (z + (xv if skip else sp.zeros(d, 1))))[0]
        dx = W.T * delta + (g if skip else sp.zeros(d, 1))
        dW = delta * xv.T
        for i in range(d):
            assert abs(float((sp.diff(loss, xv[i]) - dx[i]).subs(values))) < 1e-12
            for j in range(d):
                assert abs(float((sp.diff(loss, W[i, j]) - dW[i, j]).subs(values))) < 1e-12


def test_reference_backward_functions_match_autograd(solution):
    for d in (1, 2, 3, 7, 32, 64):
        rng = np.random.default_rng(100 + d)
        W, xv, g = rng.normal(scale=1.5, size=(d, d)), rng.normal(scale=2, size=d), rng.normal(size=d)
        for skip, backward in ((False, solution["layer_backward"]), (True, solution["skip_layer_backward"])):
            Wt, xt = torch.tensor(W, requires_grad=True), torch.tensor(xv, requires_grad=True)
            (torch.tensor(g) @ (torch.sigmoid(Wt @ xt) + (xt if skip else 0))).backward()
            dx, dW = backward(W, xv, g)
            assert dx.shape == (d,) and dW.shape == (d, d)
            assert np.allclose(dx, xt.grad.numpy(), rtol=1e-12, atol=1e-14)
            assert np.allclose(dW, Wt.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_the_finite_difference_table_of_b2_shows_differences_up_to_about_1e_9(solution):
    """The text before the table: finite differences are accurate to about 1e-9 here."""
    import dlcourse

    largest = 0.0
    for d in (1, 3, 10, 64):
        rng = np.random.default_rng(d)
        W, xv, g = rng.normal(size=(d, d)), rng.normal(size=d), rng.normal(size=d)
        for skip, backward in ((False, solution["layer_backward"]), (True, solution["skip_layer_backward"])):
            dx, dW = backward(W, xv, g)
            dx_fd = dlcourse.numerical_gradient(lambda v, W=W, g=g, skip=skip: solution["stack_loss"](W, v, g, skip), xv)
            dW_fd = dlcourse.numerical_gradient(lambda V, xv=xv, g=g, skip=skip: solution["stack_loss"](V, xv, g, skip), W)
            largest = max(largest, np.abs(dx - dx_fd).max(), np.abs(dW - dW_fd).max())
    assert 3e-10 < largest < 5e-9


def test_jacobians_and_two_common_mistakes():
    rng = np.random.default_rng(7)
    W, xv = rng.normal(size=(4, 4)), rng.normal(size=4)
    s = 1 / (1 + np.exp(-W @ xv))
    plain = torch.autograd.functional.jacobian(lambda t: torch.sigmoid(torch.tensor(W) @ t), torch.tensor(xv)).numpy()
    skip = torch.autograd.functional.jacobian(lambda t: t + torch.sigmoid(torch.tensor(W) @ t), torch.tensor(xv)).numpy()
    assert np.allclose(plain, np.diag(s * (1 - s)) @ W)
    assert np.allclose(skip, np.eye(4) + np.diag(s * (1 - s)) @ W)
    # sigma' at x instead of W x, or W instead of W^T, give other numbers (the B.1 warning)
    g = rng.normal(size=4)
    right = W.T @ (g * s * (1 - s))
    sx = 1 / (1 + np.exp(-xv))
    assert not np.allclose(right, W.T @ (g * sx * (1 - sx))) and not np.allclose(right, W @ (g * s * (1 - s)))


def test_stack_bounds_and_the_expansion_of_the_skip_product():
    rng = np.random.default_rng(8)
    L, d = 4, 5
    Ws = rng.normal(size=(L, d, d)) / np.sqrt(d)
    x0, gL = rng.normal(size=d), rng.normal(size=d)
    for skip in (False, True):
        hs = [x0]
        for W in Ws:
            z = 1 / (1 + np.exp(-W @ hs[-1]))
            hs.append(hs[-1] + z if skip else z)
        A = []
        for W, hprev in zip(Ws, hs[:-1]):
            s = 1 / (1 + np.exp(-W @ hprev))
            A.append(W.T @ np.diag(s * (1 - s)))  # W_l^T D_l
            assert np.all(s * (1 - s) <= 0.25)
        # autograd of l = g_L . h_L with respect to h_0
        t = torch.tensor(x0, requires_grad=True)
        h_t = t
        for W in Ws:
            z_t = torch.sigmoid(torch.tensor(W) @ h_t)
            h_t = h_t + z_t if skip else z_t
        (torch.tensor(gL) @ h_t).backward()
        if not skip:
            product = A[0] @ A[1] @ A[2] @ A[3] @ gL
            assert np.allclose(product, t.grad.numpy())
            bound = np.prod([np.linalg.norm(W, 2) / 4 for W in Ws]) * np.linalg.norm(gL)
            assert np.linalg.norm(product) <= bound
        else:
            expansion = np.zeros(d)  # sum over all subsets of layers, in order, identity term first
            for k in range(L + 1):
                for subset in itertools.combinations(range(L), k):
                    term = gL
                    for layer in reversed(subset):
                        term = A[layer] @ term
                    expansion += term
            assert np.allclose(expansion, t.grad.numpy())


# ----------------------------------------------------------------------------- B.3 numbers


def batched_norms(depth, scale, skip, ns):
    """Independent batched recomputation of the notebook's per-layer gradient norms."""
    Ws = scale * ns["BASE_WEIGHTS"][:depth]
    H = [ns["INPUTS"].T]  # (d, samples)
    for W in Ws:
        Z = 1 / (1 + np.exp(-(W @ H[-1])))
        H.append(H[-1] + Z if skip else Z)
    G = ns["TOP_GRADIENTS"].T
    logs = [np.zeros(G.shape[1])]
    for layer in range(depth, 0, -1):
        S = 1 / (1 + np.exp(-(Ws[layer - 1] @ H[layer - 1])))
        G = (G if skip else 0) + Ws[layer - 1].T @ (G * S * (1 - S))
        logs.append(np.log10(np.linalg.norm(G, axis=0)))
    return 10 ** np.array(logs[::-1]).mean(axis=1)


def full_stack_data():
    """The stack's inputs and top gradients as the notebook draws them outside grading (16 each;
    grading uses fewer), from the same seed and in the same order."""
    rng = np.random.default_rng(5)
    weights = rng.normal(size=(50, 64, 64)) / np.sqrt(64)
    inputs, tops = rng.normal(size=(16, 64)), rng.normal(size=(16, 64))
    return weights, inputs, tops / np.linalg.norm(tops, axis=1, keepdims=True)


def test_numbers_of_the_stack_at_initialization(solution):
    weights, inputs, tops = full_stack_data()
    assert np.array_equal(solution["BASE_WEIGHTS"], weights)
    assert np.array_equal(solution["INPUTS"], inputs[: solution["SAMPLES"]])
    for depth, scale in ((50, 1.0), (7, 0.3)):  # the grading budget's single input
        for skip in (False, True):
            assert np.allclose(solution["gradient_norms"](depth, scale, skip),
                               batched_norms(depth, scale, skip, solution), rtol=1e-9)
    # The numbers the text quotes: the notebook's own function on the full experiment's inputs.
    full = dict(solution, INPUTS=inputs, TOP_GRADIENTS=tops, SAMPLES=16, _norms={})
    norms = types.FunctionType(solution["gradient_norms"].__code__, full)
    for depth, scale in ((50, 1.0), (50, 4.0), (7, 0.3)):
        for skip in (False, True):
            assert np.allclose(norms(depth, scale, skip), batched_norms(depth, scale, skip, full), rtol=1e-9)
    plain1, skip1 = norms(50, 1.0, False), norms(50, 1.0, True)
    plain4, skip4 = norms(50, 4.0, False), norms(50, 4.0, True)
    factor = (plain1[0] / plain1[49]) ** (1 / 49)
    assert round(factor, 2) == 0.23
    assert 1e-32 < plain1[0] < 3e-32 and 1e-16 < plain1[25] < 3e-16
    assert 3e-11 < plain4[0] < 7e-11
    assert round(skip1[0], 1) == 1.2 and round(skip4[0], 1) == 2.4
    assert min(skip1.min(), skip4.min()) > 0.95 and max(skip1.max(), skip4.max()) < 2.45
    assert plain1[49] / plain1[0] > 1e30  # "some 30 orders of magnitude"


# ----------------------------------------------------------------------------- B.3 MNIST


@pytest.fixture(scope="module")
def mnist_runs(solution):
    """Both stacks trained on the real MNIST split of the notebook, or skip."""
    from dlcourse.data import DataUnavailable, load_dataset

    try:
        with grading_mode(False):
            images, labels = load_dataset("mnist", "train")
    except DataUnavailable:
        if os.environ.get("DLCOURSE_MIRROR"):
            raise
        pytest.skip("MNIST is not available here (set DLCOURSE_MIRROR)")
    n_val = len(labels) // 6
    real = {"X_fit": images[:-n_val].flatten(1), "y_fit": labels[:-n_val],
            "X_val": images[-n_val:].flatten(1), "y_val": labels[-n_val:]}
    saved = {k: solution[k] for k in real}
    solution.update(real)
    try:
        with grading_mode(False):
            runs = {skip: solution["train_stack"](skip, steps=1000) for skip in (False, True)}
    finally:
        solution.update(saved)
        solution["_trained_stacks"].clear()
    return runs, real


def test_numbers_quoted_for_real_mnist(solution, mnist_runs):
    runs, real = mnist_runs
    assert (len(real["y_fit"]), len(real["y_val"])) == (50000, 10000)
    plain, skip = runs[False], runs[True]
    assert runs[False]["grad_norms"].shape == (1000, 20)
    assert abs(plain["loss"][:20].mean() - np.log(10)) < 0.02 and abs(plain["loss"][-100:].mean() - np.log(10)) < 0.02
    assert round(100 * plain["val_accuracy"]) == 10
    g = plain["grad_norms"]
    assert 3e-14 < g[0, 0] < 7e-14 and 3e-14 < g[-1, 0] < 7e-14  # first layer: about 5e-14, start and end
    assert 4e-2 < g[0, -1] < 8e-2 and 4e-2 < g[-1, -1] < 8e-2  # top layer: about 6e-2
    assert 0.25 < skip["loss"][-100:].mean() < 0.35 and round(100 * skip["val_accuracy"]) == 93
    assert 30 < skip["loss"][:20].mean() < 50  # "about 39 in the first steps"
    assert skip["loss"][60:100].mean() < 1.5  # corrected "in the first few dozen steps"
    assert np.all((skip["grad_norms"][-1] > 0.03) & (skip["grad_norms"][-1] < 0.3))  # around 1e-1 at the end
    assert skip["grad_norms"][-100:].mean() < skip["grad_norms"][:20].mean()  # they decrease with the loss


def test_plain_stack_forgets_its_input_and_skip_units_grow(solution, mnist_runs):
    _, real = mnist_runs
    torch.manual_seed(0)
    images = real["X_fit"][:256]
    for skip in (False, True):
        torch.manual_seed(0)
        net = solution["SigmoidStack"](20, 64, skip)
        with torch.no_grad():
            h = net.embed(images)
            spread_in = h.std(dim=0).mean().item()
            for layer in net.layers:
                z = torch.sigmoid(layer(h))
                h = h + z if skip else z
            spread_out = h.std(dim=0).mean().item()
        if not skip:
            assert spread_out / spread_in < 1e-6  # the top layers see the same input for every image (float32)
        else:
            assert 7 < h.mean().item() < 13  # "after 20 blocks the units are around 10"


# ----------------------------------------------------------------------------- the slider views


def test_activation_view_redraws_with_new_settings(solution):
    view = solution["activation_view"]
    assert view.figure is not None and view.message is None
    assert view.settings == {"beta": pytest.approx(1.0), "alpha": pytest.approx(1.0)}
    start = time.perf_counter()
    view.controls["beta"].value = 10 ** 0.5
    print(f"activation view: one change redrawn in {time.perf_counter() - start:.3f} s")
    view.controls["alpha"].value = 2.0
    left, right = view.figure.axes
    xs = solution["ACTIVATION_XS"]
    lines = {line.get_label(): line for line in left.get_lines()}
    b = view.settings["beta"]
    softplus_line = next(line for label, line in lines.items() if label.startswith("Softplus"))
    assert np.allclose(softplus_line.get_ydata(), np.logaddexp(0, b * xs) / b)
    elu_line = next(line for line in right.get_lines() if line.get_label().startswith("ELU"))
    assert np.allclose(elu_line.get_ydata(), np.where(xs > 0, 1.0, 2.0 * np.exp(np.minimum(xs, 0))))
    text = view.figure.texts[-1].get_text()
    assert "beta = 3.16" in text and "alpha = 2.00" in text
    assert f"{np.log(2) / b:.3f}" not in text and "log(2)" not in text  # the answer of A.5 is not shown


def test_stack_view_redraws_with_new_settings(solution):
    view = solution["stack_view"]
    assert view.figure is not None and view.message is None
    assert view.settings == {"depth": 20, "scale": pytest.approx(1.0)}
    start = time.perf_counter()
    view.controls["depth"].value = 35
    print(f"stack view: one change (depth 35, new) redrawn in {time.perf_counter() - start:.3f} s")
    view.controls["scale"].value = 10 ** 0.5
    (ax,) = view.figure.axes
    plain, skip = ax.get_lines()[:2]
    assert len(plain.get_xdata()) == 36 and len(skip.get_xdata()) == 36
    assert np.allclose(plain.get_ydata(), batched_norms(35, 10 ** 0.5, False, solution), rtol=1e-9)
    assert np.allclose(skip.get_ydata(), batched_norms(35, 10 ** 0.5, True, solution), rtol=1e-9)
    assert "Depth 35, weight scale 3.2" in view.figure.texts[-1].get_text()
    assert ax.get_yscale() == "log"


def test_slider_views_in_the_release():
    """Both views use the student's functions: until they are written, each asks for them."""
    from nbtools import notebook_namespace

    release = notebook_namespace(notebook(SHEET, "notebooks"), grading=True)
    view = release["activation_view"]
    assert view.figure is None and "is not implemented yet" in view.message
    view.controls["alpha"].value = 2.0
    assert view.figure is None and "is not implemented yet" in view.message
    view = release["stack_view"]
    assert view.figure is None and "is not implemented yet" in view.message
    view.controls["depth"].value = 5
    assert view.figure is None and "is not implemented yet" in view.message


def test_release_keeps_the_function_contract(solution):
    release = nbformat.read(notebook(SHEET, "notebooks"), as_version=4)
    source = "\n".join(c.source for c in release.cells if c.cell_type == "code")
    for name in ("relu", "relu_grad", "relu_derivative_expression", "softplus", "softplus_grad",
                 "softplus_derivative_expression", "elu", "elu_grad", "elu_derivative_expression",
                 "logsigmoid", "logsigmoid_grad", "logsigmoid_derivative_expression", "softplus_relu_gap",
                 "one_sided_limits", "smoothness_class", "layer_backward", "skip_layer_backward"):
        signature = f"def {name}{inspect.signature(solution[name])}:"
        assert signature in source, signature
