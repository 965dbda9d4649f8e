"""nbgrader's exchange round trip on one machine, with the course-local exchange of
nbgrader_config.py (autograde/exchange/) and two students:

teacher releases the sheet; both students fetch it; ada submits the untouched release on
time and then, after the due date, her completed sheet (late); bob submits a half-done sheet;
the teacher collects, autogrades, generates and releases feedback; each student fetches
feedback and gets only feedback on their own (collected) submission.

The students work in their own folders with their own nbgrader settings (exchange folder,
course id, their id, their cache), as they would in their home folders on a shared machine.
"""

import time
from datetime import UTC, datetime

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbtools import SHEETS, fill, is_code_answer, notebook, run_nbgrader
from test_course import make_course

SHEET = SHEETS[0]
COURSE_ID = "deep-learning-sheets"  # nbgrader_config.py


def student_home(base, name, exchange):
    home = base / name
    home.mkdir()
    (home / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
        f"c.CourseDirectory.student_id = {name!r}\n"
        f"c.Exchange.root = {str(exchange)!r}\n"
        f"c.Exchange.cache = {str(home / 'nbgrader_cache')!r}\n"
    )
    return home


def hand_in(home, nb):
    """The student saves their work over the fetched notebook and submits the folder."""
    nbformat.write(nb, home / SHEET / f"{SHEET}.ipynb")
    run_nbgrader("submit", SHEET, cwd=home)


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory):
    base = tmp_path_factory.mktemp("exchange")
    (base / "course").mkdir()
    course = make_course(base / "course", [SHEET])
    exchange = course / "autograde" / "exchange"
    assert exchange.is_dir(), "nbgrader_config.py should create the course-local exchange folder"

    run_nbgrader("release_assignment", SHEET, cwd=course)
    ada, bob = (student_home(base, name, exchange) for name in ("ada", "bob"))
    for home in (ada, bob):
        run_nbgrader("fetch_assignment", SHEET, cwd=home)
        assert (home / SHEET / f"{SHEET}.ipynb").exists()

    release = nbformat.read(ada / SHEET / f"{SHEET}.ipynb", as_version=4)
    source = nbformat.read(notebook(SHEET), as_version=4)
    half = len([c for c in release.cells if is_code_answer(c)]) // 2
    hand_in(ada, release)  # on time, nothing done yet
    hand_in(bob, fill(release, source, half))
    time.sleep(1.1)  # submissions are time-stamped to the second
    due = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    run_nbgrader("db", "assignment", "add", SHEET, f"--duedate={due}", cwd=course)
    time.sleep(1.1)
    hand_in(ada, fill(release, source))  # complete, but late

    # Both students are the same operating-system user here, which collect would warn about.
    run_nbgrader("collect", SHEET, "--CollectApp.check_owner=False", cwd=course)
    run_nbgrader("autograde", SHEET, cwd=course)
    run_nbgrader("generate_feedback", SHEET, cwd=course)
    run_nbgrader("release_feedback", SHEET, cwd=course)
    for home in (ada, bob):
        run_nbgrader("fetch_feedback", SHEET, cwd=home)
    return course, {"ada": ada, "bob": bob}


def test_teacher_collects_the_latest_submission_of_each_student(round_trip):
    course, _ = round_trip
    with Gradebook(f"sqlite:///{course / 'autograde' / 'gradebook.db'}") as gradebook:
        ada = gradebook.find_submission(SHEET, "ada")
        bob = gradebook.find_submission(SHEET, "bob")
        assert ada.max_code_score > 0 and ada.code_score == pytest.approx(ada.max_code_score), (
            "ada's second (complete) submission should be the one graded"
        )
        assert 0 < bob.code_score < bob.max_code_score
        assert ada.total_seconds_late > 0, "ada's second submission came after the due date"
        assert bob.total_seconds_late == 0


def test_each_student_gets_only_their_own_feedback(round_trip):
    course, homes = round_trip
    for name, home in homes.items():
        feedback = sorted((home / SHEET / "feedback").rglob("*.html"))
        assert len(feedback) == 1, f"{name} should get feedback on the collected submission only: {feedback}"
        expected = course / "autograde" / "feedback" / name / SHEET / f"{SHEET}.html"
        assert feedback[0].read_bytes() == expected.read_bytes(), f"{name} got someone else's feedback"
    others = {name: (course / "autograde" / "feedback" / name / SHEET / f"{SHEET}.html").read_bytes() for name in homes}
    assert others["ada"] != others["bob"]


def test_formgrader_sees_a_working_exchange(round_trip):
    """The Formgrader warns when the exchange is missing; with the course-local one it is not."""
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    course, _ = round_trip
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    assert not api.exchange_missing and api.exchange_is_functional
