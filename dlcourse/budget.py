"""How much work an experiment may do.

nbgrader sets the environment variable ``NBGRADER_EXECUTION`` while it validates or
autogrades a notebook. Then every experiment must be small, so that a whole sheet is graded
in seconds. In JupyterLab the variable is not set and experiments run in full.

Notebooks never read the variable themselves; they ask ``budget(full=..., quick=...)``.
"""

import os

from tqdm.auto import tqdm


def grading() -> bool:
    """True while nbgrader validates or autogrades this notebook."""
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def budget(full, quick):
    """Return ``quick`` while grading and ``full`` otherwise.

    >>> epochs = budget(full=200, quick=5)

    Set ``DLCOURSE_BUDGET=quick`` to get the small budget in JupyterLab too (figures and
    slider views work as usual): for a quick look at a sheet, and for the browser tests.
    """
    return quick if grading() or os.environ.get("DLCOURSE_BUDGET") == "quick" else full


def progress(iterable=None, **kwargs):
    """A tqdm progress bar for long loops; silent while grading."""
    kwargs.setdefault("disable", grading())
    return tqdm(iterable, **kwargs)
