"""Sheet 01: every formula and number stated in the notebook, checked by code, and its
slider view, tested headless."""

import ast

import numpy as np
import pytest
import sympy as sp
import torch
from nbtools import bound_names, is_test_cell, notebook

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
    assert abs(high - 1000) < 5 and abs(low - 0.4) < 0.01 and abs(2 / high - 2e-3) < 1e-5
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
    sweep, gd = solution["step_size_sweep"], solution["gradient_descent"]
    lrs, grad, start = solution["STEP_SIZES"], solution["rosenbrock_grad"], solution["START"]
    final = sweep(gd)[:, -1]
    assert np.all(~np.isfinite(final[:2])) and np.all(np.isfinite(final[2:]))  # two diverge
    assert np.argmin(final) == 2 and np.isclose(lrs[2], 2.2e-3, rtol=0.05)
    assert abs(final[2] - 0.03) < 0.005 and abs(final[3] - 0.24) < 0.01 and abs(final[-1] - 0.97) < 0.01
    assert np.allclose(np.abs(grad(start)), [351, 350]) and abs(np.linalg.norm(grad(start)) - 500) < 10
    first_moves = [np.linalg.norm(lr * grad(start)) for lr in lrs[:2]]
    assert 2 < min(first_moves) and max(first_moves) < 5  # "by 2 to 5 units"
    with np.errstate(all="ignore"):  # the two largest step sizes overflow
        paths = [gd(grad, start, lr, 30) for lr in lrs]
        height = [path[:, 1] - path[:, 0] ** 2 for path in paths]  # above the valley floor y = x^2
    for path in paths[:2]:  # "onto a wall where the gradient is even larger"
        assert np.linalg.norm(grad(path[1])) > np.linalg.norm(grad(start))
    assert np.all(np.diff(np.sign(height[2])) != 0)  # 2.2e-3 zig-zags across the valley every step
    for i in (4, 5, 6):  # 4.6e-4 ... 1e-4 slide down the wall within 30 steps ...
        assert np.isclose(lrs[i], [4.6e-4, 2.2e-4, 1e-4][i - 4], rtol=0.05) and height[i][-1] < 0.1
        assert abs(final[i] - 0.3) < 0.05  # ... and level off at about 0.3
    assert all(h[-1] > 0.5 for h in height[7:])  # the three smallest have not reached the floor
    assert np.isclose(lrs[0] / lrs[-1], 1000)  # three decades


def test_adam_statements_in_b3(solution):
    sweep, adam, grad, start = solution["step_size_sweep"], solution["adam"], solution["rosenbrock_grad"], solution["START"]
    corrected, uncorrected = sweep(adam)[:, -1], sweep(adam, bias_correction=False)[:, -1]
    assert np.all(np.isfinite(corrected)) and np.all(np.diff(corrected) > 0)  # ordered by lr
    assert abs(corrected[0] - 0.55) < 0.01 and abs(uncorrected[0] - 0.08) < 0.01
    assert np.sqrt(1.25) > 30 * solution["STEP_SIZES"][0]  # too far for 30 steps of size eta
    assert solution["squared_distances"](adam(grad, start, 0.1, 30))[-1] < 0.03
    lengths = [np.sum(np.linalg.norm(np.diff(adam(grad, start, 1e-2, 30, bias_correction=c), axis=0), axis=1))
               for c in (True, False)]
    assert abs(lengths[1] / lengths[0] - 3.4) < 0.05  # "about 3.4 times as long"


def uncorrected_over_corrected(t, beta1=0.9, beta2=0.999):
    """Ratio of the uncorrected to the corrected Adam step at step t for a constant gradient
    (epsilon neglected): m_t = (1 - beta1^t) g and v_t = (1 - beta2^t) g^2."""
    return (1 - beta1**t) / np.sqrt(1 - beta2**t)


