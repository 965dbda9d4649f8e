"""Tests that every sheet must pass: the nbgrader workflow of a teacher, end to end.

Each test runs for every sheet folder in solutions/.
"""

import re
import shutil
from pathlib import Path

import nbformat
import pytest
from grading_corpus import offer_plain_scores
from nbgrader.api import Gradebook
from nbtools import (
    ROOT,
    SHEETS,
    fill,
    is_code_answer,
    is_test_cell,
    nbgrader_meta,
    notebook,
    run_nbgrader,
)

from coursegrade.feedback import marked

STUDENTS = ("complete", "untouched", "half")
MARKERS = re.compile(r"BEGIN SOLUTION|END SOLUTION|HIDDEN TESTS|MARK SCHEME|Reference answer|Mark scheme")


def make_course(tmp_path, sheets):
    """A fresh course folder with this project's config and the given sheets' sources."""
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    for sheet in sheets:
        shutil.copytree(ROOT / "solutions" / sheet, tmp_path / "solutions" / sheet)
    if sheets:
        run_nbgrader("generate_assignment", "*", "--force", cwd=tmp_path)  # every sheet, in one run
    return tmp_path


def files_below(folder):
    return sorted(p.relative_to(folder) for p in Path(folder).rglob("*") if p.is_file())


def hidden_lines(source):
    """The lines of a cell's source that lie inside hidden-test regions (the grader's scanner)."""
    return [line.strip() for _, line, inside in marked(source) if inside]


# ----------------------------------------------------------------------------- the sources


@pytest.mark.parametrize("sheet", SHEETS)
def test_solution_notebook_is_well_formed(sheet):
    nb = nbformat.read(notebook(sheet), as_version=4)
    nbformat.validate(nb)
    ids = [nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c)]
    assert len(ids) == len(set(ids)), "grade ids must be unique"
    graded = [c for c in nb.cells if nbgrader_meta(c).get("grade")]
    assert graded and all(nbgrader_meta(c).get("points", 0) > 0 for c in graded)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs, "commit solution notebooks without outputs"
            assert not cell.source.lstrip().startswith(("%", "!")), "no IPython magics: tests exec the cells"
        if is_code_answer(cell):
            # Student code lives inside functions, so that the release still runs to the end.
            for line in cell.source.splitlines():
                if "### BEGIN SOLUTION" in line:
                    assert line.startswith((" ", "\t")), f"solution region at top level in {nbgrader_meta(cell)['grade_id']}"
        if nbgrader_meta(cell).get("grade") and nbgrader_meta(cell).get("solution") and cell.cell_type == "markdown":
            assert "Reference answer" in cell.source and "Mark scheme" in cell.source, (
                f"written answer {nbgrader_meta(cell)['grade_id']} needs a reference answer and a mark scheme"
            )


@pytest.mark.parametrize("folder", ["solutions", "notebooks"])
@pytest.mark.parametrize("sheet", SHEETS)
def test_no_test_cell_ends_in_a_value(sheet, folder):
    """nbgrader reads a test cell's output value as partial credit: a cell whose last statement
    is an expression (say a check that returns a number) would score a fraction of its points
    in Validate although every check passed. In the release the hidden tests are cut, so the
    visible part's last statement counts there. Calls known to return nothing may end a cell."""
    import ast

    silent = ("plt.close(", "dlcourse.check_gradient(")

    nb = nbformat.read(notebook(sheet, folder), as_version=4)
    for cell in nb.cells:
        if is_test_cell(cell) and cell.cell_type == "code":
            body = ast.parse(cell.source).body
            last = body[-1] if body else None
            if isinstance(last, ast.Expr) and ast.unparse(last).startswith(silent):
                continue
            assert not isinstance(last, ast.Expr), (
                f"{folder}: test cell {nbgrader_meta(cell)['grade_id']} ends in an expression "
                f"(line {body[-1].lineno}); nbgrader would read its value as a score"
            )


@pytest.mark.parametrize("sheet", SHEETS)
def test_run_all_goes_on_past_failing_test_cells(sheet):
    """JupyterLab's Run All stops at a failing cell unless it is tagged `raises-exception`.
    Test cells fail until the student's code is written, so each one carries the tag and a
    half-finished sheet still runs to its experiments and slider views. (nbgrader's checksums
    do not include tags, and autograding runs every cell anyway.)"""
    nb = nbformat.read(notebook(sheet), as_version=4)
    untagged = [
        nbgrader_meta(c)["grade_id"] for c in nb.cells
        if c.cell_type == "code" and is_test_cell(c) and "raises-exception" not in c.metadata.get("tags", [])
    ]
    assert not untagged, f"test cells without the raises-exception tag: {untagged}"


