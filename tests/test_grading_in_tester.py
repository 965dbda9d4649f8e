"""Sheets 02 to 05 graded with their tests in the tester (coursegrade/tester.py; sheet 01's
batch is tests/test_grading.py): honest work earns what plain nbgrader gives it, and submissions
aimed at each sheet's own machinery (sympy answers and their encoding, the rules "no
differentiation" and "no autograd", PyTorch's functions as references, the tests that swap in
references, models, optimizers, autograd graphs and handles to the student's objects that cross
to the tester, the sheet's given helpers) earn no more than their honest code. Needs bubblewrap: hostile code runs only in the
sandbox."""

import html
import re

import nbformat
import pytest
import tester_attacks
from grading_corpus import (
    HONEST,
    assert_nothing_active,
    graded_cells,
    honest,
    make_course,
    scored_differently,
    shared_plain_scores,
)
from nbtools import notebook

from coursegrade import coordinator, remote, sandbox
from coursegrade.feedback import marked, normal, secret_lines

# sheet: (its attacks, the tasks that a rule switched off in the kernel earns; None: no rule)
ATTACKS = {"02_logistic_regression": (tester_attacks.sheet02_attacks, {"test_a1_sigmoid_derivative_expression"}),
           "03_computation_graphs": (tester_attacks.sheet03_attacks, None),
           "04_optimizers_and_initialization": (tester_attacks.sheet04_attacks, {"test_b1_chain_grads"}),
           "05_activations_and_skip_connections": (tester_attacks.sheet05_attacks,
                                                   {"test_b1_layer_backward_dx", "test_b1_layer_backward_dW"})}
LIMITS = sandbox.Limits(cell_seconds=20, wall_seconds=240)

if not sandbox.bubblewrap():
    pytest.skip("bubblewrap is not installed: hostile submissions are graded only in the sandbox "
                "(apt-get install bubblewrap)", allow_module_level=True)


@pytest.fixture(scope="module", params=sorted(ATTACKS))
def batch(request, tmp_path_factory):
    sheet = request.param
    course = make_course(tmp_path_factory.mktemp("course"), sheet)
    release = nbformat.read(notebook(sheet, "notebooks"), as_version=4)
    base = honest(release, nbformat.read(notebook(sheet), as_version=4))
    made = {name: (nb, name) for name, nb in base.items()}

    def variant(name, of, change):
        made[name] = (change(nbformat.from_dict(nbformat.reads(nbformat.writes(base[of]), 4))), of)

    ATTACKS[sheet][0](variant)
    for student, (nb, _) in made.items():
        folder = course / "autograde" / "submitted" / student / sheet
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{sheet}.ipynb")
    outcome = coordinator.grade(course, sheet, workers=2, limits=LIMITS, progress=False, log=lambda *a: None)
    return sheet, course, made, outcome["results"]


def scores(result):
    return {g: c["score"] for g, c in graded_cells(result).items()}


def test_the_sheet_runs_its_tests_in_the_tester(batch):
    sheet = batch[0]
    spec_nb = {"release": nbformat.read(notebook(sheet, "notebooks"), as_version=4)}
    assert remote.enabled(spec_nb), f"{sheet}'s release must ask for its tests to run in the tester"


def test_honest_grades_equal_plain_nbgrader(batch, tmp_path_factory):
    sheet, _, _, results = batch
    plain = shared_plain_scores(tmp_path_factory, sheet)
    for student in HONEST:
        assert scores(results[student]) == pytest.approx(plain[student]), student
        assert results[student]["flags"] == [], results[student]["flags"]


def hidden_names(sheet):
    """The functions the hidden tests of a sheet define (references, helpers)."""
    names = set()
    for cell in nbformat.read(notebook(sheet), as_version=4).cells:
        for _, line, hidden in marked(cell.source):
            names.update(re.findall(r"^\s*def (\w+)", line) if hidden else [])
    return names


def test_attacks_earn_what_their_honest_code_earns(batch):
    sheet, _, made, results = batch
    for student, (_, base) in made.items():
        if student != "rule_switched_off":
            assert sum(scores(results[student]).values()) == pytest.approx(sum(scores(results[base]).values())), (
                scored_differently(student, results, base))
    found = next(line for line in printed(results["snoop"], sheet).splitlines() if line.startswith("found:"))
    assert "frame snoop" in found and "while a test called" in found and "BEGIN HIDDEN" not in found, found
    assert not [name for name in hidden_names(sheet) if f" {name}'" in found], found


def test_a_rule_switched_off_in_the_kernel_is_flagged(batch):
    """The limit the README states: the shortcut a task forbids (sympy's diff, autograd), with the
    rule that forbids it switched off in the student's own kernel, passes the task's tests; the
    teacher sees a flag for it."""
    sheet, _, _, results = batch
    if ATTACKS[sheet][1] is None:  # a sheet without rules: nothing is flagged for them
        assert not [f for r in results.values() for f in r["flags"] if "dlcourse.rules" in f]
        return
    result = results["rule_switched_off"]
    earned = {g for g, s in scores(result).items() if s}
    assert earned == ATTACKS[sheet][1], earned
    assert any("dlcourse.rules" in flag for flag in result["flags"]), result["flags"]


def test_feedback_shows_no_hidden_test_or_reference_line(batch):
    sheet, course, made, _ = batch
    source = nbformat.read(notebook(sheet), as_version=4)
    for student, (nb, _) in made.items():
        page = course / "autograde" / "feedback" / student / sheet / f"{sheet}.html"
        text = html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))
        shown = "\n".join(normal(line) for line in text.splitlines())
        graded = nbformat.read(course / "autograde" / "autograded" / student / sheet / f"{sheet}.ipynb", 4)
        own = {line.strip() for cell in nb.cells for line in cell.source.splitlines()}
        leaked = [line for line in secret_lines(graded, source) if line not in own and normal(line) in shown]
        assert not leaked, f"feedback of {student} shows: {leaked[:3]}"
        assert "BEGIN HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text


def test_nothing_a_submission_shows_runs_in_the_teachers_browser(batch):
    sheet, course, _, _ = batch
    assert "a table" in assert_nothing_active(course, sheet, "forged_kernel", "untouched")  # came through, cleaned


def printed(result, sheet):
    return "".join(o.get("text", "") for c in nbformat.reads(result["notebooks"][sheet]["notebook"], 4).cells
                   if c.cell_type == "code" for o in c.outputs)
