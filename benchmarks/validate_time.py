"""Benchmark: how long `nbgrader validate` takes on each solution notebook.

    make benchmark                 # or: .venv/bin/python benchmarks/validate_time.py [sheet ...]

This is what a student waits for after clicking Validate, and roughly what autograding costs
per submission. Prints one line per sheet; it is a measurement, not a test.
"""

import sys
import time

sys.path.insert(0, "tests")
from nbtools import SHEETS, notebook, run_nbgrader  # noqa: E402


def main(sheets):
    print(f"{'sheet':45} {'validate (s)':>12}  result")
    for sheet in sheets:
        start = time.perf_counter()
        result = run_nbgrader("validate", str(notebook(sheet)), check=False)
        seconds = time.perf_counter() - start
        ok = "passes" if "Success!" in result.stdout else "FAILS"
        print(f"{sheet:45} {seconds:12.1f}  {ok}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or SHEETS)
