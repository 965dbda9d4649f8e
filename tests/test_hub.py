"""The course on a JupyterHub (hub/, `make hub`), as a teacher and two students use it, in
headless Chromium: the hub runs as root and starts every server as its own system user, so
that file permissions separate them as on a real server.

The round trip: the teacher generates and releases sheet 01 in the Formgrader; ada and bob
log in, fetch it in the Assignments panel, hand in their work (the test writes the notebook
files, complete for ada and half done for bob, as if they had worked in them), click Validate
and Submit (bob twice); the teacher collects in the Formgrader, grades with `coursegrade` (as
the teacher's user), grades one written answer of ada's by hand in the Formgrader, and
generates and releases the feedback there; each student fetches the feedback and opens it.
Screenshots of every step: test-artifacts/hub/. Then the permission checks: what a student's
own processes and their Jupyter server's contents API can reach.

Skipped (with a message) without jupyterhub, the proxy (`make hub` installs it), Chromium,
Playwright or root (system users).
"""

import contextlib
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from browser import CHROMIUM, SLOW, free_port
from nbtools import BIN, ROOT, SHEETS, fill, is_code_answer

pytestmark = pytest.mark.browser
pytest.importorskip("jupyterhub", reason="jupyterhub is not installed (pip install -r requirements.txt)")
sync_playwright = pytest.importorskip(
    "playwright.sync_api", reason="Playwright for Python is not installed (pip install -r requirements.txt)"
).sync_playwright
HUB = ROOT / "hub"
if not (HUB / "node_modules" / ".bin" / "configurable-http-proxy").exists():
    pytest.skip("configurable-http-proxy (npm) is not installed: run `make hub` once", allow_module_level=True)
if not CHROMIUM:
    pytest.skip("no Chromium found: apt-get install chromium, or set DLCOURSE_CHROMIUM", allow_module_level=True)
if os.geteuid() != 0 or not shutil.which("useradd"):
    pytest.skip("root (and useradd) needed: the hub test runs every account as its own system user",
                allow_module_level=True)

SHEET = SHEETS[0]
TEACHER, STUDENTS = "dlcteacher", ("dlcada", "dlcbob")
ARTIFACTS = ROOT / "test-artifacts" / "hub"
COURSE_ID = "deep-learning-sheets"


def fresh_user(name):
    if subprocess.run(["id", name], capture_output=True).returncode == 0:
        subprocess.run(["userdel", "-r", name], capture_output=True)
    subprocess.run(["useradd", "-m", "-s", "/bin/bash", name], check=True)
    Path(pwd.getpwnam(name).pw_dir).chmod(0o700)


def as_user(user, state, *command, check=True, env=None):
    """A command as one of the hub's users, as their own server would run it."""
    done = subprocess.run([sys.executable, str(HUB / "as_user.py"), user, str(state / "python-shim"), "--", *command],
                          capture_output=True, text=True, env=env)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} as {user} failed:\n{done.stdout}\n{done.stderr}")
    return done


@pytest.fixture(scope="module")
def hub():
    for user in (TEACHER, *STUDENTS):
        fresh_user(user)
    state = Path(tempfile.mkdtemp(prefix="dlcourse-hub-"))
    state.chmod(0o755)
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    port, password = free_port(), "course-hub-test"
    env = dict(os.environ, DLCOURSE_HUB_STATE=str(state), DLCOURSE_HUB_PORT=str(port), DLCOURSE_HUB_PASSWORD=password,
               DLCOURSE_HUB_SYSTEM_USERS="1", DLCOURSE_HUB_TEACHER=TEACHER, DLCOURSE_HUB_STUDENTS=",".join(STUDENTS))
    env.pop("NBGRADER_EXECUTION", None)
    log = open(ARTIFACTS / "jupyterhub.log", "w")
    process = subprocess.Popen([sys.executable, str(HUB / "start.py")], env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/hub/health", timeout=5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the hub did not start; see {log.name}") from None
                time.sleep(0.5)
        yield {"url": url, "password": password, "state": state, "env": env}
    finally:
        process.terminate()  # JupyterHub stops the users' servers and the proxy
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
        os.killpg(process.pid, signal.SIGKILL) if process.poll() is None else None
        log.close()
        for user in (TEACHER, *STUDENTS):
            left = subprocess.run(["ps", "-o", "pid=", "-u", user], capture_output=True, text=True).stdout.split()
            for pid in left:  # anything of this test's own users that outlived the hub
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["userdel", "-r", user], capture_output=True)
        shutil.rmtree(state, ignore_errors=True)


