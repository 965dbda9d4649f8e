"""Benchmark: how long every slider view of every sheet takes to answer one change.

    .venv/bin/python benchmarks/slider_time.py [sheet ...]

Runs each solution notebook on its grading budget (the views do the same work in both modes),
then changes every control of every view (a slider to its ends and middle, every option of a
row of buttons) and times the redraw up to the finished PNG that the view sends to JupyterLab.
The aim is 0.3 s per change, including the browser's part. Prints the times, the median and
the slowest change per view; it is a measurement, not a test. The browser test prints the
same figure seen from Chromium.
"""

import statistics
import sys
import time

sys.path.insert(0, "tests")
import ipywidgets as widgets  # noqa: E402
from nbtools import SHEETS, notebook, notebook_namespace  # noqa: E402

from dlcourse import Explorer  # noqa: E402


def new_values(control):
    """Values to move a control to, none of them its current one."""
    if isinstance(control, widgets.ToggleButtons):
        values = [o[1] if isinstance(o, tuple) else o for o in control.options]  # (label, value) or value
    elif isinstance(control, widgets.FloatLogSlider):
        values = [control.base ** e for e in (control.min, (control.min + control.max) / 2, control.max)]
    else:
        step = control.step
        values = [control.min, control.min + round((control.max - control.min) / 2 / step) * step, control.max]
    return [v for v in values if v != control.value] + [control.value]


def main(sheets):
    for sheet in sheets:
        ns = notebook_namespace(notebook(sheet), grading=True)
        views = {name: v for name, v in ns.items() if isinstance(v, Explorer)}
        for name, view in views.items():
            times = []
            for control_name, control in view.controls.items():
                if control.disabled:
                    continue
                for value in new_values(control):
                    start = time.perf_counter()
                    control.value = value
                    seconds = time.perf_counter() - start
                    times.append(seconds)
                    shown = f"{value:.4g}" if isinstance(value, float) else str(value)
                    print(f"{sheet[:2]} {name:18} {control_name:12} -> {shown:10.10}: {seconds:.3f} s", flush=True)
            print(f"{sheet[:2]} {name}: median {statistics.median(times):.3f} s, slowest {max(times):.3f} s "
                  f"over {len(times)} changes\n", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or SHEETS)
