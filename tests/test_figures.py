"""Every figure of every solution notebook, rendered and checked for what a reader sees.

Each solution notebook runs in this process on its grading budget (like
``nbtools.notebook_namespace``); every figure open after a cell, and the first figure of each
slider view, is drawn with matplotlib's Agg renderer and checked:

* every curve (line or scatter) is visible inside its axes, and a curve whose data varies is
  not squashed into a few pixels at an edge of the axes (as happens when the limits are set on
  a linear axis that is then switched to a log scale);
* no two tick labels of one axis overlap, and no title, axis label or tick label of one axes
  (colorbars included) overlaps one of another axes or the caption (measured with the
  renderer's text bounding boxes).

The figures are also saved as PNG files in ``test-artifacts/figures/<sheet>/`` (git-ignored),
to look at.
"""

import os
from pathlib import Path

import numpy as np
import pytest
from nbtools import ROOT, SHEETS, grading_mode, is_test_cell, notebook

ARTIFACTS = ROOT / "test-artifacts" / "figures"
EDGE = 4  # pixels: a curve this close to an edge of its axes...
FLAT = 4  # ...and spread over fewer pixels than this, although its data varies, is squashed


def notebook_figures(path, grading=True):
    """Run a notebook's non-test code cells in this process; return [(name, Figure)] of every
    figure shown by a cell and the first figure of every slider view (``dlcourse.Explorer``)."""
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt
    import nbformat

    from dlcourse import Explorer

    nb = nbformat.read(path, as_version=4)
    namespace = {"__name__": "__notebook__"}
    figures, cwd = [], os.getcwd()
    with grading_mode(grading):
        os.chdir(Path(path).parent)
        try:
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code" or is_test_cell(cell):
                    continue
                exec(compile(cell.source, f"{Path(path).name}:{cell.get('id')}", "exec"), namespace)
                for number in plt.get_fignums():
                    figures.append((f"cell{index:02d}-fig{number}", plt.figure(number)))
                for name, value in list(namespace.items()):
                    if isinstance(value, Explorer) and value.figure is not None and name.isidentifier():
                        if all(value.figure is not fig for _, fig in figures):
                            figures.append((f"cell{index:02d}-{name}", value.figure))
                plt.close("all")  # as Jupyter does once a cell's figures are shown
        finally:
            os.chdir(cwd)
    return figures


def _data_lines(ax):
    """(label, display points, data points) for each curve of an axes drawn in data units."""
    import matplotlib.collections as mcoll

    curves = []
    for line in ax.get_lines():
        if not line.get_visible() or line.get_transform() != ax.transData:
            continue  # axhline/axvline and friends span the axes by construction
        xy = np.column_stack([np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)])
        curves.append((line.get_label(), xy))
    for coll in ax.collections:
        if isinstance(coll, mcoll.PathCollection) and coll.get_visible() and coll.get_offset_transform() == ax.transData:
            curves.append((coll.get_label() or "scatter", np.asarray(coll.get_offsets(), float)))
    result = []
    for label, xy in curves:
        if xy.ndim != 2 or not len(xy):
            continue
        with np.errstate(all="ignore"):
            finite = np.all(np.isfinite(xy), axis=1)
            if ax.get_xscale() == "log":
                finite &= xy[:, 0] > 0
            if ax.get_yscale() == "log":
                finite &= xy[:, 1] > 0
            data = xy[finite]
            shown = ax.transData.transform(data) if len(data) else data
        keep = np.all(np.isfinite(shown), axis=1) if len(shown) else np.zeros(0, bool)
        result.append((label, shown[keep], data[keep]))
    return result


