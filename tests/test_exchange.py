"""nbgrader's exchange round trip on one machine, with the course-local exchange of
nbgrader_config.py (autograde/exchange/) and two students:

teacher releases the sheet; both students fetch it; ada submits the untouched release on
time and then, after the due date, her completed sheet (late); bob submits a half-done sheet;
the teacher collects, grades with `coursegrade` (as the README says), generates feedback
again (as after grading written answers by hand) and releases it; each student fetches
feedback and gets only feedback on their own (collected) submission. The sheet carries an
image beside its notebook (as many assignments do): it must reach every student's feedback
folder, as with plain nbgrader.

The students work in their own folders with their own nbgrader settings (exchange folder,
course id, their id, their cache), as they would in their home folders on a shared machine.
"""

import subprocess
import time
from datetime import UTC, datetime

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbtools import BIN, SHEETS, fill, is_code_answer, notebook, run_nbgrader
from test_course import make_course

SHEET = SHEETS[0]
COURSE_ID = "deep-learning-sheets"  # nbgrader_config.py
IMAGE = "figures/network.png"  # an assignment's other file, beside the notebook
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")


def coursegrade(*args, cwd):
    """`coursegrade` as the teacher runs it (README, step 6)."""
    return subprocess.run([str(BIN / "coursegrade"), *args, "--no-progress"], cwd=cwd, capture_output=True, text=True)


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
    (course / "solutions" / SHEET / IMAGE).parent.mkdir()
    (course / "solutions" / SHEET / IMAGE).write_bytes(PNG)
    run_nbgrader("generate_assignment", SHEET, "--force", cwd=course)
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
    graded = coursegrade(SHEET, cwd=course)
    assert graded.returncode == 0, f"coursegrade failed:\n{graded.stdout}\n{graded.stderr}"
    run_nbgrader("generate_feedback", SHEET, "--force", cwd=course)  # README: after grading by hand
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


def test_grading_keeps_the_files_feedback_needs(round_trip):
    """coursegrade writes the submission's timestamp and secret (release_feedback reads them)
    and the assignment's image into autograded/, and generate_feedback copies them on."""
    course, homes = round_trip
    for name in homes:
        for kind in ("autograded", "feedback"):
            folder = course / "autograde" / kind / name / SHEET
            for file in ("timestamp.txt", "submission_secret.txt", IMAGE):
                assert (folder / file).is_file(), f"{kind}/{name}/{SHEET}/{file} is missing"
            assert (folder / IMAGE).read_bytes() == PNG


def test_coursegrade_without_a_release_says_what_to_run(tmp_path):
    course = make_course(tmp_path, [SHEET])
    (course / "notebooks" / SHEET / f"{SHEET}.ipynb").unlink()
    done = coursegrade(SHEET, cwd=course)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    assert f"nbgrader generate_assignment {SHEET}" in done.stderr, done.stderr