def test_constant_gradient_step_ratio_quoted_in_b4():
    t = np.arange(1, 5001)
    ratio = uncorrected_over_corrected(t)
    assert abs(ratio[0] - 3.16) < 0.01  # about 3.2 at t = 1
    assert t[np.argmax(ratio)] == 12 and abs(ratio.max() - 6.6) < 0.05  # about 6.6 near t = 12
    assert ratio[29] > 5  # still above 5 at t = 30
    below_two = t[(ratio < 2) & (t > 12)][0]
    assert 280 <= below_two <= 300  # "below 2 only after about 290 steps"
    assert abs(ratio[999] - 1.26) < 0.005
    assert np.isclose(uncorrected_over_corrected(1, beta2=0.9999), 10)
    assert 0.9**43 > 0.01 > 0.9**44  # 1 - 0.9^t above 0.99 after 44 steps
    assert abs(np.log(0.01) / np.log(0.999) - 4600) < 10  # ... 1 - 0.999^t after about 4600


def answer(grade_id):
    import nbformat
    from nbtools import nbgrader_meta

    nb = nbformat.read(notebook(SHEET), as_version=4)
    return " ".join(next(c.source for c in nb.cells if nbgrader_meta(c).get("grade_id") == grade_id).split())


def test_answers_quote_the_numbers_checked_above():
    """The reference answers state what the tests above verify, and no longer what was wrong
    (the uncorrected steps "about three times longer", an effect that "fades")."""
    quoted = {
        "b2_reflection": ["4.6 \\cdot 10^{-3}$", "by 2 to 5 units", "about 0.3", "three smallest have not even reached the floor", "0.97", "0.24"],
        "b3_reflection": ["about 0.55", "about 0.08", "3.4 times as long", "3.2 times", "6.6 times near $t = 12$", "above 5 times at $t = 30$", "three decades", "0.03 in 30"],
        "b4_problem_at_t1": ["3.2 times longer", "about 6.6 near $t = 12$", "above 5 at $t = 30$", "about 290", "1.26 at $t = 1000$", "is already 10"],
        "b4_bias_correction": ["after 44 steps", "about 4600 steps"],
    }
    for grade_id, phrases in quoted.items():
        text = answer(grade_id)
        missing = [phrase for phrase in phrases if phrase not in text]
        assert not missing, f"{grade_id} no longer says {missing}: update the test with the text"
    for wrong in ("about three times longer", "four decades", "The effect fades", "later steps are unchanged"):
        assert all(wrong not in answer(g) for g in quoted), wrong


def test_the_figure_of_b4_shows_the_step_ratio(solution):
    relative = solution["relative_steps"]  # computed by the notebook with its adam
    t = np.arange(1, len(relative[False]) + 1)
    assert np.allclose(relative[False], uncorrected_over_corrected(t), rtol=1e-4)
    assert np.allclose(relative[True], 1.0, rtol=1e-4)


def test_first_adam_step_formula_agrees_with_adam(solution):
    g = np.array([2.0, -0.01, 300.0])
    for corrected in (False, True):
        by_formula = solution["first_adam_step"](g, 0.1, bias_correction=corrected)
        by_adam = np.diff(solution["adam"](lambda x: g, np.zeros(3), 0.1, 1, bias_correction=corrected), axis=0)[0]
        assert np.allclose(by_formula, by_adam, rtol=1e-12)
    first = solution["first_adam_step"](g[[0, 2]], 1e-2, bias_correction=False)
    assert np.allclose(np.abs(first), 1e-2 * 0.1 / np.sqrt(0.001), rtol=1e-4)  # 3.16 eta


# ----------------------------------------------------------------------------- the sweep figures


def log_fraction(ax, values):
    """The fraction of the height of a log-scale axis that `values` span."""
    low, high = ax.get_ylim()
    return (np.log(np.max(values)) - np.log(np.min(values))) / (np.log(high) - np.log(low))


