"""Sheet 05: how the test cells grade (issue 16). Forbidden shortcuts cannot earn points
(autograd in B.1 and B.2, sympy's differentiation in the formulas), sympy's own internal
differentiation does not cost a correct answer its points, swapped-in reference functions are put
back whatever happens, visible and hidden tests use the same tolerances, messages name the
failing input, and the release shows neither an answer nor an autograd solution of B.1."""

import ast
import contextlib
import os
import re
import sys
import unittest.mock
import warnings

import nbformat
import numpy as np
import pytest
import sympy as sp
import torch
from nbtools import is_test_cell, nbgrader_meta, notebook

import dlcourse

SHEET = "05_activations_and_skip_connections"


def cell_source(grade_id, folder="solutions"):
    nb = nbformat.read(notebook(SHEET, folder), as_version=4)
    (cell,) = [c for c in nb.cells if nbgrader_meta(c).get("grade_id") == grade_id]
    return cell.source


def sigmoid(v):
    v = np.asarray(v, dtype=float)
    small = np.exp(-np.abs(v))
    return np.where(v >= 0, 1.0 / (1.0 + small), small / (1.0 + small))


def namespace(code=""):
    """The names a test cell finds in the notebook (its first cell's imports, the given sigmoid),
    and the student's functions that ``code`` defines."""
    ns = {"np": np, "sp": sp, "torch": torch, "warnings": warnings, "dlcourse": dlcourse, "contextlib": contextlib,
          "os": os, "sys": sys, "unittest": unittest, "sigmoid": sigmoid, "__name__": "__notebook__"}
    exec(code, ns)
    return ns


def run_cell(grade_id, ns):
    exec(compile(cell_source(grade_id), grade_id, "exec"), ns)


# ----------------------------------------------------------------------------- stand-ins put back

WRONG_SUBMISSION = """
def relu(v):
    return np.zeros(3)


def relu_grad(v):
    return np.zeros(3)


def softplus(v, beta=1.0):
    return np.zeros(3)


def softplus_grad(v, beta=1.0):
    return np.zeros(3)


def elu(v, alpha=1.0):
    return np.zeros(3)


def elu_grad(v, alpha=1.0):
    return np.zeros(3)


def logsigmoid(v):
    return np.zeros(3)


def logsigmoid_grad(v):
    raise ValueError("not an AssertionError")


def softplus_relu_gap(beta):
    return 1.0, 2.0


def layer_backward(W, x, z_hat):
    return np.zeros(3), np.zeros((3, 3))


def skip_layer_backward(W, x, y_hat):
    return np.ones(3), np.ones((3, 3))
"""
STAND_IN_CELLS = {
    "test_a1_relu_grad": ("relu",),
    "test_a2_softplus_grad": ("softplus",),
    "test_a3_elu_grad": ("elu",),
    "test_a4_logsigmoid": ("softplus",),
    "test_a4_logsigmoid_grad": ("softplus", "softplus_grad", "logsigmoid"),
    "test_a5_softplus_relu_gap": ("relu", "softplus"),
    "test_b2_skip_layer_backward_dx": ("layer_backward",),
    "test_b2_skip_layer_backward_dW": ("layer_backward",),
}


def test_every_test_cell_that_swaps_functions_declares_them_here():
    nb = nbformat.read(notebook(SHEET), as_version=4)
    swapping = {nbgrader_meta(c)["grade_id"] for c in nb.cells if is_test_cell(c) and "globals().update" in c.source}
    assert swapping == set(STAND_IN_CELLS)


@pytest.mark.parametrize("grade_id", sorted(STAND_IN_CELLS))
def test_a_failing_submission_gets_its_own_functions_back(grade_id):
    """The hidden part swaps in correct versions of other tasks' functions; when the student's
    function fails (an assert, or an error of its own), the student's functions are back in
    the namespace afterwards, so that later cells (and the feedback) show the student's results."""
    ns = namespace(WRONG_SUBMISSION)
    own = {name: ns[name] for name in STAND_IN_CELLS[grade_id]}
    with pytest.raises((AssertionError, ValueError)):
        run_cell(grade_id, ns)
    for name, function in own.items():
        assert ns[name] is function, f"{grade_id} left the reference {name} in the notebook"