@pytest.mark.parametrize("sheet", SHEETS)
def test_every_sheet_has_a_mutation_test(sheet):
    """tests/test_mutants_sheetNN.py runs plausible wrong implementations of every graded
    function through the sheet's tests (see mutation.py)."""
    number = sheet.split("_")[0]
    path = ROOT / "tests" / f"test_mutants_sheet{number}.py"
    assert path.exists(), f"{path.name} is missing"
    assert "check_mutants(" in path.read_text()


@pytest.fixture(scope="module")
def validated():
    """{sheet: what `nbgrader validate` printed for its solution}, from one run over all sheets."""
    result = run_nbgrader("validate", *(str(notebook(sheet)) for sheet in SHEETS), merged=True)
    parts = re.split(r"^\[ValidateApp \| INFO\] Validating '", result.stdout, flags=re.MULTILINE)[1:]
    return {Path(part.split("'", 1)[0]).parent.name: part for part in parts}


@pytest.mark.parametrize("sheet", SHEETS)
def test_solution_passes_nbgrader_validate(sheet, validated):
    report = validated.get(sheet, "nbgrader validate said nothing of this sheet")
    assert "Success! Your notebook passes all the tests." in report, report


# ----------------------------------------------------------------------------- the release


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A course with every sheet's release generated by nbgrader (once for this module)."""
    return make_course(tmp_path_factory.mktemp("generated"), SHEETS)


def test_release_is_what_nbgrader_generates(generated):
    course = generated
    assert sorted(p.name for p in (ROOT / "notebooks").iterdir()) == SHEETS
    for sheet in SHEETS:
        ours, fresh = ROOT / "notebooks" / sheet, course / "notebooks" / sheet
        assert files_below(ours) == files_below(fresh), f"notebooks/{sheet} has other files than the release"
        for name in files_below(fresh):
            assert (ours / name).read_bytes() == (fresh / name).read_bytes(), (
                f"notebooks/{sheet}/{name} is out of date: run `make release` and commit it"
            )


@pytest.mark.parametrize("sheet", SHEETS)
def test_release_hides_solutions_and_hidden_tests(sheet):
    release_text = notebook(sheet, "notebooks").read_text()
    assert not MARKERS.search(release_text), "the release contains solution or hidden-test markers"
    source = nbformat.read(notebook(sheet), as_version=4)
    release = nbformat.read(notebook(sheet, "notebooks"), as_version=4)
    visible = {line.strip() for c in release.cells for line in c.source.splitlines()}
    also_visible_in_source = {
        line.strip() for c in source.cells for line in c.source.splitlines()
        if line.strip() not in hidden_lines(c.source)
    }
    for cell in source.cells:
        for line in hidden_lines(cell.source):
            if len(line) > 12 and line not in also_visible_in_source:
                assert line not in visible, f"hidden test line leaked into the release: {line}"


# ----------------------------------------------------------------------------- autograding


@pytest.fixture(scope="module")
def graded(tmp_path_factory, generated):
    """A course in which three students handed in every sheet: complete, untouched, half done,
    graded as the README tells teachers (one autograde and one feedback run for all sheets).
    Returns (course, {sheet: {student: (code score, max code score)}})."""
    course = tmp_path_factory.mktemp("graded") / "course"
    shutil.copytree(generated, course)
    for sheet in SHEETS:
        release = nbformat.read(notebook(sheet, "notebooks", root=course), as_version=4)
        source = nbformat.read(notebook(sheet), as_version=4)
        half = len([c for c in release.cells if is_code_answer(c)]) // 2
        submissions = {"complete": fill(release, source), "untouched": release, "half": fill(release, source, half)}
        # Hand-ins downloaded from a learning platform, collected as the README tells teachers.
        archive = course / "autograde" / "downloaded" / sheet / "archive"
        archive.mkdir(parents=True)
        for student, nb in submissions.items():
            nbformat.write(nb, archive / f"{student}_{sheet}.ipynb")
        run_nbgrader("zip_collect", sheet, cwd=course)
    run_nbgrader("autograde", "*", cwd=course)
    offer_plain_scores(tmp_path_factory, course, SHEETS)  # the grading tests compare coursegrade with these
    run_nbgrader("generate_feedback", "*", cwd=course)
    scores = {}
    with Gradebook(f"sqlite:///{course / 'autograde' / 'gradebook.db'}") as gradebook:
        for sheet in SHEETS:
            for student in STUDENTS:
                submission = gradebook.find_submission(sheet, student)
                scores.setdefault(sheet, {})[student] = (submission.code_score, submission.max_code_score)
    return course, scores


