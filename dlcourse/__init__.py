"""Small helpers shared by the course notebooks.

Everything here is meant to be read by students: open any module to see how it works.

- ``budget``      : how big an experiment may be (small while nbgrader grades, full otherwise)
- ``progress``    : a tqdm progress bar that stays quiet while nbgrader grades
- ``setup_plots`` / ``caption`` : consistent figures with a one-line caption
- ``friendly_errors`` : turns "not implemented yet" into a message instead of a traceback
- ``Explorer``, ``log_slider``, ``slider``, ``int_slider``, ``choice`` : slider views
  (``choice`` is a row of toggle buttons)
- ``numerical_gradient``, ``check_gradient`` : finite-difference gradient checks
- ``rule`` : what a test switches off while it calls your code ("no differentiation", "no autograd");
  ``differentiable`` marks a test's function that your code may differentiate

Importing ``dlcourse`` in JupyterLab makes a call of an unwritten function fail with a one-line
message instead of a long traceback (see ``friendly.py``); nothing changes while grading.

Data sets live in their own module, because loading them needs PyTorch:
``from dlcourse.data import load_dataset``.
"""

from dlcourse.budget import budget, grading, progress
from dlcourse.checks import check_gradient, numerical_gradient
from dlcourse.friendly import friendly_errors, install_short_messages
from dlcourse.plots import caption, setup_plots
from dlcourse.rules import differentiable, rule
from dlcourse.widgets import Explorer, choice, int_slider, log_slider, slider

__all__ = [
    "Explorer",
    "budget",
    "caption",
    "check_gradient",
    "choice",
    "differentiable",
    "friendly_errors",
    "grading",
    "int_slider",
    "log_slider",
    "numerical_gradient",
    "progress",
    "rule",
    "setup_plots",
    "slider",
]

install_short_messages()
