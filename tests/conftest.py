import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="module")
def solution(request):
    """The names defined by the solution notebook of the test module's SHEET, run on the
    grading budget (see nbtools.notebook_namespace)."""
    from nbtools import notebook, notebook_namespace

    return notebook_namespace(notebook(request.module.SHEET), grading=True)
