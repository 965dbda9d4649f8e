import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

# `make test` runs the files in parallel (pytest-xdist, --dist loadfile: each file whole on one
# worker, in the order collected; a worker gets the next file when it is almost done with its
# own). The slowest files go first, so that no worker is left with a long one at the end while
# the others idle; the rest keep their order.
SLOWEST_FIRST = (
    "test_browser.py",
    "test_course.py",
    "test_mutants_sheet04.py",
    "test_mutants_sheet05.py",
    # Fifth: with up to three workers (-n auto on three cores) it starts after test_course.py,
    # whose graded course gives it plain nbgrader's scores (started beside it, it would grade
    # those notebooks once more).
    "test_grading_in_tester.py",
    "test_grading.py",
    "test_mutants_sheet02.py",
    "test_hub.py",
    "test_sheet03.py",
    "test_grading_dask.py",
    "test_mutants_sheet03.py",
    "test_sheet02.py",
    "test_exchange.py",
    "test_grading_honest.py",
    "test_mutants_sheet01.py",
    "test_sheet04_fashion.py",
    "test_figures.py",
    "test_diagnosis.py",
)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    rank = {name: position for position, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: a file keeps its order


@pytest.fixture(scope="module")
def solution(request):
    """The names defined by the solution notebook of the test module's SHEET, run on the
    grading budget (see nbtools.notebook_namespace)."""
    from nbtools import notebook, notebook_namespace

    return notebook_namespace(notebook(request.module.SHEET), grading=True)


@pytest.fixture(scope="session", autouse=True)
def warm_kernels(tmp_path_factory):
    """Kernels started by the kernel spec "python3" fork from a warm process (warm_kernels.py)."""
    import warm_kernels

    with warm_kernels.running(tmp_path_factory.mktemp("warm_kernels")):
        yield