class User:
    """One account's browser session (its own cookies) on the hub."""

    def __init__(self, browser, hub, name):
        self.name, self.hub = name, hub
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.page = self.context.new_page()
        self.page.set_default_timeout(SLOW * 1000)
        self.page.set_default_navigation_timeout(SLOW * 1000)
        self.base = f"{hub['url']}/user/{name}"
        self.page.goto(f"{hub['url']}/hub/login")
        self.page.fill("input[name=username]", name)
        self.page.fill("input[name=password]", hub["password"])
        self.page.click("[type=submit]")
        self.page.wait_for_url(f"**/user/{name}/lab**")
        self.page.wait_for_selector("#jp-main-dock-panel")

    @property
    def home(self):
        return Path(pwd.getpwnam(self.name).pw_dir)

    def shot(self, name):
        self.page.screenshot(path=ARTIFACTS / f"{name}.png")

    def formgrader_action(self, icon, step):
        """Click one of the Formgrader's buttons in the sheet's row; returns the dialog's text."""
        page = self.page
        page.goto(f"{self.base}/formgrader/manage_assignments")
        page.locator(f"tr:has-text('{SHEET}') .glyphicon-{icon}").click()
        dialog = page.locator("#success-modal, #error-modal")
        dialog.wait_for()
        text = dialog.inner_text()
        self.shot(step)
        assert "success-modal" == dialog.get_attribute("id"), f"{step}: {text}"
        dialog.locator("button:has-text('OK')").click()
        dialog.wait_for(state="detached")
        return text

    def assignments(self, step):
        """Open (or refresh) the Assignments panel."""
        page = self.page
        if not page.locator("#released_assignments_list").is_visible():
            page.click("li.lm-MenuBar-item:has-text('Nbgrader')")
            page.click("li.lm-Menu-item:has-text('Assignment List')")
        else:
            page.click("#refresh_assignments_list")
        page.locator(".list_loading").first.wait_for(state="hidden")
        self.shot(step)

    def click_and_wait(self, selector, gone_text):
        button = self.page.locator(selector).first
        button.click()
        self.page.wait_for_function("t => !document.body.innerText.includes(t)", arg=gone_text)

    def close(self):
        self.context.close()


def hand_in(user, complete):
    """The student's work, written into the fetched notebook as if done in JupyterLab."""
    path = user.home / SHEET / f"{SHEET}.ipynb"
    release = nbformat.read(path, as_version=4)
    source = nbformat.read(ROOT / "solutions" / SHEET / f"{SHEET}.ipynb", as_version=4)
    half = len([c for c in release.cells if is_code_answer(c)]) // 2
    nbformat.write(fill(release, source) if complete else fill(release, source, half), path)
    entry = pwd.getpwnam(user.name)
    os.chown(path, entry.pw_uid, entry.pw_gid)


def validate(user, step):
    page = user.page
    page.locator("#fetched_assignments_list button:has-text('Validate')").first.click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for()
    text = dialog.inner_text()
    user.shot(step)
    dialog.locator("button.jp-mod-accept").click()
    dialog.wait_for(state="detached")
    return text


def total_score(html):
    match = re.search(r"Score:\s*([\d.]+)\s*/\s*([\d.]+)", html)
    assert match, "the feedback shows no total score"
    return float(match.group(1)), float(match.group(2))


