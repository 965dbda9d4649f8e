"""Friendly messages for errors a student can cause.

An experiment cell calls the functions the student writes. Until they are written they raise
``NotImplementedError``; ``friendly_errors`` turns that into a short note that names the
function to fill in, so the notebook still runs to the end.

In JupyterLab, a test cell that calls an unwritten function shows the same short note instead
of a long traceback (``short_not_implemented``, installed when ``dlcourse`` is imported), and a
failed test whose cause is a known mistake names it under the traceback (``mistakes.py``). The
cell still fails, as it must. While nbgrader grades, nothing is changed.
"""

import contextlib
import traceback

from dlcourse import mistakes
from dlcourse.budget import grading


def _student_frame(exc):
    """The innermost frame of the traceback: where the error was raised."""
    frames = traceback.extract_tb(exc.__traceback__)
    return frames[-1] if frames else None


def explain(exc) -> str:
    """One or two lines that say what went wrong and what to do about it."""
    frame = _student_frame(exc)
    where = f"'{frame.name}'" if frame and frame.name != "<module>" else "a function"
    if isinstance(exc, NotImplementedError):
        return (
            f"{where} is not implemented yet. Fill in its cell (look for YOUR CODE HERE), "
            "run that cell, then run this one again."
        )
    line = f" (line {frame.lineno}: {frame.line})" if frame and frame.line else ""
    return (
        f"{where} raised {type(exc).__name__}: {exc}{line}. "
        "Fix the function above, run its cell, then run this one again."
    )


@contextlib.contextmanager
def friendly_errors(show=print):
    """Run a block; if the student's code fails, show what to fix instead of a traceback."""
    try:
        yield
    except Exception as exc:  # any error here comes from the student's functions
        show(explain(exc))


def short_not_implemented(shell, etype, value, tb, tb_offset=None):
    """IPython handler: a one-line error for an unwritten function (the cell still fails)."""
    lines = [f"NotImplementedError: {explain(value)}"]
    shell._showtraceback(etype, value, lines)  # shown as the cell's error output
    return lines


def with_known_mistake(shell, etype, value, tb, tb_offset=None):
    """IPython handler: the usual traceback, and under it, when a test cell failed because of a
    known mistake, the sentence that names it (mistakes.py). The cell still fails."""
    if issubclass(etype, NotImplementedError):
        return short_not_implemented(shell, etype, value, tb, tb_offset)
    lines = shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
    test_id = _running_cell_id(shell)
    note = mistakes.sentence(shell.user_ns, test_id) if test_id else None
    shell._showtraceback(etype, value, [*lines, *([f"\n{note}"] if note else [])])
    return lines


def _running_cell_id(shell):
    """The id of the cell that is running, as JupyterLab sends it (nbgrader's ids in the sheets)."""
    try:
        return shell.kernel.get_parent("shell")["metadata"].get("cellId")
    except Exception:  # not in a Jupyter kernel, or a front end that does not send it
        return None


def install_short_messages():
    """In JupyterLab: unwritten functions as one line, known mistakes named under a failed
    test (not while nbgrader grades or validates)."""
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: nothing to install
        return
    shell = get_ipython()
    if shell is not None and not grading() and hasattr(shell, "set_custom_exc"):
        shell.set_custom_exc((Exception,), with_known_mistake)
