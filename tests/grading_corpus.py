"""Submissions of the kinds a class produces, made at test time from sheet 01's release and
source (so they follow whatever the sheet's cells are now): honest ones and broken, looping,
crashing, hand-edited and hostile ones. Each hostile submission is built on an honest base
("complete" or "untouched"): it must earn exactly what that base earns.
"""

import base64
import contextlib
import copy
import fcntl
import json
import os
import shutil

import nbformat
import tester_attacks
from nbtools import ROOT, is_code_answer, is_test_cell, notebook, run_nbgrader
from nbtools import fill as _fill

SHEET = "01_sigmoid_softmax_gradient_descent"


def mounted_under(folder):
    """What is mounted below folder (a killed grader's working copy, when root); [] without
    /proc. Read here, not with coursegrade.tempfolders, whose sweep the tests check."""
    mounts = "/proc/self/mounts"
    lines = open(mounts).read().splitlines() if os.path.exists(mounts) else []
    return [line.split()[1] for line in lines if line.split()[1].startswith(f"{folder}/")]


def fill(release, source, how_many=None):
    """The release with reference code in its answer cells; written answers stay empty, so
    that no reference answer can reach a student's feedback."""
    return _fill(release, source, how_many, written=False)


def make_course(folder, sheet=SHEET):
    """A course folder with this project's config, the sheet's source and its release."""
    shutil.copy(ROOT / "nbgrader_config.py", folder)
    shutil.copytree(ROOT / "solutions" / sheet, folder / "solutions" / sheet)
    shutil.copytree(ROOT / "notebooks" / sheet, folder / "notebooks" / sheet)
    (folder / "autograde").mkdir(exist_ok=True)
    return folder


def _add_cell(nb, source, after=0):
    nb.cells.insert(after, nbformat.v4.new_code_cell(source))
    return nb


def _first_answer_index(nb):
    return next(i for i, c in enumerate(nb.cells) if is_code_answer(c))


def _tests(nb):
    return [c for c in nb.cells if is_test_cell(c) and c.cell_type == "code"]