def test_the_release_still_runs_the_visible_part_of_such_a_cell():
    """In the release the visible part stands alone: no stand-ins, and nothing to put back."""
    source = cell_source("test_a4_logsigmoid", "notebooks")
    assert "_yours = {}" in source and "globals().update(_yours)" in source and "_softplus" not in source
    ns = namespace(WRONG_SUBMISSION)
    own = ns["softplus"]
    with pytest.raises(AssertionError, match="logsigmoid must return an array"):
        exec(source, ns)
    assert ns["softplus"] is own


# ----------------------------------------------------------------------------- autograd is switched off

LAYER_BY_AUTOGRAD = {
    "backward()": """
def {name}(W, x, g):
    W_t, x_t = torch.tensor(W, requires_grad=True), torch.tensor(x, requires_grad=True)
    (torch.tensor(g) @ (torch.sigmoid(W_t @ x_t) + SKIP)).backward()
    return x_t.grad.numpy(), W_t.grad.numpy()
""",
    "enable_grad and torch.autograd.grad": """
def {name}(W, x, g):
    with torch.enable_grad():
        W_t, x_t = torch.tensor(W, requires_grad=True), torch.tensor(x, requires_grad=True)
        dx, dW = torch.autograd.grad(torch.tensor(g) @ (torch.sigmoid(W_t @ x_t) + SKIP), (x_t, W_t))
    return dx.numpy(), dW.numpy()
""",
    "torch.func.vjp": """
def {name}(W, x, g):
    _, pullback = torch.func.vjp(lambda V, x_t: torch.sigmoid(V @ x_t) + SKIP, torch.tensor(W), torch.tensor(x))
    dW, dx = pullback(torch.tensor(g))
    return dx.numpy(), dW.numpy()
""",
    "torch.autograd.functional.jacobian": """
def {name}(W, x, g):
    g_t = torch.tensor(g)
    dx = torch.autograd.functional.jacobian(lambda x_t: g_t @ (torch.sigmoid(torch.tensor(W) @ x_t) + SKIP), torch.tensor(x))
    dW = torch.autograd.functional.jacobian(lambda V: g_t @ (torch.sigmoid(V @ torch.tensor(x)) + SKIP.detach()), torch.tensor(W))
    return dx.numpy(), dW.numpy()
""",
    "forward mode (torch.func.jacfwd)": """
def {name}(W, x, g):
    g_t = torch.tensor(g)
    dx = torch.func.jacfwd(lambda x_t: g_t @ (torch.sigmoid(torch.tensor(W) @ x_t) + SKIP))(torch.tensor(x))
    dW = torch.func.jacfwd(lambda V: g_t @ torch.sigmoid(V @ torch.tensor(x)))(torch.tensor(W))
    return dx.numpy(), dW.numpy()
""",
}
B_CELLS = {
    "test_b1_layer_backward_dx": ("layer_backward", "0"),
    "test_b1_layer_backward_dW": ("layer_backward", "0"),
    "test_b2_skip_layer_backward_dx": ("skip_layer_backward", "x_t"),
    "test_b2_skip_layer_backward_dW": ("skip_layer_backward", "x_t"),
}


@pytest.mark.parametrize("grade_id", sorted(B_CELLS))
@pytest.mark.parametrize("how", sorted(LAYER_BY_AUTOGRAD))
def test_autograd_cannot_earn_the_points_of_b1_and_b2(grade_id, how):
    name, skip = B_CELLS[grade_id]
    code = LAYER_BY_AUTOGRAD[how].format(name=name).replace("SKIP.detach()", "torch.tensor(x)" if skip != "0" else "0")
    code = code.replace("SKIP", skip)
    ns = namespace("def layer_backward(W, x, z_hat):\n    raise NotImplementedError\n\n" + code)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # the shortcut does compute the right gradients where autograd is on
        dx, dW = ns[name](np.eye(3), np.ones(3), np.ones(3))
        assert np.shape(dx) == (3,) and np.shape(dW) == (3, 3)
        with pytest.raises(AssertionError, match="autograd is switched off"):
            run_cell(grade_id, ns)
    # and autograd works again afterwards
    assert torch.is_grad_enabled()
    t = torch.tensor(2.0, requires_grad=True)
    (t**2).backward()
    assert t.grad.item() == 4.0
    assert torch.autograd.grad((t**3), t)[0].item() == 12.0