def curve_problems(fig):
    """What is wrong with the curves of a drawn figure (empty list: nothing)."""
    problems = []
    for n, ax in enumerate(fig.axes):
        if not ax.get_visible():
            continue
        box = ax.get_window_extent()
        for label, shown, data in _data_lines(ax):
            name = f"axes {n} ({ax.get_title() or ax.get_ylabel()!r}), curve {label!r}"
            if not len(shown):
                continue  # nothing finite to draw (e.g. a diverged run); not a layout problem
            inside = (
                (shown[:, 0] >= box.x0 - 1) & (shown[:, 0] <= box.x1 + 1)
                & (shown[:, 1] >= box.y0 - 1) & (shown[:, 1] <= box.y1 + 1)
            )
            if not inside.any():
                problems.append(f"{name}: no point inside the axes")
                continue
            visible, values = shown[inside], data[inside]
            for axis, (low, high) in ((1, (box.y0, box.y1)), (0, (box.x0, box.x1))):
                spread = np.ptp(visible[:, axis])
                varies = np.ptp(values[:, axis]) > 1e-9 * max(np.abs(values[:, axis]).max(), 1e-300)
                at_edge = min(visible[:, axis].min() - low, high - visible[:, axis].max()) < EDGE
                if len(visible) > 2 and varies and spread < FLAT and at_edge:
                    which = "y" if axis == 1 else "x"
                    limits = ax.get_ylim() if axis == 1 else ax.get_xlim()
                    problems.append(
                        f"{name}: its {which} values vary but fill only {spread:.1f} px at an "
                        f"edge of the axes ({which} limits {limits[0]:.3g} to {limits[1]:.3g})"
                    )
    return problems


def _shown_ticklabels(axis):
    """The non-empty tick labels that are drawn (ticks inside the view interval)."""
    labels = []
    for tick in axis._update_ticks():  # the ticks that draw() renders
        for text in (tick.label1, tick.label2):
            if text.get_visible() and text.get_text().strip():
                labels.append(text)
    return labels


def ticklabel_overlaps(fig):
    """Pairs of tick labels of one axis whose bounding boxes overlap."""
    renderer = fig.canvas.get_renderer()
    overlaps = []
    for n, ax in enumerate(fig.axes):
        if not ax.get_visible() or not ax.axison:
            continue
        for axis in (ax.xaxis, ax.yaxis):
            boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in _shown_ticklabels(axis)]
            pairs = [
                (text_a, text_b)
                for i, (text_a, a) in enumerate(boxes)
                for text_b, b in boxes[i + 1:]
                # a pixel of touching is fine; real overlap is more than that
                if min(a.x1, b.x1) - max(a.x0, b.x0) > 1 and min(a.y1, b.y1) - max(a.y0, b.y0) > 1
            ]
            if pairs:
                overlaps.append(
                    f"axes {n} ({ax.get_title() or ax.get_ylabel()!r}) {axis.axis_name}-axis: "
                    f"{len(pairs)} pairs of tick labels overlap, e.g. {pairs[0][0]!r} and {pairs[0][1]!r}"
                )
    return overlaps


def _texts(ax):
    """The texts drawn around an axes: title, axis labels, shown tick labels."""
    texts = [ax.title, ax._left_title, ax._right_title]
    if ax.axison:  # ax.axis("off") hides labels and ticks
        texts += [ax.xaxis.label, ax.yaxis.label]
        texts += _shown_ticklabels(ax.xaxis) + _shown_ticklabels(ax.yaxis)
    return [t for t in texts if t.get_visible() and t.get_text().strip()]


def text_collisions(fig):
    """Texts of different axes (colorbars included), or of an axes and the figure's own texts
    (caption, suptitle), whose bounding boxes overlap."""
    renderer = fig.canvas.get_renderer()
    groups = [(f"axes {n}", _texts(ax)) for n, ax in enumerate(fig.axes) if ax.get_visible()]
    groups.append(("figure", [t for t in fig.texts if t.get_visible() and t.get_text().strip()]))
    if fig._suptitle is not None:
        groups[-1][1].append(fig._suptitle)
    boxes = [(name, t.get_text(), t.get_window_extent(renderer)) for name, texts in groups for t in texts]
    collisions = []
    for i, (name_a, text_a, a) in enumerate(boxes):
        for name_b, text_b, b in boxes[i + 1:]:
            if name_a != name_b and min(a.x1, b.x1) - max(a.x0, b.x0) > 1 and min(a.y1, b.y1) - max(a.y0, b.y0) > 1:
                collisions.append(f"{name_a} {text_a!r} overlaps {name_b} {text_b!r}")
    return collisions


