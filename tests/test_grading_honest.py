"""Grading that runs only honest code, so it runs with or without bubblewrap: the path without
the sandbox (what the README promises of it), and PyTorch wrapping its own functions, which
must not count as tampering."""

import copy
import json
import os
import subprocess

import nbformat
import pytest
from grading_corpus import (
    HONEST,
    SHEET,
    fill,
    honest_course,
    make_course,
    shared_plain_scores,
    total,
)
from nbgrader.api import Gradebook
from nbtools import BIN, notebook

from coursegrade import coordinator, sandbox

LIMITS = sandbox.Limits(cell_seconds=10, wall_seconds=180)
NOT_SANDBOXED = "NOT SANDBOXED: bubblewrap is not available, the student's code ran with the teacher's rights"


@pytest.fixture(scope="module")
def plain_scores(tmp_path_factory):
    return shared_plain_scores(tmp_path_factory)


def test_without_bubblewrap_honest_work_is_graded_right_with_a_warning_and_a_flag(plain_scores, tmp_path):
    """What the README promises where bubblewrap is missing (macOS, some containers): the
    grades are right, `coursegrade` warns, and every submission is flagged NOT SANDBOXED. Only
    honest work runs here. Where bubblewrap is installed, the run hides it (bubblewrap itself
    lays /dev/null over the executable, as on a machine without it)."""
    course = honest_course(tmp_path)
    command = [str(BIN / "coursegrade"), SHEET, "--course", str(course), "--workers", "2", "--no-progress",
               "--cell-timeout", str(LIMITS.cell_seconds), "--timeout", str(LIMITS.wall_seconds)]
    bwrap = sandbox.bubblewrap()
    if bwrap:
        command = [bwrap, "--dev-bind", "/", "/", "--ro-bind", "/dev/null", bwrap, *command]
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    env.pop("NBGRADER_EXECUTION", None)
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "WARNING: bubblewrap (bwrap) is not available" in run.stderr, run.stderr
    assert "graded 3," in run.stdout and "3 flagged for review" in run.stdout, run.stdout
    records = course / "autograde" / "coursegrade" / SHEET
    with Gradebook(coordinator.Course(course).db_url) as gb:
        for student in HONEST:
            record = json.loads((records / f"{student}.json").read_text())
            assert record["flags"] == [NOT_SANDBOXED], f"{student}: {record['flags']}"
            assert {g: c["score"] for g, c in record["cells"].items()} == pytest.approx(plain_scores[student]), student
            assert gb.find_submission_notebook(SHEET, SHEET, student).flagged, f"{student} is not flagged in the gradebook"


def test_pytorch_wrapping_its_own_functions_is_not_tampering(tmp_path):
    """A sheet that trains with torch.optim: PyTorch itself wraps torch.manual_seed when the first
    optimizer is made. That must not flag honest work; a student's own wrapper is still flagged
    (and earns what the same code earns without it)."""
    sheet = "05_activations_and_skip_connections"
    course = make_course(tmp_path, sheet)
    release = nbformat.read(notebook(sheet, "notebooks"), as_version=4)
    complete = fill(release, nbformat.read(notebook(sheet), as_version=4))
    wrapper = copy.deepcopy(complete)
    wrapper.cells.insert(2, nbformat.v4.new_code_cell(
        "import functools\nimport torch\n_seed = torch.manual_seed\n\n\n@functools.wraps(_seed)\n"
        "def _my_seed(*args, **kwargs):\n    return _seed(*args, **kwargs)\n\n\ntorch.manual_seed = _my_seed\n"))
    for student, nb in {"honest": complete, "wrapper": wrapper}.items():
        folder = course / "autograde" / "submitted" / student / sheet
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{sheet}.ipynb")
    outcome = coordinator.grade(course, sheet, workers=2, limits=LIMITS, progress=False, log=lambda *a: None)
    honest_result, wrapped_result = outcome["results"]["honest"], outcome["results"]["wrapper"]
    # Without bubblewrap every submission carries the NOT SANDBOXED flag, and only that one.
    expected = [] if sandbox.bubblewrap() else [NOT_SANDBOXED]
    assert honest_result["flags"] == expected, f"honest work flagged: {honest_result['flags']}"
    assert any("manual_seed" in flag for flag in wrapped_result["flags"]), wrapped_result["flags"]
    assert total(honest_result) > 0
    assert total(wrapped_result) == pytest.approx(total(honest_result))
