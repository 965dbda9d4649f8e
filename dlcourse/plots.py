"""Plot defaults shared by all sheets, and a caption under each figure."""

import warnings

import matplotlib as mpl

from dlcourse.budget import grading


def setup_plots():
    """Readable defaults: a grid, larger fonts, figures that fit a notebook column."""
    mpl.rcParams.update(
        {
            "figure.figsize": (9, 4),
            "figure.dpi": 100,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "font.size": 11,
            "legend.fontsize": 9,
        }
    )
    if grading():
        # While nbgrader grades, figures are still built (so plotting code runs and is
        # tested) but not rendered to images: rendering costs about a second per figure.
        mpl.use("agg")
        warnings.filterwarnings("ignore", message=".*non-interactive.*")


def caption(fig, text):
    """Write a one-line caption under the figure and return the figure."""
    fig.text(0.5, -0.02, text, ha="center", va="top", fontsize=10, style="italic", wrap=True, gid="caption")
    return fig
