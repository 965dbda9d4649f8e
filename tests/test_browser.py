"""The course in a real browser: JupyterLab 4 in headless Chromium, driven with the mouse.

One JupyterLab for the whole module, on a free port of 127.0.0.1, in a temporary copy of the
course (solutions/, notebooks/, nbgrader_config.py), loaded once in one browser page, in which
the notebooks open one after the other, each with a kernel of its own (as a student works
through the sheets). For every sheet:

* the release opens and Run All reaches the last cell: test cells fail with a one-line
  message (they carry the ``raises-exception`` tag, which JupyterLab honours), nothing else;
* in the solution, every slider view renders, and changing each of its active controls with
  the mouse changes the figure (the time until the new image is there is printed);
* the Validate button reports success on the solution and lists the failures on the release;
* the Formgrader lists every sheet, without the "exchange missing" warning;
* the browser console shows no errors.

The solutions run with ``DLCOURSE_BUDGET=quick`` (the grading budget, figures as usual), so the
module takes a few minutes. Screenshots go to ``test-artifacts/browser/`` (git-ignored).

Needs Playwright for Python (requirements.txt) and Chromium from the system's packages
(``apt-get install chromium``; another binary can be named in ``DLCOURSE_CHROMIUM``); without
them the module is skipped. Skip it on purpose with ``pytest -m "not browser"``.
"""

import shutil
import time

import pytest
from browser import (
    CHROMIUM,
    FIGURE_WAIT,
    LabPage,
    Notebook,
    change_control,
    image_of,
    ink,
    is_disabled,
    lab_server,
)
from nbtools import ROOT, SHEETS

sync_playwright = pytest.importorskip(
    "playwright.sync_api", reason="Playwright for Python is not installed (pip install -r requirements.txt)"
).sync_playwright
if not CHROMIUM:
    pytest.skip("no Chromium found: apt-get install chromium, or set DLCOURSE_CHROMIUM", allow_module_level=True)

# A view's figure with less ink than this is blank (drawn ones have 20-35 %; under load, before
# views drew on the kernel's main thread, some came out all white: dlcourse/widgets.py).
BLANK = 0.02

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "test-artifacts" / "browser"
SUCCESS = "Success! Your notebook passes all the tests."


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    for folder in ("solutions", "notebooks"):
        shutil.copytree(ROOT / folder, course / folder)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    with lab_server(course, env={"DLCOURSE_BUDGET": "quick"}, log=ARTIFACTS / "jupyterlab.log") as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def lab_page(browser, lab):
    """JupyterLab in one browser page, in which the notebooks open one after the other."""
    page = LabPage(browser, *lab)
    yield page
    page.close()


def open_notebook(browser, lab, lab_page, folder, sheet):
    url, token = lab
    return Notebook(browser, url, token, f"{folder}/{sheet}/{sheet}.ipynb", ARTIFACTS / sheet, lab=lab_page)


def assert_no_console_errors(notebook):
    assert not notebook.errors, "the browser console shows errors:\n" + "\n".join(notebook.errors)


def opened_and_run(request, browser, lab, lab_page, folder, what):
    notebook = open_notebook(browser, lab, lab_page, folder, request.param)
    start = time.perf_counter()
    notebook.run_all()
    print(f"\n{request.param} {what}: Run All took {time.perf_counter() - start:.1f} s")
    return request.param, notebook


@pytest.fixture(scope="module", params=SHEETS)
def release(request, browser, lab, lab_page):
    """The untouched release of a sheet after Run All."""
    sheet, notebook = opened_and_run(request, browser, lab, lab_page, "notebooks", "release")
    yield sheet, notebook
    notebook.close()


@pytest.fixture(scope="module", params=SHEETS)
def solution(request, browser, lab, lab_page):
    """The solution of a sheet after Run All (on the quick budget)."""
    sheet, notebook = opened_and_run(request, browser, lab, lab_page, "solutions", "solution")
    yield sheet, notebook
    notebook.close()


def validation_message(sheet, notebook, name):
    """Click Validate; return the text of nbgrader's answer (a screenshot is saved as name)."""
    start = time.perf_counter()
    text = notebook.validate().inner_text()
    print(f"{sheet}: Validate answered after {time.perf_counter() - start:.1f} s")
    notebook.screenshot(name)
    notebook.page.keyboard.press("Escape")
    return text


