"""Sheet 02 graded with its tests in the tester (coursegrade/tester.py): honest work earns what
plain nbgrader gives it, and submissions aimed at the sheet's own machinery (sympy answers and
their encoding, the no-differentiation rule, the training loop whose test swaps in references)
earn no more than their honest code. Needs bubblewrap: hostile code runs only in the sandbox."""

import html
import re

import nbformat
import pytest
import tester_attacks
from grading_corpus import HONEST, honest, make_course, shared_plain_scores
from nbtools import notebook

from coursegrade import coordinator, remote, sandbox
from coursegrade.feedback import normal, secret_lines

SHEET = "02_logistic_regression"
LIMITS = sandbox.Limits(cell_seconds=20, wall_seconds=240)

if not sandbox.bubblewrap():
    pytest.skip("bubblewrap is not installed: hostile submissions are graded only in the sandbox "
                "(apt-get install bubblewrap)", allow_module_level=True)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("course"), SHEET)
    release = nbformat.read(notebook(SHEET, "notebooks"), as_version=4)
    base = honest(release, nbformat.read(notebook(SHEET), as_version=4))
    made = {name: (nb, name) for name, nb in base.items()}

    def variant(name, of, change):
        made[name] = (change(nbformat.from_dict(nbformat.reads(nbformat.writes(base[of]), 4))), of)

    tester_attacks.sheet02_attacks(variant)
    for student, (nb, _) in made.items():
        folder = course / "autograde" / "submitted" / student / SHEET
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{SHEET}.ipynb")
    outcome = coordinator.grade(course, SHEET, workers=2, limits=LIMITS, progress=False, log=lambda *a: None)
    return course, made, outcome["results"]


def scores(result):
    return {g: c["score"] for nb in result["notebooks"].values() for g, c in nb["cells"].items()}


def test_the_sheet_runs_its_tests_in_the_tester():
    spec_nb = {"release": nbformat.read(notebook(SHEET, "notebooks"), as_version=4)}
    assert remote.enabled(spec_nb), "sheet 02's release must ask for its tests to run in the tester"


def test_honest_grades_equal_plain_nbgrader(batch, tmp_path_factory):
    plain = shared_plain_scores(tmp_path_factory, SHEET)
    _, _, results = batch
    for student in HONEST:
        assert scores(results[student]) == pytest.approx(plain[student]), student
        assert results[student]["flags"] == [], results[student]["flags"]


def test_attacks_earn_what_their_honest_code_earns(batch):
    _, made, results = batch
    for student, (_, base) in made.items():
        if student != "rule_switched_off":
            assert sum(scores(results[student]).values()) == pytest.approx(sum(scores(results[base]).values())), student
    found = next(line for line in printed(results["snoop"]).splitlines() if line.startswith("found:"))
    assert "frame train_logistic" in found and not re.search(r"_reference_training|_logistic_loss_batch_grad|BEGIN HIDDEN", found)


def test_a_rule_switched_off_in_the_kernel_is_flagged(batch):
    """The limit the README states: sympy's diff, with the rule that forbids it switched off in
    the student's own kernel, passes the task's test; the teacher sees a flag for it."""
    _, _, results = batch
    result = results["rule_switched_off"]
    earned = {g for g, s in scores(result).items() if s}
    assert earned == {"test_a1_sigmoid_derivative_expression"}, earned
    assert any("dlcourse.rules" in flag for flag in result["flags"]), result["flags"]


def test_feedback_shows_no_hidden_test_or_reference_line(batch):
    course, made, _ = batch
    source = nbformat.read(notebook(SHEET), as_version=4)
    for student, (nb, _) in made.items():
        page = course / "autograde" / "feedback" / student / SHEET / f"{SHEET}.html"
        text = html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))
        shown = "\n".join(normal(line) for line in text.splitlines())
        graded = nbformat.read(course / "autograde" / "autograded" / student / SHEET / f"{SHEET}.ipynb", 4)
        own = {line.strip() for cell in nb.cells for line in cell.source.splitlines()}
        leaked = [line for line in secret_lines(graded, source) if line not in own and normal(line) in shown]
        assert not leaked, f"feedback of {student} shows: {leaked[:3]}"
        assert "BEGIN HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text


def printed(result):
    return "".join(o.get("text", "") for c in nbformat.reads(result["notebooks"][SHEET]["notebook"], 4).cells
                   if c.cell_type == "code" for o in c.outputs)
