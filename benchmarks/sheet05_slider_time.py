"""Benchmark: how long the two slider views of sheet 05 take to answer one change.

    .venv/bin/python benchmarks/sheet05_slider_time.py

Runs the solution notebook on its grading budget (the slider views do the same work in both
modes), then moves each slider to values it has not shown yet and times the redraw, including
rendering the figure to PNG as JupyterLab does. Prints the times; it is a measurement, not a
test. The budget is 0.3 s per change.
"""

import io
import sys
import time

sys.path.insert(0, "tests")
from nbtools import notebook, notebook_namespace  # noqa: E402

SHEET = "05_activations_and_skip_connections"


def timed_change(view, name, value):
    start = time.perf_counter()
    view.controls[name].value = value
    view.figure.savefig(io.BytesIO(), format="png")  # what displaying the figure costs
    return time.perf_counter() - start


def main():
    ns = notebook_namespace(notebook(SHEET), grading=True)
    changes = {
        "activation_view": [("beta", 10**0.25), ("alpha", 2.5), ("beta", 10**-0.5)],
        "stack_view": [("depth", 50), ("scale", 10**0.5), ("depth", 37), ("scale", 0.1)],
    }
    for view_name, steps in changes.items():
        view = ns[view_name]
        for control, value in steps:
            seconds = timed_change(view, control, value)
            print(f"{view_name:16} {control:6} -> {value:8.3g}: {seconds:.3f} s", flush=True)


if __name__ == "__main__":
    main()