def test_the_b_tests_written_in_values_are_autograds():
    """The written-in gradients are autograd's; B.2 uses another case than B.1, so that equal
    dW matrices do not give away part of B.2's written answer."""
    for grade_id, (_, skip) in B_CELLS.items():
        tree = ast.parse(cell_source(grade_id))
        inputs = {t.id: np.array(ast.literal_eval(node.value.args[0])) for node in tree.body if isinstance(node, ast.Assign)
                  for t in node.targets if isinstance(t, ast.Name) and t.id == "W"}
        W = inputs["W"] if inputs else None
        if W is None:  # inside the try of a cell with stand-ins
            body = next(node for node in tree.body if isinstance(node, ast.Try)).body
            W = next(np.array(ast.literal_eval(n.value.args[0])) for n in body if isinstance(n, ast.Assign)
                     and isinstance(n.targets[0], ast.Name) and n.targets[0].id == "W")
            pair = next(n for n in body if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Tuple))
        else:
            pair = next(n for n in tree.body if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Tuple)
                        and [e.id for e in n.targets[0].elts][0] == "x")
        x, g = (np.array(ast.literal_eval(e.args[0])) for e in pair.value.elts)
        assert (skip != "0") == (W[0, 0] == 0.7), grade_id  # the B.2 case differs from B.1's
        W_t, x_t = torch.tensor(W, requires_grad=True), torch.tensor(x, requires_grad=True)
        (torch.tensor(g) @ (torch.sigmoid(W_t @ x_t) + (x_t if skip != "0" else 0))).backward()
        tree = ast.parse(cell_source(grade_id))
        values = {t.id: ast.literal_eval(node.value.args[0]) for node in ast.walk(tree) if isinstance(node, ast.Assign)
                  for t in node.targets if isinstance(t, ast.Name) and t.id in ("dx_expected", "dW_expected")}
        expected = x_t.grad.numpy() if "dx" in grade_id else W_t.grad.numpy()
        (written,) = values.values()
        # to the last digits: autograd's own rounding differs in the last bit between processors
        assert np.allclose(np.array(written), expected, rtol=1e-12, atol=0), grade_id


def test_finite_differences_do_not_pass_b1():
    ns = namespace("""
def layer_backward(W, x, z_hat):
    return (dlcourse.numerical_gradient(lambda v: z_hat @ sigmoid(W @ v), x),
            dlcourse.numerical_gradient(lambda V: z_hat @ sigmoid(V @ x), W))
""")
    for grade_id in ("test_b1_layer_backward_dx", "test_b1_layer_backward_dW"):
        with pytest.raises(AssertionError, match="agrees with finite differences only roughly"):
            exec(cell_source(grade_id, "notebooks"), ns)  # the visible part already says so


# ----------------------------------------------------------------------------- sympy

x_ = sp.Symbol("x", real=True)


@pytest.mark.parametrize("grade_id, name, form", [
    ("test_a3_elu_derivative_expression", "elu_derivative_expression",
     "def elu_derivative_expression(x, alpha):\n"
     "    note = sp.Eq(alpha, 1)  # continuous at 0 only then\n"
     "    assert note != sp.false\n"
     "    return sp.Piecewise((alpha * sp.exp(x), x < 0), (1, True))"),
    ("test_a3_elu_derivative_expression", "elu_derivative_expression",
     "def elu_derivative_expression(x, alpha):\n"
     "    return sp.simplify(sp.Piecewise((alpha * sp.exp(x) + 0 * sp.Eq(alpha, 1).lhs, x < 0), (1, True)))"),
    ("test_a2_softplus_derivative_expression", "softplus_derivative_expression",
     "def softplus_derivative_expression(x, beta):\n    return sp.simplify(1 - 1 / (1 + sp.exp(beta * x)))"),
    ("test_a4_logsigmoid_derivative_expression", "logsigmoid_derivative_expression",
     "def logsigmoid_derivative_expression(x):\n    return sp.factor(sp.simplify(sp.exp(-x) / (1 + sp.exp(-x))))"),
    ("test_a1_relu_derivative_expression", "relu_derivative_expression",
     "def relu_derivative_expression(x):\n    return sp.piecewise_fold(sp.Piecewise((0, x < 0), (1, True)))"),
])
def test_sympys_own_differentiation_does_not_cost_a_correct_answer(grade_id, name, form):
    """sympy differentiates inside Eq, simplify and its sign deductions; that is not the
    student's differentiation and must not fail a correct formula."""
    sp.core.cache.clear_cache()  # so that sympy really differentiates inside (nothing cached)
    run_cell(grade_id, namespace(form))