@pytest.fixture(params=SHEETS)
def graded_course(request, graded):
    """One sheet of the graded course: (sheet, course, {student: (score, max score)})."""
    course, scores = graded
    return request.param, course, scores[request.param]


def test_complete_submission_gets_every_autograded_point(graded_course):
    _, _, scores = graded_course
    score, maximum = scores["complete"]
    assert maximum > 0 and score == pytest.approx(maximum)


def test_untouched_release_gets_zero(graded_course):
    _, _, scores = graded_course
    assert scores["untouched"][0] == 0


def test_half_done_submission_gets_partial_points(graded_course):
    _, _, scores = graded_course
    score, maximum = scores["half"]
    assert 0 < score < maximum


def test_untouched_release_runs_to_the_end(graded_course):
    """Only autograder test cells may fail in the untouched release; everything else runs."""
    sheet, course, _ = graded_course
    nb = nbformat.read(course / "autograde" / "autograded" / "untouched" / sheet / f"{sheet}.ipynb", as_version=4)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code_cells), "the notebook stopped before the end"
    for cell in code_cells:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if errors:
            assert is_test_cell(cell), f"a non-test cell crashed in the release: {errors[0].ename}\n{cell.source[:300]}"


def test_feedback_is_written_for_every_student(graded_course):
    sheet, course, _ = graded_course
    for student in STUDENTS:
        html = course / "autograde" / "feedback" / student / sheet / f"{sheet}.html"
        assert html.exists() and "<html" in html.read_text()[:2000].lower()



def test_the_handout_holds_no_solution_or_hidden_test(tmp_path):
    """`make handout` (what students get): the release and the packages it needs, and no line of
    a solution or a hidden test anywhere in it (the sheets' tests and the mutation lists hold
    reference code, so they stay out)."""
    import subprocess

    from coursegrade.feedback import secret_lines

    folder = tmp_path / "handout"
    subprocess.run(["make", "-s", "handout", f"HANDOUT_DIR={folder}"], cwd=ROOT, check=True, capture_output=True)
    assert (folder / "notebooks").is_dir() and (folder / "dlcourse" / "__init__.py").exists()
    assert not (folder / "solutions").exists() and not (folder / "tests").exists()
    # dlcourse/batched.py trains sheet 04's networks side by side: by design (issue 21) it repeats
    # lines of the training loop the sheet asks for (a known overlap, named in the README)
    texts = {path: _lines_of(path) for path in folder.rglob("*") if path.is_file() and path.name != "batched.py"}
    releases = {sheet: nbformat.read(notebook(sheet, "notebooks"), as_version=4) for sheet in SHEETS}
    shown = {line.strip() for nb in releases.values() for cell in nb.cells for line in cell.source.splitlines()}
    for sheet, release in releases.items():
        for line in secret_lines(release, nbformat.read(notebook(sheet), as_version=4)) - shown:
            # the helper packages share short generic lines with the solutions ("for _ in range(epochs):")
            leaks = [str(path.relative_to(folder)) for path, text in texts.items()
                     if line in text and (path.suffix != ".py" or len(line) >= 50)]
            assert not leaks, f"{leaks} show a line of {sheet}'s solution or hidden tests: {line}"


def _lines_of(path):
    """What a handed-out file shows, to look for secret lines in: notebooks and code line by line
    (a short hidden line may be part of a longer given one), data (the catalogues) as text, where
    a line could sit in a string."""
    if path.suffix == ".ipynb":
        return {line.strip() for cell in nbformat.read(path, 4).cells for line in cell.source.splitlines()}
    text = path.read_text(errors="replace")
    return text if path.suffix == ".json" else {line.strip() for line in text.splitlines()}
