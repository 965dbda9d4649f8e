"""A test cell that swaps in reference functions (or stand-ins) for the student's puts the
student's back in `finally`: when an assert fails while the swap is active, the rest of the
notebook must not run on the reference (its numbers would show up in the feedback as the
student's).

Generic over the cells of sheets 01-03: a cell swaps when it binds, outside function bodies
(plainly or through `globals().update(name=...)`), a name that the notebook's own code cells
define with `def` or `class`. Each such cell runs in the solution's namespace with the
swapped names replaced by markers standing for the student's functions, and with the other
notebook functions it calls failing at their k-th call, for every k up to the number of
calls (at most MAX_FAILURE_POINTS of them, spread evenly), so that failures in the visible
part and in the hidden part are both tried. After every run the markers must be back."""

import ast
import functools

import nbformat
import numpy as np
import pytest
from nbtools import SHEETS, is_test_cell, nbgrader_meta, notebook, notebook_namespace

RESTORE_SHEETS = SHEETS[:3]
MAX_FAILURE_POINTS = 12


class FailingSubmission(Exception):
    """Raised by a student function that fails on purpose."""


def top_level_bindings(tree):
    """Names a cell binds outside function and class bodies, `globals().update(k=...)` included."""
    names, stack = set(), [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            if not isinstance(node, ast.Lambda):
                names.add(node.name)
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "update"
                and isinstance(node.func.value, ast.Call) and getattr(node.func.value.func, "id", None) == "globals"):
            names.update(k.arg for k in node.keywords if k.arg)
        stack.extend(ast.iter_child_nodes(node))
    return names


def swapping_cells(sheet):
    """(grade id, source, swapped names, notebook functions the cell calls) of each swapping test cell."""
    nb = nbformat.read(notebook(sheet), as_version=4)
    defined = {node.name for cell in nb.cells if cell.cell_type == "code" and not is_test_cell(cell)
               for node in ast.parse(cell.source).body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    found = []
    for cell in nb.cells:
        if cell.cell_type != "code" or not is_test_cell(cell):
            continue
        tree = ast.parse(cell.source)
        swapped = top_level_bindings(tree) & defined
        used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        if swapped:
            found.append((nbgrader_meta(cell)["grade_id"], cell.source, sorted(swapped), sorted((used & defined) - swapped)))
    return found


CASES = [(sheet, *case) for sheet in RESTORE_SHEETS for case in swapping_cells(sheet)]


def test_every_sheet_has_swapping_cells_to_check():
    assert {case[0] for case in CASES} == set(RESTORE_SHEETS)


@pytest.fixture(scope="module")
def namespaces():
    return {}


def marker(original):
    """A new object that behaves like `original`: it stands for the student's function or class."""
    if isinstance(original, type):
        return type(original.__name__, (original,), {})
    return functools.wraps(original)(lambda *args, **kwargs: original(*args, **kwargs))


def run_cell(ns, source, swapped, callers, fail_at):
    """Run a test cell with markers for the swapped names; the callers fail at their fail_at-th
    call in all (None: never). Returns (markers, calls, failed, swap active at the failure)."""
    markers = {name: marker(ns[name]) for name in swapped}
    ns.update(markers)
    calls, active = [0], []

    def failing(original):
        def call(*args, **kwargs):
            calls[0] += 1
            if calls[0] == fail_at:
                active.append(any(ns.get(name) is not markers[name] for name in swapped))
                raise FailingSubmission(f"{original.__name__} fails on purpose")
            return original(*args, **kwargs)
        return call

    ns.update({name: failing(ns[name]) for name in callers})
    try:
        exec(compile(source, "test cell", "exec"), ns)
        failed = False
    except FailingSubmission:
        failed = True
    return markers, calls[0], failed, bool(active and active[0])


@pytest.mark.parametrize("sheet, grade_id, source, swapped, callers", CASES, ids=[f"{c[0][:2]}-{c[1]}" for c in CASES])
def test_a_failing_submission_gets_its_own_functions_back(sheet, grade_id, source, swapped, callers, namespaces):
    import matplotlib.pyplot as plt

    if sheet not in namespaces:
        namespaces[sheet] = notebook_namespace(notebook(sheet), grading=True)
    ns = namespaces[sheet]
    saved = dict(ns)
    try:
        markers, total, failed, _ = run_cell(ns, source, swapped, callers, fail_at=None)
        assert not failed and total > 0, f"{grade_id}: the cell calls none of {callers}"
        assert all(ns[name] is markers[name] for name in swapped), f"{grade_id}: a passing run does not restore {swapped}"
        points = sorted(set(np.linspace(1, total, min(total, MAX_FAILURE_POINTS)).round().astype(int)))
        during_swap = 0
        for k in points:
            ns.clear()
            ns.update(saved)
            markers, _, failed, active = run_cell(ns, source, swapped, callers, fail_at=k)
            assert failed, f"{grade_id}: the failure at call {k} did not stop the cell (caught somewhere?)"
            during_swap += active
            kept = [name for name in swapped if ns[name] is not markers[name]]
            assert not kept, f"{grade_id}: after a failure at call {k} of {callers}, {kept} are not the student's again"
        assert during_swap, f"{grade_id}: no failure happened while the reference functions stood in"
    finally:
        ns.clear()
        ns.update(saved)
        plt.close("all")