def test_release_runs_all_cells_and_only_test_cells_fail(release):
    sheet, notebook = release
    cells = notebook.cells()
    notebook.screenshot("release-end")
    not_run = [c["index"] for c in cells if not c["count"]]
    crashed = [(c["index"], o["ename"]) for c in cells for o in c["outputs"]
               if o["output_type"] == "error" and "raises-exception" not in c["tags"]]
    assert not not_run, f"Run All stopped: cells {not_run} did not run; failed untagged cells: {crashed}"
    failed = [c for c in cells if any(o["output_type"] == "error" for o in c["outputs"])]
    assert failed, "the untouched release should fail its test cells"
    for cell in failed:
        error = next(o for o in cell["outputs"] if o["output_type"] == "error")
        assert "raises-exception" in cell["tags"], f"cell {cell['index']} failed without the tag: {error['ename']}"
        if error["ename"] == "NotImplementedError":
            assert len(error["traceback"]) == 1 and "is not implemented yet" in error["traceback"][0], (
                f"cell {cell['index']}: a student should see one line naming the function, got {error['traceback']}"
            )
    first = notebook.page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").first
    first.scroll_into_view_if_needed()
    notebook.screenshot("release-first-error")
    assert_no_console_errors(notebook)


def test_validate_lists_the_failures_of_the_release(release):
    sheet, notebook = release
    text = validation_message(sheet, notebook, "release-validate")
    assert "The following cell failed" in text and SUCCESS not in text, text[:2000]
    assert_no_console_errors(notebook)


def test_solution_runs_without_errors(solution):
    sheet, notebook = solution
    cells = notebook.cells()
    notebook.screenshot("solution-end")
    assert all(c["count"] for c in cells), "Run All did not reach the last cell of the solution"
    errors = [(c["index"], o["ename"]) for c in cells for o in c["outputs"] if o["output_type"] == "error"]
    assert not errors, f"cells failed in the solution: {errors}"
    assert_no_console_errors(notebook)


def test_slider_views_render_and_answer_real_input(solution):
    """Every active slider is dragged once, then every other option of a row of buttons is
    clicked (sliders first: an option may grey some of them out)."""
    sheet, notebook = solution
    page, views = notebook.page, notebook.views()
    assert views.count() >= 1, "the solution should show at least one slider view"
    problems = []
    for v in range(views.count()):
        view = views.nth(v)
        view.scroll_into_view_if_needed()
        assert image_of(view), f"slider view {v} shows no figure"
        assert ink(view) > BLANK, f"slider view {v} shows a blank figure"
        notebook.screenshot(f"view{v}-start", view)
        changes = [(control, None) for control in view.locator(".widget-slider").all()]
        for buttons in view.locator(".widget-toggle-buttons").all():
            options = buttons.locator("button")  # every option but the chosen one, in order
            active = [("mod-active" in (b.get_attribute("class") or "")) for b in options.all()]
            changes += [(buttons, options.nth(i)) for i, on in enumerate(active) if not on]
        for k, (control, button) in enumerate(changes):
            name = control.locator(".widget-label").first.inner_text()
            if is_disabled(control):
                print(f"{sheet} view {v}, {name}: greyed out")
                continue
            what, seconds = change_control(page, view, control, button)
            timing = f"figure unchanged after {FIGURE_WAIT} s" if seconds is None else f"new figure after {seconds:.2f} s"
            print(f"{sheet} view {v}, {name}: {what}; {timing}")
            notebook.screenshot(f"view{v}-{k}-{name.replace(' ', '_')}", view)
            if seconds is None:
                problems.append(f"view {v}: {name} ({what}) did not change the figure")
            elif ink(view) <= BLANK:
                problems.append(f"view {v}: after {name} ({what}) the figure is blank")
    assert not problems, "\n".join(problems)
    assert_no_console_errors(notebook)


def test_validate_reports_success_on_the_solution(solution):
    sheet, notebook = solution
    text = validation_message(sheet, notebook, "solution-validate")
    assert SUCCESS in text, text[:2000]
    assert_no_console_errors(notebook)


def test_formgrader_lists_every_sheet(browser, lab):
    url, token = lab
    notebook = Notebook(browser, url, token, None, ARTIFACTS)
    try:
        notebook.menu("Nbgrader", "Formgrader")
        frame = notebook.page.frame_locator("iframe[src*='formgrader']")
        frame.locator(f"tr:has-text('{SHEETS[-1]}')").wait_for()
        text = frame.locator("body").inner_text()
        notebook.screenshot("formgrader")
        for sheet in SHEETS:
            assert sheet in text, f"the Formgrader does not list {sheet}"
        assert "does not exist" not in text, "the Formgrader warns about the exchange folder"
        assert_no_console_errors(notebook)
    finally:
        notebook.close()