@pytest.fixture(scope="module")
def round_trip(hub):
    course = Path(pwd.getpwnam(TEACHER).pw_dir) / "course"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        teacher = User(browser, hub, TEACHER)
        teacher.formgrader_action("education", "01-teacher-generated")
        teacher.formgrader_action("cloud-upload", "02-teacher-released")

        students = {name: User(browser, hub, name) for name in STUDENTS}
        validations, submitted = {}, 0.0
        for (name, student), complete in zip(students.items(), (True, False)):
            student.assignments(f"03-{name}-assignments")
            student.click_and_wait("#released_assignments_list button:has-text('Fetch')", "Fetching...")
            student.page.locator(f"#fetched_assignments_list :text('{SHEET}')").first.wait_for()
            student.shot(f"04-{name}-fetched")
            hand_in(student, complete)
            student.page.locator(f"#fetched_assignments_list :text('{SHEET}')").first.click()  # show its notebooks
            validations[name] = validate(student, f"05-{name}-validated")
            for _ in range(1 if complete else 2):
                later_second(submitted)  # submissions are time-stamped to the second
                student.click_and_wait("#fetched_assignments_list button:has-text('Submit')", "submitting...")
                submitted = time.time()
            student.assignments(f"06-{name}-submitted")

        teacher.formgrader_action("cloud-download", "07-teacher-collected")
        graded = as_user(TEACHER, hub["state"], str(BIN / "coursegrade"), SHEET, "--course", str(course), "--no-progress",
                         env=teacher_env(hub))
        (ARTIFACTS / "08-coursegrade.txt").write_text(graded.stdout + graded.stderr)

        page = teacher.page
        page.goto(f"{teacher.base}/formgrader/manage_students/{STUDENTS[0]}/{SHEET}")
        page.locator("a[href*='/formgrader/submissions/']").first.click()
        written = page.locator("input.score.needs_manual_grade").first
        written.wait_for()
        manual_id = written.get_attribute("id")
        # the Formgrader saves the score in the background: wait for the server's answer
        with page.expect_response(lambda r: "/formgrader/api/grade/" in r.url and r.request.method == "PUT") as saved:
            written.locator("xpath=ancestor::div[contains(@class, 'panel')][1]").locator(
                "button:has-text('Full credit')").click()
        assert saved.value.ok, f"the Formgrader did not save the score: HTTP {saved.value.status}"
        page.wait_for_function("id => document.getElementById(id).value !== ''", arg=manual_id)
        teacher.shot("09-teacher-graded-by-hand")
        teacher.formgrader_action("comment", "10-teacher-generated-feedback")
        teacher.formgrader_action("envelope", "11-teacher-released-feedback")

        feedback = {}
        for name, student in students.items():
            student.assignments(f"12-{name}-before-feedback")
            student.click_and_wait("#submitted_assignments_list button:has-text('Fetch Feedback')", "Fetching Feedback...")
            files = sorted((student.home / SHEET / "feedback").rglob("*.html"))
            feedback[name] = files
            if files:
                relative = files[-1].relative_to(student.home)
                student.page.goto(f"{student.base}/files/{relative}")
                student.page.wait_for_load_state()
                student.shot(f"13-{name}-feedback")
        api = probe_api(students[STUDENTS[1]], hub)
        for user in (teacher, *students.values()):
            user.close()
        browser.close()
    return {"course": course, "validations": validations, "feedback": feedback, "manual_id": manual_id,
            "coursegrade": graded, "api": api}


def later_second(moment):
    """Wait until the clock shows a later second than ``moment`` (a time.time())."""
    time.sleep(max(0.0, int(moment) + 1.05 - time.time()))