@pytest.mark.parametrize("grade_id, form", [
    ("test_a1_relu_derivative_expression", "def relu_derivative_expression(x):\n    return sp.diff(sp.Max(x, 0), x)"),
    ("test_a2_softplus_derivative_expression",
     "def softplus_derivative_expression(x, beta):\n    return (sp.log(1 + sp.exp(beta * x)) / beta).diff(x)"),
    ("test_a3_elu_derivative_expression",
     "def elu_derivative_expression(x, alpha):\n"
     "    return sp.Matrix([sp.Piecewise((alpha * (sp.exp(x) - 1), x <= 0), (x, True))]).diff(x)[0]"),
    ("test_a4_logsigmoid_derivative_expression",
     "def logsigmoid_derivative_expression(x):\n    return sp.Derivative(sp.log(1 / (1 + sp.exp(-x))), x).doit()"),
    ("test_a4_logsigmoid_derivative_expression",
     "def logsigmoid_derivative_expression(x):\n    return sp.sympify('diff(log(1 / (1 + exp(-x))), x)', locals={'x': x})"),
    ("test_a4_logsigmoid_derivative_expression",
     "def logsigmoid_derivative_expression(x):\n    return sp.simplify(sp.diff(sp.log(1 / (1 + sp.exp(-x))), x))"),
])
def test_the_students_own_differentiation_is_refused(grade_id, form):
    with pytest.raises(AssertionError, match="switched off for your code"):
        run_cell(grade_id, namespace(form))
    assert sp.diff(x_**2, x_) == 2 * x_  # and it is back on afterwards
    assert sp.Derivative(x_**3, x_).doit() == 3 * x_**2


def test_an_unevaluated_derivative_is_not_an_answer():
    made_before = sp.Derivative(sp.Function("f")(x_), x_)  # made outside the test, where sympy may differentiate
    ns = namespace()
    ns["relu_derivative_expression"] = lambda v: made_before.subs(x_, v)
    with pytest.raises(AssertionError, match="not an unevaluated sp.Derivative"):
        run_cell("test_a1_relu_derivative_expression", ns)


# ----------------------------------------------------------------------------- tolerances and messages

FUNCTION_CELLS = ("test_a1_relu", "test_a2_softplus", "test_a3_elu", "test_a4_logsigmoid")
SLOPE_CELLS = ("test_a1_relu_grad", "test_a2_softplus_grad", "test_a3_elu_grad", "test_a4_logsigmoid_grad")


@pytest.mark.parametrize("grade_id", FUNCTION_CELLS + SLOPE_CELLS)
def test_visible_and_hidden_checks_use_the_tolerance_the_task_states(grade_id):
    source = cell_source(grade_id)
    expected = "rtol, atol = 1e-9, 1e-300" if grade_id in FUNCTION_CELLS else "rtol, atol = 1e-8, 1e-14"
    assert source.count("rtol, atol = ") == 1 and expected in source
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") in ("isclose", "allclose"):
            keywords = {k.arg: ast.unparse(k.value) for k in node.keywords}
            assert keywords == {"rtol": "rtol", "atol": "atol"}, ast.unparse(node)
    text = nbformat.read(notebook(SHEET), as_version=4).cells[2].source  # Part A's rules
    assert "10^{-9}" in text and "10^{-8}" in text and "10^{-14}" in text


