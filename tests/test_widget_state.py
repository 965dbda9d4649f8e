"""No notebook of the course carries saved widget state.

JupyterLab can save the state of the slider views into a notebook (Settings -> Jupyter
Widgets -> "Save Jupyter widget state in notebooks", off by default). The course keeps it off:

* a saved view shows its old figure and sliders that do nothing until its cell runs again,
  which looks like a broken view; without saved state JupyterLab says *Error displaying
  widget*, and the sentence above each view tells the student to run the cell again;
* the state lives in the notebook's metadata (``metadata.widgets``), with every figure of every
  view as a PNG; nbgrader's generate_assignment clears cell outputs but keeps that metadata, so
  a teacher who saves a solution with widget state would hand out the solution's figures.
"""

import json

import pytest
from nbtools import SHEETS, notebook, run_nbgrader
from test_course import make_course


@pytest.mark.parametrize("sheet", SHEETS)
@pytest.mark.parametrize("folder", ["solutions", "notebooks"])
def test_no_saved_widget_state(sheet, folder):
    metadata = json.loads(notebook(sheet, folder).read_text())["metadata"]
    assert "widgets" not in metadata, (
        f"{folder}/{sheet} holds saved widget state (metadata.widgets): turn off Settings -> "
        "Jupyter Widgets -> Save widget state, remove the key, and run `make release`"
    )


def test_generate_assignment_would_pass_widget_state_on(tmp_path):
    """Why the check above matters: the release keeps a source's notebook metadata."""
    sheet = SHEETS[0]
    (tmp_path / "solutions").mkdir()
    source = json.loads(notebook(sheet).read_text())
    source["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2, "version_minor": 0}}
    course = make_course(tmp_path, [])
    (course / "solutions" / sheet).mkdir(parents=True)
    notebook(sheet, root=course).write_text(json.dumps(source))
    run_nbgrader("generate_assignment", sheet, "--force", cwd=course)
    release = json.loads(notebook(sheet, "notebooks", root=course).read_text())
    assert "widgets" in release["metadata"]