def test_sweep_figure_fits_its_data(solution):
    import matplotlib.pyplot as plt

    curves = solution["step_size_sweep"](solution["gradient_descent"])
    fig = solution["plot_sweep"](curves, title="test")
    ax = fig.axes[0]
    low, high = ax.get_ylim()
    stable = curves[2:]
    assert ax.get_yscale() == "log" and 0 < low < stable.min() and stable.max() < high
    assert log_fraction(ax, stable) > 0.4  # the stable runs are not squashed against an edge
    crosses = [line for line in ax.get_lines() if line.get_marker() == "x"]
    assert len(crosses) == 2 and all(np.isclose(line.get_ydata()[0], high) for line in crosses)
    legend = ax.get_legend().get_window_extent(fig.canvas.get_renderer())
    assert legend.x0 >= ax.get_window_extent().x1  # the legend is beside the curves, not on them
    assert "diverged" in ax.get_legend().get_texts()[0].get_text()
    labels = [t.get_window_extent() for t in ax.get_yticklabels() if t.get_text() and low <= t.get_position()[1] <= high]
    assert len(labels) >= 3 and not any(a.overlaps(b) for a, b in zip(labels, labels[1:]))
    plt.close(fig)


def test_adam_sweep_panels_share_limits_that_fit_both(solution):
    both = np.concatenate([solution["step_size_sweep"](solution["adam"], bias_correction=c) for c in (False, True)])
    low, high = solution["sweep_limits"](both)
    assert 0 < low < both.min() and both.max() < high and np.log(high / low) < 2.5 * np.log(both.max() / both.min())


# ----------------------------------------------------------------------------- the test cells


def graded_cells():
    import nbformat
    nb = nbformat.read(notebook(SHEET), as_version=4)
    return [c for c in nb.cells if c.cell_type == "code" and is_test_cell(c)], [
        c for c in nb.cells if c.cell_type == "code" and not is_test_cell(c)]


def test_every_assert_in_every_test_cell_has_a_message():
    tests, _ = graded_cells()
    bare = [(cell.id, ast.unparse(node.test)) for cell in tests for node in ast.walk(ast.parse(cell.source))
            if isinstance(node, ast.Assert) and node.msg is None]
    assert not bare, f"asserts without a message a student can act on: {bare}"


def test_test_cells_stand_alone():
    """No test cell uses a name that only another test cell defines, and the private helpers of
    a hidden test (names with a leading underscore) are deleted before the cell ends."""
    tests, others = graded_cells()
    given = set().union(*(bound_names(ast.parse(c.source)) for c in others)) | set(dir(__builtins__))
    defined = {cell.id: bound_names(ast.parse(cell.source)) for cell in tests}
    for cell in tests:
        tree = ast.parse(cell.source)
        used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        elsewhere = set().union(*(names for other, names in defined.items() if other != cell.id))
        borrowed = (used & elsewhere) - given - defined[cell.id]
        assert not borrowed, f"{cell.id} uses {sorted(borrowed)} from another test cell"
        deleted = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Del)}
        private = {name for name in defined[cell.id] if name.startswith("_") and name != "_"}
        assert private <= deleted, f"{cell.id} leaves {sorted(private - deleted)} behind"


def test_test_cells_give_back_the_functions_they_replace():
    """A test that grades a function on its own puts correct references in place of the
    student's helpers (sigmoid, softmax, ...) while it runs; afterwards the student's own
    functions are back and no private helper is left."""
    import matplotlib.pyplot as plt
    import nbformat
    from nbtools import grading_mode

    nb = nbformat.read(notebook(SHEET), as_version=4)
    namespace, given = {"__name__": "__notebook__"}, set()
    with grading_mode(True):
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            before = {name: namespace[name] for name in given}
            exec(compile(cell.source, cell.id, "exec"), namespace)
            plt.close("all")
            if not is_test_cell(cell):
                given |= {name for name in bound_names(ast.parse(cell.source)) if callable(namespace.get(name))}
            else:
                changed = [name for name, value in before.items() if namespace.get(name) is not value]
                assert not changed, f"{cell.id} leaves {changed} replaced"
                left = [name for name in namespace if name.startswith("_") and name != "_" and not name.startswith("__")]
                assert not left, f"{cell.id} leaves {left} behind"


# ----------------------------------------------------------------------------- the slider view


