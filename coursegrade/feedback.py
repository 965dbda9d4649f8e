"""Feedback without hidden tests or reference code: an nbgrader preprocessor.

nbgrader_config.py adds ``HideHiddenTests`` to ``GenerateFeedback.preprocessors``, so both
``coursegrade`` and a plain ``nbgrader generate_feedback`` use it. For each notebook it

- cuts the hidden part out of every test cell (what the student saw in the release stays);
- replaces a failed test's traceback by its message and the task it belongs to (for a hidden
  test: only that a hidden test of the task failed, and its assert message);
- cuts other tracebacks to the frames in cells the student wrote;
- removes every output line that repeats a line of a hidden test or of the reference solution
  (a submission could print the code it saw being run), compared in a normal form, so that
  HTML entities, look-alike spaces and invisible characters do not hide it (``normal``);
- puts the grader's reasons (repairs, crash, timeout) at the top.
"""

import contextlib
import html
import re
import unicodedata
from pathlib import Path

import jinja2
import nbformat
from nbconvert.exporters import HTMLExporter
from nbgrader.preprocessors import NbGraderPreprocessor

from coursegrade import sanitize

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
FRAME = re.compile(r"(?:Cell In\s*\[(\d+)\]|Input In\s*\[(\d+)\])")
TAG = re.compile(r"<[^<>]*>")
INVISIBLE = {"Cc", "Cf", "Mn", "Me"}  # controls, zero-width and format characters, combining marks
MIN_SECRET = 12  # shorter lines ("import torch", "assert ok") are not secrets


def marked(source, begin="BEGIN HIDDEN TESTS", end="END HIDDEN TESTS"):
    """(line number, line, inside the markers) for every line of a cell that is not a marker."""
    inside = False
    for number, line in enumerate(source.splitlines(), 1):
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        else:
            yield number, line, inside


def split_hidden(source):
    """(visible source, hidden lines) of a test cell."""
    lines = list(marked(source))
    return "\n".join(line for _, line, hidden in lines if not hidden).rstrip(), [line for _, line, hidden in lines if hidden]


def solution_lines(source):
    return [line for _, line, inside in marked(source, "BEGIN SOLUTION", "END SOLUTION") if inside]


def _is_test(cell):
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")


def secret_lines(nb, source_nb=None):
    """Lines that must not reach a student: hidden tests, reference solutions (stripped),
    except lines that are visible anyway (in the release part of the notebook)."""
    secrets, visible = set(), set()
    for cell in nb.cells:
        if _is_test(cell):
            shown, hidden = split_hidden(cell.source)
            secrets.update(line.strip() for line in hidden)
            visible.update(line.strip() for line in shown.splitlines())
        else:
            visible.update(line.strip() for line in cell.source.splitlines())
    if source_nb is not None:
        for cell in source_nb.cells:
            secrets.update(line.strip() for line in solution_lines(cell.source))
            _, hidden = split_hidden(cell.source)
            secrets.update(line.strip() for line in hidden)
    # a hidden line that is part of a visible one (e.g. without its comment) is no secret
    shown = "\n".join(normal(line) for line in visible)
    return {s for s in secrets if len(s) >= MIN_SECRET and normal(s) not in shown}


def normal(text):
    """The form lines are compared in: HTML entities decoded, Unicode look-alikes (NFKC) made
    plain, no spaces of any kind and no invisible characters (a zero-width space can stand
    where a space was)."""
    text = "".join(unicodedata.normalize("NFKC", html.unescape(text)).split())
    return "".join(c for c in text if unicodedata.category(c) not in INVISIBLE)


def scrub(text, secrets):
    """text without the lines that show a secret line, compared in normal form, as plain text
    and as markup (tags taken out: a line can be split by <span>s)."""
    secrets, kept = [normal(secret) for secret in secrets], []
    for line in text.split("\n"):
        plain = normal(ANSI.sub("", line))
        bare = normal(TAG.sub(" ", ANSI.sub("", line)))
        if any(secret in plain or secret in bare for secret in secrets):
            kept.append("[line removed: it belongs to a hidden test or the reference solution]")
        else:
            kept.append(line)
    return "\n".join(kept)


def _cut_traceback(output, student_counts):
    kept = [output.traceback[0]] if output.traceback else []
    for chunk in output.traceback[1:-1]:
        match = FRAME.search(ANSI.sub("", chunk))
        if match and int(match.group(1) or match.group(2)) in student_counts:
            kept.append(chunk)
    if len(output.traceback) > 1:
        kept.append(output.traceback[-1])
    output.traceback = kept


def _explained(message):
    """The failure message, with what to do for the two failures that say nothing by themselves:
    an unanswered function, and a None (a function without ``return``) used as a number."""
    if message.split(":")[0].strip() == "NotImplementedError":
        return ("not answered yet: a function it calls still raises NotImplementedError "
                "(replace that line with your code)")
    if message.startswith("TypeError") and "NoneType" in message:
        return (f"{message} (a value the test used is None where a number or an array was expected: "
                "does the function end with `return` and its result?)")
    return message


