"""Friendly messages for errors a student can cause.

An experiment cell calls the functions the student writes. Until they are written they raise
``NotImplementedError``; ``friendly_errors`` turns that into a short note that names the
function to fill in, so the notebook still runs to the end.

In JupyterLab, a test cell that calls an unwritten function shows the same short note instead
of a long traceback (``short_not_implemented``, installed when ``dlcourse`` is imported). The
cell still fails, as it must. While nbgrader grades, nothing is changed.
"""

import contextlib
import traceback

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


def install_short_messages():
    """Show unwritten functions as one line in JupyterLab (not while nbgrader grades)."""
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: nothing to install
        return
    shell = get_ipython()
    if shell is not None and not grading() and hasattr(shell, "set_custom_exc"):
        shell.set_custom_exc((NotImplementedError,), short_not_implemented)