@pytest.fixture(scope="module", params=SHEETS)
def drawn_figures(request):
    """(sheet, [(name, figure)]) with every figure drawn and saved as a PNG artifact."""
    sheet = request.param
    figures = notebook_figures(notebook(sheet))
    folder = ARTIFACTS / sheet
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    for name, fig in figures:
        FigureCanvasAgg(fig)  # a closed figure has lost its canvas
        fig.savefig(folder / f"{name}.png", bbox_inches="tight")  # draws the figure (as Jupyter shows it)
        fig.canvas.draw()  # savefig with a tight box lays out again; measure the plain drawing
    return sheet, figures


def test_every_sheet_draws_figures(drawn_figures):
    sheet, figures = drawn_figures
    assert figures, f"{sheet}: no figure was drawn"


def test_curves_are_visible_inside_their_axes(drawn_figures):
    sheet, figures = drawn_figures
    problems = [f"{name}: {p}" for name, fig in figures for p in curve_problems(fig)]
    assert not problems, f"{sheet} (PNGs in {ARTIFACTS / sheet}):\n" + "\n".join(problems)


def test_tick_labels_do_not_overlap(drawn_figures):
    sheet, figures = drawn_figures
    problems = [f"{name}: {p}" for name, fig in figures for p in ticklabel_overlaps(fig)]
    assert not problems, f"{sheet} (PNGs in {ARTIFACTS / sheet}):\n" + "\n".join(problems)


def test_texts_of_different_axes_do_not_collide(drawn_figures):
    sheet, figures = drawn_figures
    problems = [f"{name}: {p}" for name, fig in figures for p in text_collisions(fig)]
    assert not problems, f"{sheet} (PNGs in {ARTIFACTS / sheet}):\n" + "\n".join(problems)


# ----------------------------------------------------------------------------- the checks can fail


def test_the_checks_catch_limits_set_before_a_log_scale():
    """The sheet 01 sweep bug in miniature: the y limit is set while the axis is linear, then
    the axis becomes logarithmic; every curve ends up squashed at the top, labels overlap."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for k in range(5):
        ax.plot(np.arange(31), np.geomspace(1.25, 10.0 ** -k, 31))
    ax.set_ylim(top=1e7)  # still linear: the bottom becomes about -5e5
    ax.set_yscale("log")
    fig.canvas.draw()
    assert curve_problems(fig), "squashed curves went unnoticed"
    good, ax2 = plt.subplots()
    ax2.plot(np.arange(31), np.geomspace(1.25, 1e-4, 31))
    ax2.set_yscale("log")
    good.canvas.draw()
    assert not curve_problems(good) and not ticklabel_overlaps(good)
    plt.close("all")


def test_the_checks_catch_overlapping_tick_labels():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.set_xticks(np.arange(10), [f"label {k}" for k in range(10)])
    fig.canvas.draw()
    assert ticklabel_overlaps(fig)
    plt.close("all")


def test_the_checks_catch_a_colorbar_label_on_the_next_axes():
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(6, 3))
    image = left.imshow(np.eye(3))
    fig.colorbar(image, ax=left, label="a long colorbar label")
    right.set_ylabel("the next axis label")
    fig.subplots_adjust(wspace=0.05)
    fig.canvas.draw()
    assert text_collisions(fig)
    fig.subplots_adjust(wspace=0.9)
    fig.canvas.draw()
    assert not text_collisions(fig)
    plt.close("all")