def test_the_stated_tolerances_hold_for_pytorchs_own_algorithms():
    """Rule 4's bounds, worked out in the test cells' comments, checked: PyTorch's Softplus
    (x above beta x = 20) and the cancelling forms of the derivatives."""
    xs = np.concatenate([np.linspace(-1000, 1000, 20001), np.linspace(-40, 40, 80001)])
    for beta in (0.1, 1.0, 2.5, 10.0):
        u = beta * xs
        exact = np.logaddexp(0.0, u) / beta
        pytorch = torch.nn.functional.softplus(torch.tensor(xs), beta=beta).numpy()
        assert np.allclose(pytorch, exact, rtol=1e-9, atol=1e-300)
        assert not np.allclose(pytorch, exact, rtol=1e-11, atol=1e-300)  # the bound is needed
        t = torch.tensor(xs, requires_grad=True)
        torch.nn.functional.softplus(t, beta=beta).sum().backward()
        slope = np.exp(-np.logaddexp(0.0, -u))
        assert np.allclose(t.grad.numpy(), slope, rtol=1e-8, atol=1e-14)
        assert np.allclose((1 + np.tanh(u / 2)) / 2, slope, rtol=1e-8, atol=1e-14)
    for alpha in (0.3, 1.0, 3.0):
        t = torch.tensor(xs, requires_grad=True)
        torch.nn.functional.elu(t, alpha=alpha).sum().backward()
        elu_plus_alpha = np.where(xs > 0, 1.0, alpha * np.expm1(np.minimum(xs, 0.0)) + alpha)
        assert np.allclose(elu_plus_alpha, t.grad.numpy(), rtol=1e-8, atol=1e-14)
        assert not np.allclose(elu_plus_alpha, t.grad.numpy(), rtol=1e-12, atol=1e-300)  # the old test's failure


@pytest.mark.parametrize("grade_id, code, where", [
    ("test_a3_elu_grad",  # right except at x = -30
     "def elu_grad(x, alpha=1.0):\n    x = np.asarray(x, dtype=float)\n"
     "    return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0))) * np.where(x == -30.0, 2.0, 1.0)", "x = -30.0"),
    ("test_a2_softplus",
     "def softplus(x, beta=1.0):\n    x = np.asarray(x, dtype=float)\n"
     "    return np.logaddexp(0.0, beta * x) / beta + np.where(x == 0.5, 1e-6, 0.0)", "x = 0.5"),
    ("test_a4_logsigmoid_grad",
     "def logsigmoid_grad(x):\n    x = np.asarray(x, dtype=float)\n"
     "    return np.exp(-np.logaddexp(0.0, x)) + np.where(x == 30.0, 1e-9, 0.0)", "x = 30.0"),
])
def test_messages_name_the_failing_input(grade_id, code, where):
    ns = namespace(code)
    with pytest.raises(AssertionError, match=re.escape(where)):
        exec(cell_source(grade_id, "notebooks"), ns)


def test_a_number_in_gives_a_number_out_is_checked_visibly_for_every_activation():
    for grade_id in FUNCTION_CELLS + SLOPE_CELLS:
        source = cell_source(grade_id, "notebooks")
        assert "a number in, a number out" in source and "of a list must be" in source, grade_id


def test_the_slope_at_the_kink_is_checked_visibly():
    for grade_id in ("test_a1_relu_grad", "test_a3_elu_grad"):
        assert "at the kink (rule 3)" in cell_source(grade_id, "notebooks")


# ----------------------------------------------------------------------------- the release


def release_code():
    nb = nbformat.read(notebook(SHEET, "notebooks"), as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code" and not is_test_cell(c)]


def test_the_release_does_not_show_the_answer_of_a5():
    for source in release_code():
        assert "log(2)" not in source and "np.log(2) / beta" not in source and "np.log(2.0) / beta" not in source


def test_no_release_cell_backpropagates_through_a_sigmoid_layer_with_autograd():
    """Code that computes dl/dx or dl/dW of sigmoid(W x) by autograd would solve B.1 and B.2."""
    nb = nbformat.read(notebook(SHEET, "notebooks"), as_version=4)
    start = next(i for i, c in enumerate(nb.cells) if "## Part B" in c.source)
    for cell in nb.cells[start:]:
        if cell.cell_type != "code" or is_test_cell(cell):
            continue
        source = cell.source
        if "requires_grad" in source or "retain_grad" in source or "autograd.grad" in source:
            assert "class SigmoidStack" in source, "only the MNIST training uses autograd, on a whole network"
