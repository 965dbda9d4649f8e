"""What the feedback says under a failed test cell (no kernel needed: the graded cells are built
here as the worker leaves them)."""

import nbformat

from coursegrade import feedback, worker

VISIBLE = "x = 1\nassert x == 2\n"
HIDDEN = "x = 1\n### BEGIN HIDDEN TESTS\nassert x == 3, 'the hidden value'\n### END HIDDEN TESTS\n"


def failed_test_cell(source, failing_line, count=7):
    cell = nbformat.v4.new_code_cell(source, execution_count=count)
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "test_a1_thing", "points": 1, "solution": False}
    frame = f"Cell In[{count}], line {failing_line}\n      1 x = 1\n----> {failing_line} assert ..."
    cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="",
                                           traceback=["Traceback", frame, "AssertionError: "])]
    return cell


def feedback_text(cell):
    message, hidden, line = worker._failure(cell)
    cell.metadata["coursegrade"] = {"verdict": "failed", "message": message, "hidden": hidden, "line": line}
    nb = nbformat.v4.new_notebook(cells=[cell])
    cleaned = feedback.clean_notebook(nb)
    return "".join(o.text for o in cleaned.cells[0].outputs if o.output_type == "stream")


def test_a_bare_assert_shows_the_visible_line_that_failed():
    text = feedback_text(failed_test_cell(VISIBLE, 2))
    assert "a test of 'test_a1_thing' failed: AssertionError" in text
    assert "assert x == 2" in text, text


def test_a_hidden_line_is_never_shown():
    text = feedback_text(failed_test_cell(HIDDEN, 3))
    assert "a hidden test of 'test_a1_thing' failed" in text
    assert "x == 3" not in text and "the hidden value" not in text, text


def test_a_none_used_as_a_number_says_what_was_expected():
    cell = failed_test_cell(VISIBLE, 2)
    cell.outputs[0].ename, cell.outputs[0].evalue = "TypeError", "unsupported operand type(s) for -: 'NoneType' and 'float'"
    text = feedback_text(cell)
    assert "is None where a number or an array was expected" in text and "`return`" in text, text
    assert "assert x == 2" in text, "the failing line is shown too"


def test_the_feedback_exporter_writes_what_nbconvert_writes():
    """FeedbackExporter skips nbconvert's accessibility pass where it can change nothing: a page
    with an image (or the lab template's cells) is nbconvert's byte for byte; one without is the
    page that pass would have re-serialised (nbconvert's is exactly its re-serialisation)."""
    from bs4 import BeautifulSoup
    from nbconvert.exporters import HTMLExporter

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# A title\n\nSome *text*, & and <b>bold</b>"),
        nbformat.v4.new_code_cell("ok = 1 < 2\nprint(ok)", outputs=[nbformat.v4.new_output("stream", text="True\n")])])
    image = nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo="})
    for template in ("classic", "lab"):
        ours, _ = feedback.FeedbackExporter(template_name=template).from_notebook_node(nb)
        theirs, _ = HTMLExporter(template_name=template).from_notebook_node(nb)
        assert str(BeautifulSoup(ours, features="html.parser")) == theirs, template
        with_image = nbformat.v4.new_notebook(cells=[*nb.cells, nbformat.v4.new_code_cell("", outputs=[image])])
        ours, _ = feedback.FeedbackExporter(template_name=template).from_notebook_node(with_image)
        theirs, _ = HTMLExporter(template_name=template).from_notebook_node(with_image)
        assert ours == theirs and 'alt="No description' in ours, template