def probe_api(student, hub):
    """HTTP status of what a student's browser session asks for (no redirects followed)."""
    other, url = STUDENTS[0], hub["url"]
    teacher_course = f"..%2F{TEACHER}%2Fcourse"
    asks = {
        "own home": f"{student.base}/api/contents/",
        "another home through ..": f"{student.base}/api/contents/..%2F{other}",
        "the teacher's course through ..": f"{student.base}/api/contents/{teacher_course}",
        "the teacher's solutions as a file": f"{student.base}/files/{teacher_course}%2Fsolutions%2F{SHEET}%2F{SHEET}.ipynb",
        "another student's server": f"{url}/user/{other}/api/contents/",
        "the teacher's server": f"{url}/user/{TEACHER}/api/contents/course",
        "the teacher's Formgrader": f"{url}/user/{TEACHER}/formgrader/api/assignments",
    }
    return {what: student.context.request.get(address, max_redirects=0).status for what, address in asks.items()}


def teacher_env(hub):
    return dict(os.environ, PATH=f"{BIN}{os.pathsep}/usr/local/bin:/usr/bin:/bin", PYTHONPATH=str(ROOT),
                JUPYTER_CONFIG_PATH=str(HUB / "teacher"), DLCOURSE_EXCHANGE=str(hub["state"] / "exchange"))


def failures(text):
    return text.count("The following cell failed")


def test_validate_in_the_assignments_panel(round_trip):
    """Validate answers in the panel: the half-done sheet lists its unanswered cells, the
    complete one none."""
    ada, bob = (round_trip["validations"][name] for name in STUDENTS)
    assert "Validation Results" in bob and failures(bob) > failures(ada), bob[:1000]
    assert "did not provide a response" not in ada and "NotImplementedError" not in ada, ada[:1000]
    assert "Success" in ada, ada[:1000]


def test_teacher_collects_and_grades_the_latest_submissions(round_trip):
    from nbgrader.api import Gradebook

    course = round_trip["course"]
    assert "graded 2" in round_trip["coursegrade"].stdout, round_trip["coursegrade"].stdout
    with Gradebook(f"sqlite:///{course / 'autograde' / 'gradebook.db'}", COURSE_ID) as gradebook:
        ada, bob = (gradebook.find_submission(SHEET, name) for name in STUDENTS)
        assert ada.code_score == pytest.approx(ada.max_code_score) and ada.max_code_score > 0
        assert 0 < bob.code_score < bob.max_code_score
        manual = gradebook.find_grade(round_trip["manual_id"], SHEET, SHEET, STUDENTS[0])
        assert manual.manual_score == manual.max_score > 0, "the written answer graded by hand was not saved"
    bob_submissions = list((course / "autograde" / "submitted").glob(f"{STUDENTS[1]}/{SHEET}"))
    assert bob_submissions, "bob's submission was not collected"


def test_each_student_gets_their_own_feedback(round_trip):
    course, feedback = round_trip["course"], round_trip["feedback"]
    scores = {}
    for name in STUDENTS:
        assert len(feedback[name]) == 1, f"{name} should get one feedback file: {feedback[name]}"
        own = (course / "autograde" / "feedback" / name / SHEET / f"{SHEET}.html").read_text()
        got = feedback[name][0].read_text()
        assert got == own, f"{name} did not get their own feedback"
        scores[name] = total_score(got)
    (ada, maximum), (bob, _) = scores[STUDENTS[0]], scores[STUDENTS[1]]
    assert bob < ada <= maximum, scores
    ada_text = feedback[STUDENTS[0]][0].read_text()
    assert ada_text != feedback[STUDENTS[1]][0].read_text()