def honest(release, source):
    answers = len([c for c in release.cells if is_code_answer(c)])
    return {"complete": fill(release, source), "half": fill(release, source, answers // 2),
            "untouched": copy.deepcopy(release)}


HONEST = ("complete", "half", "untouched")


def honest_course(folder, sheet=SHEET):
    """A course in which the honest students of the batch handed in the sheet."""
    course = make_course(folder, sheet)
    release = nbformat.read(notebook(sheet, "notebooks"), as_version=4)
    source = nbformat.read(notebook(sheet), as_version=4)
    for student, nb in honest(release, source).items():
        target = course / "autograde" / "submitted" / student / sheet
        target.mkdir(parents=True)
        nbformat.write(nb, target / f"{sheet}.ipynb")
    return course


def plain_nbgrader_scores(course, generate=True, sheet=SHEET):
    """{student: {test grade_id: score}} of the honest submissions by plain `nbgrader autograde`
    (with ``generate=False`` read from a course in which that has already run)."""
    from nbgrader.api import Gradebook

    if generate:
        run_nbgrader("generate_assignment", sheet, "--force", cwd=course)
        run_nbgrader("autograde", sheet, cwd=course)
    with Gradebook(f"sqlite:///{course / 'autograde' / 'gradebook.db'}") as gb:
        return {student: {g.name: g.auto_score for g in gb.find_submission_notebook(sheet, sheet, student).grades
                          if g.cell.cell_type == "code"} for student in HONEST}


@contextlib.contextmanager
def _shared_scores(tmp_path_factory, sheet):
    """The file that holds a sheet's plain scores for the whole test run, locked while in use:
    the test files that need it may run on different pytest-xdist workers, which share the
    parent of their temporary folders."""
    folder = tmp_path_factory.getbasetemp()
    folder = folder.parent if os.environ.get("PYTEST_XDIST_WORKER") else folder
    with open(folder / f"plain-nbgrader-scores-{sheet}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield folder / f"plain-nbgrader-scores-{sheet}.json"


def shared_plain_scores(tmp_path_factory, sheet=SHEET):
    """``plain_nbgrader_scores`` of the sheet's honest course, computed once per test run: by the
    first test file that asks, or taken from test_course.py's graded course
    (``offer_plain_scores``), where plain nbgrader grades the same three notebooks."""
    with _shared_scores(tmp_path_factory, sheet) as result:
        if not result.exists():
            scores = plain_nbgrader_scores(honest_course(tmp_path_factory.mktemp("plain"), sheet), sheet=sheet)
            result.write_text(json.dumps(scores))
        return json.loads(result.read_text())


def offer_plain_scores(tmp_path_factory, course, sheets):
    """Keep the plain scores of a course graded by plain nbgrader in which the honest students
    handed in these sheets, for ``shared_plain_scores`` (unless they are there already)."""
    for sheet in sheets:
        with _shared_scores(tmp_path_factory, sheet) as result:
            if not result.exists():
                result.write_text(json.dumps(plain_nbgrader_scores(course, generate=False, sheet=sheet)))


def corpus(course):
    """{student: (bytes of the notebook, honest base or None)} for the whole batch."""
    release = nbformat.read(notebook(SHEET, "notebooks"), as_version=4)
    source = nbformat.read(notebook(SHEET), as_version=4)
    base = honest(release, source)
    made = {name: (nbformat.writes(nb).encode(), name) for name, nb in base.items()}

    def variant(name, of, change):
        nb = change(copy.deepcopy(base[of]))
        made[name] = (nb if isinstance(nb, bytes) else nbformat.writes(nb).encode(), of)

    def duplicate_answer(nb):  # a copy-pasted answer cell: same cell id, same grade id
        index = _first_answer_index(nb)
        nb.cells.insert(index + 1, copy.deepcopy(nb.cells[index]))
        return nb

    def edit_and_delete_tests(nb):
        tests = _tests(nb)
        tests[0].source = "pass  # the student made the test pass"
        nb.cells.remove(tests[-1])
        return nb

    def metadata_edits(nb):
        answers = [c for c in nb.cells if is_code_answer(c)]
        del answers[0].metadata["nbgrader"]  # lost its nbgrader metadata
        _tests(nb)[1].metadata["nbgrader"]["grade_id"] = "renamed_by_student"
        _tests(nb)[2].metadata["nbgrader"]["points"] = 100
        return nb

    def crash_midway(nb):  # the kernel dies after part A's tests
        index = nb.cells.index(_tests(nb)[5]) + 1
        return _add_cell(nb, "import os\nos._exit(3)", index)

    def loop(nb):
        return _add_cell(nb, "while True:\n    pass", _first_answer_index(nb) + 1)

    def stderr_and_output(nb):
        answer = [c for c in nb.cells if is_code_answer(c)][1]  # writes to stderr when a test calls it
        answer.source = "import sys\n" + answer.source.replace("\n    ", "\n    sys.stderr.write('debug note\\n')\n    ", 1)
        return _add_cell(nb, "print('x' * (50 * 2**20))", _first_answer_index(nb))

    paths = {
        "gradebook": course / "autograde" / "gradebook.db",
        "config": course / "nbgrader_config.py",
        "solutions": course / "solutions",
        "other": course / "autograde" / "submitted" / "complete" / SHEET / f"{SHEET}.ipynb",
        "feedback": course / "autograde" / "feedback",
    }
    attack = f"""
import glob, os, sqlite3, subprocess
paths = {json.dumps({k: str(v) for k, v in paths.items()})}
stolen = []
for pattern in (paths["solutions"] + "/*/*.ipynb", "/work/*/solutions/*/*.ipynb", "../../*/*/*.ipynb"):
    for name in glob.glob(pattern):
        try:
            stolen.append(open(name).read()[:50])
        except OSError:
            pass
print("read", len(stolen), "files outside the submission")
for action in (
    lambda: sqlite3.connect(paths["gradebook"]).execute("update grade set auto_score = 99"),
    lambda: os.remove(paths["gradebook"]),
    lambda: open(paths["config"], "a").write("\\nimport os; os.system('touch /tmp/owned')\\n"),
    lambda: open(paths["other"], "w").write("{{}}"),
    lambda: os.makedirs(paths["feedback"] + "/complete", exist_ok=True),
):
    try:
        action()
        print("an attack succeeded")
    except Exception as error:
        print("blocked:", type(error).__name__)
try:
    subprocess.Popen(["sh", "-c", "sleep 30; echo owned >> " + paths["config"]], start_new_session=True)
except Exception as error:
    print("no background process:", error)
try:
    import socket
    socket.create_connection(("pypi.org", 443), timeout=3)
    print("network reachable")
except Exception as error:
    print("no network:", type(error).__name__)
"""

    def patch_numpy(nb):
        return _add_cell(nb, "import numpy as np, numpy.testing, os\n"
                             "np.allclose = lambda *a, **k: True\nnp.isclose = lambda *a, **k: True\n"
                             "np.testing.assert_allclose = lambda *a, **k: None\n"
                             "os.environ.pop('NBGRADER_EXECUTION', None)", _first_answer_index(nb))

    def transformer(nb):
        return _add_cell(nb, "ip = get_ipython()\n"
                             "ip.input_transformers_post.append(lambda lines: ['pass\\n'] if any('assert' in l for l in lines) else lines)\n"
                             "ip.set_custom_exc((Exception,), lambda *args, **kwargs: None)\n"
                             "import sys\nsys.excepthook = lambda *args: None", _first_answer_index(nb))

    def leak_tests(nb):  # records the code it sees run, prints it in a later cell
        nb = _add_cell(nb, "import sys\nseen = []\nsys.addaudithook(lambda event, args: seen.append(str(args[0])) "
                           "if event == 'compile' and args and isinstance(args[0], (str, bytes)) else None)", 1)
        nb.cells.append(nbformat.v4.new_code_cell("print('\\n'.join(str(s) for s in seen))"))
        return nb

    def report_shipped_code(nb):  # files beside the notebook (SHIPPED) must not run as code
        return _add_cell(nb, "import builtins, sympy\nprint('shipped code ran:', getattr(builtins, 'shipped', None))\n"
                             "print('sympy from', sympy.__file__)", _first_answer_index(nb))

    def fill_the_disk(nb):  # one cell writes until the disk cap stops it, the next frees the space
        nb = _add_cell(nb, "import glob, os\nfor folder in ('/tmp', '.', os.environ['HOME']):\n"
                           "    try:\n        for i in range(40):\n"
                           "            open(f'{folder}/hog{i}', 'wb').write(b'x' * 2**20)\n"
                           "    except OSError as error:\n        print('writing stopped:', error.strerror)",
                       _first_answer_index(nb))
        return _add_cell(nb, "for name in glob.glob('/tmp/hog*') + glob.glob('hog*') + glob.glob(os.environ['HOME'] + '/hog*'):\n"
                             "    os.remove(name)", _first_answer_index(nb) + 1)

    def leak_disguised(nb):  # prints what it sees run as HTML entities, with look-alike and zero-width spaces
        nb = leak_tests(nb)
        nb.cells[-1].source = (
            "from IPython.display import HTML, display\n"
            "for line in '\\n'.join(str(s) for s in seen).splitlines():\n"
            "    display(HTML(''.join(f'&#{ord(c)};' for c in line)))\n"
            "    print(line.replace(' ', '\\u00a0', 1).replace(' ', '\\u2003'))\n"
            "    print(line.replace(' ', '\\u200b'), file=sys.stderr)")
        return nb

    def active_content(nb):  # HTML that would run in the teacher's browser, in outputs and markdown
        nb.cells.insert(1, nbformat.v4.new_markdown_cell(ACTIVE))
        hidden = base64.b64encode(ACTIVE.encode()).decode()  # the code itself shows none of it
        return _add_cell(nb, f"import base64\nfrom IPython.display import HTML, Markdown, display\n"
                             f"active = base64.b64decode({hidden!r}).decode()\n"
                             f"display(HTML(active))\ndisplay(Markdown(active))\n"
                             f"display({{'application/javascript': active[8:16], 'text/plain': 'js'}}, raw=True)\n"
                             f"display({{'image/png': {PNG!r}}}, raw=True, metadata={{'image/png': {{'width': '1 ' + active[36:52]}}}})",
                         _first_answer_index(nb))

    variant("duplicate_cell", "complete", duplicate_answer)
    variant("broken_json", "complete", lambda nb: nbformat.writes(nb).encode()[: len(nbformat.writes(nb)) // 2])
    variant("old_format", "complete", lambda nb: nbformat.writes(nbformat.convert(nb, 3)).encode())
    variant("edited_tests", "complete", edit_and_delete_tests)
    variant("metadata_edits", "complete", metadata_edits)
    variant("crash", "complete", crash_midway)
    variant("loop", "complete", loop)
    variant("noisy", "complete", stderr_and_output)
    variant("hostile_files", "untouched", lambda nb: _add_cell(nb, attack, _first_answer_index(nb)))
    variant("hostile_numpy", "untouched", patch_numpy)
    variant("hostile_transformer", "untouched", transformer)
    variant("leak", "complete", leak_tests)
    variant("hostile_shipped", "untouched", report_shipped_code)
    variant("disk_hog", "complete", fill_the_disk)
    variant("leak_disguised", "complete", leak_disguised)
    variant("active_content", "complete", active_content)
    tester_attacks.attacks(variant)
    made["broken_json"] = (made["broken_json"][0], None)  # nothing readable: graded as untouched
    made["crash"] = (made["crash"][0], None)  # only the tests before the crash count
    for name in ("crash_in_call", "endless_callbacks"):  # lose the tests the attack stops (checked apart)
        made[name] = (made[name][0], None)
    return made


# Code a submission ships beside its notebook, which ran before the guard when the kernel's
# HOME was the working copy (an IPython startup file) or which shadowed a real package when the
# working copy was on sys.path (a numpy that patches the real one, a sympy of its own).
_SHIPPED = "import builtins\nbuiltins.shipped = {!r}\n"
_FAKE_NUMPY = _SHIPPED.format("numpy") + """import os, sys
here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:] = [p for p in sys.path if p not in ("", ".", here)]
del sys.modules["numpy"]
import numpy
numpy.allclose = lambda *a, **k: True
"""
SHIPPED = {"hostile_shipped": {
    ".ipython/profile_default/startup/00-grading.py": _SHIPPED.format("IPython startup file"),
    "numpy/__init__.py": _FAKE_NUMPY,
    "sympy/__init__.py": _SHIPPED.format("sympy"),
}}


ACTIVE = ("<script>alert(1)</script><img src=x onerror=alert(1)><a href=\"javascript:alert(1)\">a link</a>"
          "<svg onload=alert(1)><script>alert(2)</script></svg><iframe src=\"javascript:alert(3)\"></iframe>"
          "<object data=\"x.swf\"></object><b onmouseover=alert(4)>bold</b> <table><tr><td>a table</td></tr></table>")
ACTIVE_MARKERS = ("<script", "onerror=", "javascript:", "onload=", "onmouseover=", "<iframe", "<object", "alert(")
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def assert_nothing_active(course, sheet, student, honest):
    """Neither the student's autograded notebook (the Formgrader's view) nor its feedback carries
    an ACTIVE_MARKER (the feedback no more than the honest student's); what the notebook shows,
    as lowercase JSON, for the caller's checks that the harmless content stayed."""
    graded = nbformat.read(course / "autograde" / "autograded" / student / sheet / f"{sheet}.ipynb", 4)
    shown = json.dumps([c.source for c in graded.cells if c.cell_type != "code"]
                       + [c.outputs for c in graded.cells if c.cell_type == "code"] + [graded.metadata]).lower()
    feedback = course / "autograde" / "feedback"
    page = (feedback / student / sheet / f"{sheet}.html").read_text().lower()
    plain = (feedback / honest / sheet / f"{sheet}.html").read_text().lower()
    for marker in ACTIVE_MARKERS:
        assert marker not in shown, f"the autograded notebook carries {marker}"
        assert page.count(marker) == plain.count(marker), f"the feedback carries {marker}"
    return shown


def graded_cells(result):
    """{grade id: graded cell} of a submission's grading result, over all its notebooks."""
    return {gid: cell for nb in result["notebooks"].values() for gid, cell in nb["cells"].items()}


def total(result):
    """The points a submission's grading result earned, over all its notebooks."""
    return sum(c["score"] for nb in result["notebooks"].values() for c in nb["cells"].values())


def scored_differently(student, results, base):
    """The failure message for a submission whose score is not its honest base's: the test cells
    scored differently (score, verdict, the base's score) and the grader's reasons."""
    honest_cells = graded_cells(results[base])
    differing = {gid: (cell["score"], cell["verdict"], honest_cells.get(gid, {}).get("score"))
                 for gid, cell in graded_cells(results[student]).items()
                 if cell["score"] != honest_cells.get(gid, {}).get("score")}
    return (f"{student} (built on {base}): cells scored differently (score, verdict, honest score) "
            f"{differing}; reasons {results[student]['reasons']}")


def collect(course, submissions):
    for student, (data, _) in submissions.items():
        folder = course / "autograde" / "submitted" / student / SHEET
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{SHEET}.ipynb").write_bytes(data)
        for name, text in SHIPPED.get(student, {}).items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)
