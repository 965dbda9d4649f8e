"""Feedback that names the mistake (coursegrade/diagnosis.py), end to end: a small batch of
sheet 01 with a known mix of mistakes from the mutation list, graded by coursegrade."""

import html
import re

import nbformat
import numpy as np
import pytest
from grading_corpus import SHEET, fill, make_course
from mutation import _mutated_cells
from nbtools import is_code_answer, nbgrader_meta, notebook
from test_mutants_sheet01 import MUTANTS

from coursegrade import coordinator, diagnosis, sandbox

LIMITS = sandbox.Limits(cell_seconds=20, wall_seconds=180)
NAIVE = "sigmoid written naively (overflow for large negative x)"
ASCENT = "gradient ascent"
MIX = {"ada": NAIVE, "bo": NAIVE, "cy": ASCENT, "dee": None}  # dee: correct work


def with_mistake(release, source, name):
    """The release filled with the reference code, with the named mutant's edit in its cell."""
    nb = fill(release, source)
    if name is None:
        return nb
    mutant = next(m for m in MUTANTS if m.name == name)
    changed = dict((nbgrader_meta(c).get("grade_id"), s) for c, s in _mutated_cells(source, mutant))[mutant.cell]
    cell = next(c for c in nb.cells if is_code_answer(c) and nbgrader_meta(c)["grade_id"] == mutant.cell)
    cell.source = changed
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("diagnosis"))
    release = nbformat.read(notebook(SHEET, "notebooks"), as_version=4)
    source = nbformat.read(notebook(SHEET), as_version=4)
    for student, name in MIX.items():
        target = course / "autograde" / "submitted" / student / SHEET
        target.mkdir(parents=True)
        nbformat.write(with_mistake(release, source, name), target / f"{SHEET}.ipynb")
    coordinator.grade(course, SHEET, workers=2, limits=LIMITS, progress=False, log=lambda *a: None)
    return course


def feedback(course, student):
    return html.unescape((course / "autograde" / "feedback" / student / SHEET / f"{SHEET}.html").read_text())


def named_in(text, name):
    """The feedback names the mistake: alone, or among the few that behave exactly alike (the
    naive sigmoid and np.where over both branches give the same numbers and warnings)."""
    sentences = re.findall(r"This looks like (?:a known mistake|one of these known mistakes): [^\n]*", text)
    return any(name in sentence for sentence in sentences)


def test_the_feedback_names_the_mistake_under_the_failed_test(graded):
    assert named_in(feedback(graded, "ada"), NAIVE)
    assert f"This looks like a known mistake: {ASCENT}." in feedback(graded, "cy")
    assert "known mistake" not in feedback(graded, "dee"), "correct work gets no diagnosis"


def test_the_class_summary_counts_each_known_mistake(graded):
    page = html.unescape((graded / "autograde" / "summary" / f"{SHEET}.html").read_text())
    table = page.split("Known mistakes per test", 1)[1].split("<h2>", 1)[0]
    assert f"<td>test_a2_sigmoid</td><td>{NAIVE}</td><td>2</td>" in table, table
    assert f"<td>{ASCENT}</td><td>1</td>" in table, table


def test_the_catalogue_never_reaches_the_release():
    release = notebook(SHEET, "notebooks").read_text()
    catalogue = diagnosis.load(SHEET)
    assert catalogue and not any(m["name"] in release for m in catalogue["mistakes"]), "a mistake's sentence is in the release"
    assert not list((notebook(SHEET, "notebooks").parent).glob("*.json")), "a catalogue file was released"


def run_in_kernel(nb, folder, env=None):
    """Run the code cells of ``nb`` in a Jupyter kernel in ``folder``, each sent with its cell id
    as JupyterLab sends it; {cell id: the text of its error output} of the cells that failed."""
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3", cwd=str(folder), env=env)
    errors = {}
    try:
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            content = {"code": cell.source, "silent": False, "store_history": True,
                       "user_expressions": {}, "allow_stdin": False, "stop_on_error": False}
            request = client.session.msg("execute_request", content, metadata={"cellId": cell.id})
            client.shell_channel.send(request)
            while True:
                message = client.get_iopub_msg(timeout=120)
                if message["parent_header"].get("msg_id") != request["header"]["msg_id"]:
                    continue
                if message["msg_type"] == "error":
                    errors[cell.id] = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(message["content"]["traceback"]))
                if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                    break
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    return errors


def test_jupyterlab_names_the_mistake_under_a_failed_visible_test(tmp_path):
    """dlcourse's error handler in the student's kernel: the same sentence as the feedback,
    under the traceback of the visible test that failed; nothing while nbgrader runs the sheet."""
    import os

    release = nbformat.read(notebook(SHEET, "notebooks"), as_version=4)
    source = nbformat.read(notebook(SHEET), as_version=4)
    folder = tmp_path / SHEET  # the sheet is known by its folder, as in notebooks/
    folder.mkdir()
    nb = with_mistake(release, source, ASCENT)
    nbformat.write(nb, folder / f"{SHEET}.ipynb")
    task = next(m for m in MUTANTS if m.name == ASCENT).task
    env = {k: v for k, v in os.environ.items() if k != "NBGRADER_EXECUTION"}
    errors = run_in_kernel(nb, folder, env)
    failed = [cell_id for cell_id in errors if cell_id in task]
    assert failed, f"the visible test of {task} should fail with gradient ascent; failed cells: {sorted(errors)}"
    assert f"This looks like a known mistake: {ASCENT}." in errors[failed[0]], errors[failed[0]]
    assert all("known mistake" not in text for cell_id, text in errors.items() if cell_id not in task), (
        "only the test of the mistaken function names a mistake")
    graded = run_in_kernel(nb, folder, dict(env, NBGRADER_EXECUTION="validate"))
    assert set(graded) >= set(failed) and not any("known mistake" in text for text in graded.values()), (
        "while nbgrader runs the sheet, the student's kernel adds nothing")


def test_single_precision_results_are_compared_at_their_own_precision():
    """The same training run gives float32 weights 2e-6 apart on two processors: they agree, as
    float32 arrays; a mistake's effect (1e-3) still differs, and float64 keeps its tight tolerance."""
    from coursegrade import probe

    weights = np.array([0.44179448, -0.01538657, 0.93536919], dtype=np.float32)
    other_cpu = np.array([0.44179460, -0.01538654, 0.93536901], dtype=np.float32)
    assert diagnosis.same(probe.encode(weights), probe.encode(other_cpu))
    assert not diagnosis.same(probe.encode(weights), probe.encode(weights * np.float32(1.001)))
    assert not diagnosis.same(probe.encode(weights.astype(float)), probe.encode(other_cpu.astype(float)))
