"""Shared tools for the tests: where the sheets are, running nbgrader, running a notebook's
code in this process (for headless slider tests)."""

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SHEETS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
BIN = Path(sys.executable).parent


def notebook(sheet, folder="solutions", root=ROOT):
    """Path of a sheet's notebook in solutions/ (the source) or notebooks/ (the release)."""
    return Path(root) / folder / sheet / f"{sheet}.ipynb"


def nbgrader_meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def is_test_cell(cell):
    """An autograder test cell: graded, locked, not a student answer."""
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade")) and not meta.get("solution")


def is_code_answer(cell):
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and bool(meta.get("solution"))


def run_nbgrader(*args, cwd=ROOT, check=True, merged=False):
    """Run an nbgrader command the way a teacher would, with the environment's bin/ on PATH
    (``merged``: its log and its output in one stream, in the order written)."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    env.pop("NBGRADER_EXECUTION", None)
    result = subprocess.run(
        [str(BIN / "nbgrader"), *args], cwd=cwd, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT if merged else subprocess.PIPE,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"nbgrader {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


@contextlib.contextmanager
def grading_mode(grading):
    """Set (or unset) NBGRADER_EXECUTION for a block, and restore it afterwards."""
    old = os.environ.get("NBGRADER_EXECUTION")
    if grading:
        os.environ["NBGRADER_EXECUTION"] = "validate"
    else:
        os.environ.pop("NBGRADER_EXECUTION", None)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("NBGRADER_EXECUTION", None)
        else:
            os.environ["NBGRADER_EXECUTION"] = old


def notebook_namespace(path, grading=True):
    """Run every code cell of a notebook except the autograder tests, in this process.

    Returns the notebook's global names, so that a test can reach its functions and its
    slider view (``ns["explorer"]``). With ``grading=True`` the notebook runs on its small
    grading budget. Cells run in the notebook's folder, with matplotlib's Agg backend.
    """
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt
    nb = nbformat.read(path, as_version=4)
    namespace = {"__name__": "__notebook__"}
    cwd = os.getcwd()
    with grading_mode(grading):
        os.chdir(Path(path).parent)
        try:
            for cell in nb.cells:
                if cell.cell_type == "code" and not is_test_cell(cell):
                    exec(compile(cell.source, f"{Path(path).name}:{cell.get('id')}", "exec"), namespace)
                    plt.close("all")  # as Jupyter does once a cell's figures are shown
        finally:
            os.chdir(cwd)
    return namespace


def bound_names(tree):
    """Names a piece of code (an ast tree) binds anywhere: assignments, imports, functions,
    classes, arguments. Tests use it to check that test cells stand alone."""
    import ast

    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return names


def strip_solution_markers(source):
    """A solution cell's source as a student would write it: without nbgrader's markers."""
    return "\n".join(line for line in source.splitlines() if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)


def fill(release, source, how_many=None, written=True):
    """A student's submission: the release with the first `how_many` answer cells (all when
    None) completed with the reference code, and (when all are filled and `written`) the
    written answers with the reference answers."""
    reference = {nbgrader_meta(c)["grade_id"]: c.source for c in source.cells if nbgrader_meta(c)}
    nb = nbformat.from_dict(release)
    answers = [c for c in nb.cells if is_code_answer(c)]
    chosen = answers if how_many is None else answers[:how_many]
    for cell in chosen:
        cell.source = strip_solution_markers(reference[nbgrader_meta(cell)["grade_id"]])
    if how_many is None and written:
        for cell in nb.cells:
            if cell.cell_type == "markdown" and nbgrader_meta(cell).get("solution"):
                cell.source = reference[nbgrader_meta(cell)["grade_id"]]
    return nb