def clean_notebook(nb, source_nb=None):
    """The feedback version of an autograded notebook (changed in place and returned)."""
    secrets = secret_lines(nb, source_nb)
    student_counts = {c.execution_count for c in nb.cells
                      if c.cell_type == "code" and not _is_test(c) and c.execution_count}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if _is_test(cell):
            cell.source, _ = split_hidden(cell.source)
            verdict = cell.metadata.get("coursegrade", {})
            task = cell.metadata["nbgrader"]["grade_id"]
            outputs = [o for o in cell.outputs if o.output_type != "error"]
            if any(o.output_type == "error" for o in cell.outputs):
                message = verdict.get("message") or next(
                    f"{o.ename}: {o.evalue}" for o in cell.outputs if o.output_type == "error")
                where = "a hidden test" if verdict.get("hidden") else "a test"
                message = _explained(message)
                line = "" if verdict.get("hidden") else verdict.get("line", "")
                at = f"\n  the test's line that failed: {line}" if line else ""
                known = f"\n  {verdict['diagnosis']}" if verdict.get("diagnosis") else ""
                outputs.append(nbformat.v4.new_output(
                    "stream", name="stderr", text=f"{where} of '{task}' failed: {message}{at}{known}\n"))
            elif verdict.get("verdict") not in (None, "passed", "partial credit"):
                outputs.append(nbformat.v4.new_output(
                    "stream", name="stderr", text=f"'{task}' earned no points: {verdict['verdict']}\n"))
            cell.outputs = outputs
        else:
            for output in cell.outputs:
                if output.output_type == "error":
                    _cut_traceback(output, student_counts)
        for output in cell.outputs:
            if output.output_type == "stream":
                output.text = scrub(output.text, secrets)
            elif output.output_type == "error":
                output.evalue = scrub(str(output.evalue), secrets)
                output.traceback = [scrub(chunk, secrets) for chunk in output.traceback]
            elif output.output_type in ("execute_result", "display_data"):
                for mime in list(output.get("data", {})):
                    if mime.startswith("text/") or mime in ("application/json", "application/javascript"):
                        value = output.data[mime]
                        output.data[mime] = scrub(value if isinstance(value, str) else str(value), secrets)
    reasons = nb.metadata.get("coursegrade", {}).get("reasons", [])
    if reasons:
        note = "**Notes from the grader.**\n\n" + "\n".join(f"- {r}" for r in reasons)
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(sanitize.markdown(note)))  # file names are the student's
    return nb


class HideHiddenTests(NbGraderPreprocessor):
    """Feedback preprocessor: see the module docstring."""

    def _source_notebook(self, resources):
        try:
            coursedir = self.parent.parent.coursedir
            info = resources["nbgrader"]
            path = Path(coursedir.format_path(coursedir.source_directory, ".", info["assignment"])) / f"{info['notebook']}.ipynb"
            return nbformat.read(path, as_version=4)
        except Exception:  # no source folder here: hidden tests are still removed
            return None

    def preprocess(self, nb, resources):
        return clean_notebook(nb, self._source_notebook(resources)), resources


# nbconvert's HTMLExporter parses every page it writes with BeautifulSoup's pure-Python parser,
# for accessibility: alt texts for images without one, tab stops for the cells of its "lab"
# template (these selectors). That is about half of a feedback page's time (1.1 of 2.3 s for
# sheet 04; a class of 300 pays it 300 times) and changes nothing on a page that has no image
# and no lab cell, as the feedback template (nbgrader's, after "classic") writes for a sheet
# graded here. FeedbackExporter parses only pages where the pass can change something.
ACCESSIBILITY_SELECTORS = ("img:not([alt])", ".jp-Notebook div.jp-Cell-inputWrapper",
                           ".jp-Notebook div.jp-OutputArea-output")
ACCESSIBILITY_MARKS = re.compile(r"<img|jp-Cell-inputWrapper|jp-OutputArea-output", re.IGNORECASE)


class _Unparsed:
    """Stands in for the parsed page where none of ACCESSIBILITY_SELECTORS can match; anything
    else asked of it parses the page after all."""

    def __init__(self, markup, parse):
        self._markup, self._parse, self._soup = markup, parse, None

    def _parsed(self):
        if self._soup is None:
            self._soup = self._parse()
        return self._soup

    def select(self, selector, *args, **kwargs):
        if selector in ACCESSIBILITY_SELECTORS and self._soup is None:
            return []
        return self._parsed().select(selector, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._parsed(), name)

    def __str__(self):
        return self._markup if self._soup is None else str(self._soup)


@contextlib.contextmanager
def _parse_only_where_needed():
    from nbconvert.exporters import html as module

    real = module.BeautifulSoup

    def soup(markup, *args, **kwargs):
        if isinstance(markup, str) and not ACCESSIBILITY_MARKS.search(markup):
            return _Unparsed(markup, lambda: real(markup, *args, **kwargs))
        return real(markup, *args, **kwargs)

    module.BeautifulSoup = soup
    try:
        yield
    finally:
        module.BeautifulSoup = real


class _CompiledTemplates(jinja2.BytecodeCache):
    """The templates compiled once per process: nbgrader makes a new exporter, and so a new
    Jinja environment that compiles its nine templates again (0.5 s), for every feedback page.
    Jinja checks each entry against the template's source."""

    def __init__(self):
        self.compiled = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket):
        self.compiled[bucket.key] = bucket.bytecode_to_string()


_COMPILED = _CompiledTemplates()


class FeedbackExporter(HTMLExporter):
    """nbconvert's HTMLExporter, without its accessibility pass where that pass finds nothing to
    change (see ACCESSIBILITY_SELECTORS), with its templates compiled once per process;
    nbgrader_config.py makes it the feedback exporter."""

    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = _COMPILED
        return environment

    def from_notebook_node(self, nb, resources=None, **kw):
        with _parse_only_where_needed():
            return super().from_notebook_node(nb, resources, **kw)