def test_slider_view_redraws_with_new_settings(solution):
    view = solution["explorer"]
    controls = view.controls

    def caption():
        return view.figure.texts[-1].get_text()

    def as_slider(name):  # the value as the slider's readout shows it
        return format(controls[name].value, controls[name].readout_format)

    assert view.figure is not None and view.message is None
    controls["lr"].value = 1e-3
    assert view.settings["lr"] == pytest.approx(1e-3)
    for name in ("lr", "beta1", "beta2"):  # caption and readouts use the same number format
        assert f"{name if name != 'lr' else 'learning rate'} {as_slider(name)}" in caption()
    controls["optimizer"].value = "gradient descent"
    assert controls["beta1"].disabled and controls["beta2"].disabled  # no betas in gradient descent
    assert not any(controls[name].disabled for name in ("optimizer", "lr", "steps"))
    controls["steps"].value = 50
    left, right = solution["PATH_AXES"], solution["DISTANCE_AXES"]
    assert left.get_title() == "gradient descent" and "beta" not in caption()
    assert len(left.get_lines()[0].get_xdata()) == 51  # the path: start plus 50 steps
    assert f"after 50 steps: {solution['squared_distances'](solution['gradient_descent'](solution['rosenbrock_grad'], solution['START'], 1e-3, 50))[-1]:.1e}" == right.get_title()
    assert right.get_title().split(": ")[1] in caption()  # the same number in title and caption
    controls["lr"].value = 1e-2  # diverges: the view shows how, and says so everywhere
    path = left.get_lines()[0].get_xydata()
    assert len(path) == 2 and np.allclose(path[0], solution["START"]) and np.abs(path[1]).max() > 2
    assert left.get_title() == "gradient descent: the path leaves the map at step 1"
    assert right.get_title() == "diverged at step 3 of 50" and "diverged at step 3 of 50" in caption()
    assert right.get_xlim() == (0, 3) and len(right.get_lines()[0].get_xdata()) == 4
    assert right.get_lines()[1].get_xdata()[0] == 3  # the cross
    controls["optimizer"].value = "Adam"
    assert not controls["beta1"].disabled and not controls["beta2"].disabled
    controls["beta1"].value = 0.5
    assert "beta1 0.50" in caption() and view.settings["beta1"] == 0.5
    low, high = right.get_ylim()
    distances = right.get_lines()[0].get_ydata()
    assert low <= distances.min() and distances.max() <= high and high / low <= 1000 * distances.max() / distances.min()


def test_slider_view_is_cheap_to_redraw(solution):
    """A change only updates one figure (no new figure, no new run for the steps slider);
    prints the time of one change, with the PNG the notebook sends to the browser."""
    import io
    import time

    view, cache = solution["explorer"], solution["rosenbrock_path"]
    figure = view.figure
    runs = cache.cache_info().misses
    view.controls["steps"].value = 1000
    view.controls["steps"].value = 200
    assert view.figure is figure and cache.cache_info().misses == runs
    for name, value in (("lr", 10**-2.5), ("steps", 3000), ("lr", 10**-2.5 / 10**0.125)):
        start, cpu = time.perf_counter(), time.process_time()
        view.controls[name].value = value
        view.figure.savefig(io.BytesIO(), format="png", bbox_inches="tight")  # as JupyterLab shows it
        print(f"slider view: {name} -> {value:.3g} redrawn and rendered in {time.perf_counter() - start:.3f} s "
              f"({time.process_time() - cpu:.3f} s of CPU; other processes share the machine)")
    assert view.figure is figure


def test_slider_view_in_the_release_asks_for_the_missing_code():
    from nbtools import notebook_namespace

    release = notebook_namespace(notebook(SHEET, "notebooks"), grading=True)
    view = release["explorer"]
    assert view.figure is None and "is not implemented yet" in view.message
    view.controls["lr"].value = 1e-3
    assert "is not implemented yet" in view.message


def test_untouched_release_draws_no_empty_figures():
    """Where a figure needs a function the student has not written yet, the cell shows only
    the note that names the function, not an empty figure under it."""
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt
    import nbformat
    from nbtools import grading_mode

    nb = nbformat.read(notebook(SHEET, "notebooks"), as_version=4)
    namespace = {"__name__": "__notebook__"}
    with grading_mode(True):
        for cell in nb.cells:
            if cell.cell_type == "code" and not is_test_cell(cell):
                exec(compile(cell.source, cell.id, "exec"), namespace)
                left_open = plt.get_fignums()
                plt.close("all")
                assert not left_open, f"{cell.id} leaves an empty figure under its note"
