"""Friendly messages for errors a student can cause.

An experiment cell calls the functions the student writes. Until they are written they raise
``NotImplementedError``; ``friendly_errors`` turns that into a short note that names the
function to fill in, so the notebook still runs to the end.
"""

import contextlib
import traceback


def _student_frame(exc):
    """The innermost frame of the traceback: where the error was raised."""
    frames = traceback.extract_tb(exc.__traceback__)
    return frames[-1] if frames else None


def explain(exc) -> str:
    """One or two lines that say what went wrong and what to do about it."""
    frame = _student_frame(exc)
    where = f"`{frame.name}`" if frame else "a function"
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
