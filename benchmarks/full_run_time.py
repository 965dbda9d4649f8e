"""Benchmark: run each solution notebook top to bottom in full mode, as in JupyterLab.

    .venv/bin/python benchmarks/full_run_time.py [sheet ...]

Full mode means NBGRADER_EXECUTION is unset, so every experiment runs at its full size and
real data sets are loaded (set DLCOURSE_DATA / DLCOURSE_MIRROR as in the README). Prints the
wall time of the whole notebook and of its five slowest cells; it is a measurement, not a test.
"""

import os
import sys
import time

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, "tests")
from nbtools import SHEETS, notebook  # noqa: E402


def run(sheet):
    path = notebook(sheet)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=1800, resources={"metadata": {"path": str(path.parent)}})
    timings = []
    start = time.perf_counter()
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            t0 = time.perf_counter()
            client.execute_cell(cell, index)
            timings.append((time.perf_counter() - t0, index, cell.source.splitlines()[0][:60]))
    total = time.perf_counter() - start
    print(f"{sheet}: {total:.1f} s in full mode")
    for seconds, index, first_line in sorted(timings, reverse=True)[:5]:
        print(f"    cell {index:3d} {seconds:7.1f} s  {first_line}")
    return nb


def main(sheets):
    os.environ.pop("NBGRADER_EXECUTION", None)
    for sheet in sheets:
        run(sheet)


if __name__ == "__main__":
    main(sys.argv[1:] or SHEETS)