def test_students_cannot_reach_other_work_or_the_course(hub, round_trip):
    """A student's own processes (the same user and mount view as their server and kernels)
    cannot list the exchange's inbound or feedback folders, nor read another student's home,
    the teacher's course, gradebook or solutions; their Jupyter server's contents API serves
    only their home."""
    course, state = round_trip["course"], hub["state"]
    exchange = state / "exchange" / COURSE_ID
    submission = next((exchange / "inbound").iterdir())
    probe = (
        "import json, os, sys\n"
        "out = {}\n"
        "for kind, path in json.loads(sys.argv[1]):\n"
        "    try:\n"
        "        (os.listdir if kind == 'list' else lambda p: open(p, 'rb').read(1))(path)\n"
        "        out[path] = 'allowed'\n"
        "    except OSError as error:\n"
        "        out[path] = type(error).__name__\n"
        "print(json.dumps(out))\n"
    )
    other_home = Path(pwd.getpwnam(STUDENTS[0]).pw_dir)
    closed = [
        ("list", str(exchange / "inbound")), ("list", str(exchange / "feedback")),
        ("list", str(course)), ("read", str(course / "autograde" / "gradebook.db")),
        ("read", str(course / "solutions" / SHEET / f"{SHEET}.ipynb")),
        ("list", str(other_home)), ("read", str(other_home / SHEET / f"{SHEET}.ipynb")),
        ("list", str(course / "autograde" / "submitted")),
    ]
    done = as_user(STUDENTS[1], state, str(BIN / "python"), "-c", probe, json.dumps(closed))
    reached = json.loads(done.stdout)
    assert all(v == "PermissionError" for v in reached.values()), reached
    # The exchange's released sheet is open to every student (that is how they fetch it).
    done = as_user(STUDENTS[1], state, str(BIN / "python"), "-c", probe,
                   json.dumps([("list", str(exchange / "outbound" / SHEET))]))
    assert set(json.loads(done.stdout).values()) == {"allowed"}
    assert submission.name.split("+")[0] in STUDENTS
    # Nor move the teacher's course folder in the exchange aside (the exchange is sticky).
    moved = as_user(STUDENTS[1], state, str(BIN / "python"), "-c",
                    f"import os; os.rename({str(exchange)!r}, {str(exchange) + '-moved'!r})", check=False)
    assert moved.returncode != 0 and "PermissionError" in moved.stderr, moved.stderr
    api = round_trip["api"]
    assert api["own home"] == 200, "the contents API check itself does not work"
    leaks = {what: status for what, status in api.items() if what != "own home" and status == 200}
    assert not leaks, f"a student's session reached: {leaks}"


def test_a_python_in_a_closed_folder_is_shown_to_users_and_nothing_beside_it(hub):
    """hub/as_user.py, as the hub's spawner uses it, where the course's Python lies in a folder
    other users cannot enter (a pyenv Python under /root, say): the user runs it, and sees
    nothing else in that folder. The suite's own environment may lie in open folders (the
    system's Python), so the test makes one in a closed folder."""
    closed = Path(tempfile.mkdtemp(prefix="dlcourse-closed-"))  # mode 0700: closed to other users
    try:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(closed / "env")], check=True)
        (closed / "secret.txt").write_text("the teacher's")
        python = str(closed / "env" / "bin" / "python")
        probe = ("import json, os, sys\nout = {'prefix': sys.prefix, 'listed': os.listdir(sys.argv[1])}\n"
                 "try:\n    open(os.path.join(sys.argv[1], 'secret.txt')).read()\n    out['secret'] = 'read'\n"
                 "except OSError as error:\n    out['secret'] = type(error).__name__\nprint(json.dumps(out))\n")
        shim = hub["state"] / "closed-python-shim"
        done = subprocess.run([python, str(HUB / "as_user.py"), STUDENTS[1], str(shim), "--", python, "-c", probe,
                               str(closed)], capture_output=True, text=True)
        assert done.returncode == 0, f"the user could not run the Python in a closed folder:\n{done.stderr}"
        seen = json.loads(done.stdout)
        assert seen == {"prefix": str(closed / "env"), "listed": ["env"], "secret": "FileNotFoundError"}, seen
        without = subprocess.run([sys.executable, "-c", "import os, sys; os.setuid(int(sys.argv[1])); "
                                  "os.execv(sys.argv[2], sys.argv[2:])", str(pwd.getpwnam(STUDENTS[1]).pw_uid),
                                  python, "-c", "pass"], capture_output=True, text=True)
        assert without.returncode != 0 and "Permission denied" in without.stderr, "the folder is not closed"
    finally:
        shutil.rmtree(closed, ignore_errors=True)
