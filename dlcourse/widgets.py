"""Slider views: sliders on top, a figure below, redrawn whenever a slider moves.

    view = Explorer(draw, lr=log_slider("learning rate", 1e-3, 1e-5, 1e0))
    view            # shows the sliders and the figure in JupyterLab

``draw(**settings)`` gets one keyword per slider and returns a matplotlib Figure. If it
fails because a function is not implemented yet, the view shows a friendly note instead.
"""

import gc
import html
import io
import math
import threading

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import PIL.Image
from IPython.display import display
from matplotlib.backends.backend_agg import FigureCanvasAgg

from dlcourse.budget import grading
from dlcourse.friendly import explain

_STYLE = {"description_width": "120px"}  # same width for every label: the tracks line up
_LAYOUT = widgets.Layout(width="420px")


def log_slider(description, value, low, high, steps_per_decade=8):
    """A slider whose position is the logarithm of its value (for learning rates)."""
    return widgets.FloatLogSlider(
        value=value,
        base=10,
        min=math.log10(low),
        max=math.log10(high),
        step=1 / steps_per_decade,
        description=description,
        readout_format=".1e",
        continuous_update=False,
        style=_STYLE,
        layout=_LAYOUT,
    )


def slider(description, value, low, high, step, readout_format=".3f"):
    """A slider for a real number."""
    return widgets.FloatSlider(
        value=value, min=low, max=high, step=step, description=description,
        readout_format=readout_format, continuous_update=False, style=_STYLE, layout=_LAYOUT,
    )


def int_slider(description, value, low, high, step=1):
    """A slider for a whole number."""
    return widgets.IntSlider(
        value=value, min=low, max=high, step=step, description=description,
        continuous_update=False, style=_STYLE, layout=_LAYOUT,
    )


def choice(description, options, value=None):
    """A row of toggle buttons, one per option; ``options`` is a list of labels or of
    (label, value) pairs. (Buttons, not a drop-down: a focused drop-down lets JupyterLab's
    keyboard shortcuts act on the notebook.)"""
    labels = [o[0] if isinstance(o, tuple) else str(o) for o in options]
    width = f"{max(80, 9 * max(len(label) for label in labels) + 24)}px"  # labels never cut off
    buttons = widgets.ToggleButtons(
        options=options, description=description, style={**_STYLE, "button_width": width},
    )
    if value is not None:
        buttons.value = value
    return buttons


class Explorer:
    """Sliders and a figure that ``draw(**settings)`` redraws after every change.

    ``enabled(**settings)``, if given, returns the names of the controls that matter for these
    settings; the others are greyed out (for example the decay rates of plain gradient descent).

    While ``draw`` runs, a note says that the view is working. After each redraw, ``settings``
    holds the values that were drawn, ``figure`` the figure (or None) and ``message`` the note
    shown instead of a figure (or None). Keep ``draw`` fast: compute what is expensive once
    (on the sliders' grid, or with ``functools.lru_cache``) and only plot here.
    """

    def __init__(self, draw, enabled=None, **controls):
        self.draw = draw
        self.enabled = enabled
        self.controls = controls
        self.status = widgets.HTML(value="")
        self.image = widgets.Image(format="png")
        self.caption = widgets.HTML(value="", layout=widgets.Layout(width="100%"))
        self.output = widgets.Output()  # the note shown instead of a figure
        self.settings, self.figure, self.message = None, None, None
        self._queued = False  # a redraw is waiting for the main thread
        for control in controls.values():
            control.observe(lambda change: self._changed(), names="value")
        # The figure and its caption, as wide as the figure (or the notebook, if that is narrower).
        self.picture_box = widgets.VBox([self.image, self.caption], layout=widgets.Layout(max_width="100%"))
        self.widget = widgets.VBox([widgets.VBox(list(controls.values())), self.status, self.output, self.picture_box])
        # What the kernel holds by now (torch, sympy, matplotlib, the data) stays for the session:
        # frozen, a full garbage collection does not walk it. Walked, it took 0.3-0.4 s, and a
        # redraw that triggered one answered in 0.45-0.65 s instead of 0.1-0.2 s. (Frozen objects
        # are still freed when nothing refers to them; only cycles among them stay.)
        gc.freeze()
        self.redraw()

    def _changed(self):
        """A control has moved: redraw on the kernel's main thread. JupyterLab (4.4 and later)
        sends widget messages to a subshell of the kernel, which ipykernel 7 runs in a thread of
        its own, beside the cells of the main thread; pyplot is not made for two threads at once
        (figures came out blank or cropped: jupyterlab/jupyterlab#19719). Handed to the main
        thread, a redraw waits for a running cell to end, as it did before subshells; changes
        made meanwhile make one redraw, of the latest settings."""
        main = _main_loop()
        if main is None or threading.current_thread() is threading.main_thread():
            self.redraw()
        elif not self._queued:
            self._queued = True
            main.add_callback(self._redraw_queued)

    def _redraw_queued(self):
        self._queued = False
        self.redraw()

    def redraw(self):
        self.settings = {name: control.value for name, control in self.controls.items()}
        if self.enabled is not None:
            active = set(self.enabled(**self.settings))
            for name, control in self.controls.items():
                control.disabled = name not in active
        noted = self.message is not None  # the note of the last redraw is still shown
        self.figure, self.message = None, None
        self.status.value = "<i>working...</i>"
        try:
            # Not interactive while drawing: pyplot then does not mark the new figure as one to
            # show, and the inline backend, which a widget message on a subshell makes show and
            # close every marked figure, leaves it alone.
            with plt.ioff():
                self.figure = self.draw(**self.settings)
            if not grading():  # while grading, figures are built but not rendered
                png, caption = self.picture(self.figure)
                self.picture_box.layout.width = f"{round(self.figure.get_figwidth() * self.figure.dpi)}px"
                self.image.value = png
                self.caption.value = ('<div style="text-align: center; font-style: italic; white-space: normal; '
                                      f'line-height: 1.4">{html.escape(caption)}</div>')
        except Exception as exc:  # the student's functions may be unfinished or wrong
            self.message = explain(exc)
        finally:
            self.status.value = ""
            if self.figure is not None:
                plt.close(self.figure)
        if noted:
            self.output.clear_output()
        if self.message is not None:
            with self.output:
                print(self.message)
        self.picture_box.layout.display = "none" if self.message is not None else None

    @staticmethod
    def picture(figure):
        """The figure as PNG data, and the text of its caption (``caption()``).

        Rendered here, not by Jupyter: Jupyter crops every figure to its contents, which draws
        it twice and doubles the time a view needs to answer. The caption hangs below the
        figure, so the view shows it as a line of text under the image instead."""
        captions = [text for text in figure.texts if text.get_gid() == "caption"]
        for text in captions:
            text.set_visible(False)
        canvas = FigureCanvasAgg(figure)
        canvas.draw()  # one pass (savefig makes two when the figure has a layout engine)
        for text in captions:
            text.set_visible(True)
        png = io.BytesIO()
        PIL.Image.fromarray(np.asarray(canvas.buffer_rgba())).convert("RGB").save(png, format="png", compress_level=3)
        return png.getvalue(), " ".join(text.get_text() for text in captions)

    def _ipython_display_(self):
        display(self.widget)


def _main_loop():
    """The event loop of the kernel's main thread (None outside a Jupyter kernel)."""
    from IPython import get_ipython

    return getattr(getattr(get_ipython(), "kernel", None), "io_loop", None)
