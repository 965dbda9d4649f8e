"""The helper package: grading budget, gradient checks, friendly errors, slider views."""

import numpy as np
import pytest

import dlcourse
from dlcourse.friendly import explain


def test_budget_is_small_while_grading(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("DLCOURSE_BUDGET", raising=False)
    assert not dlcourse.grading() and dlcourse.budget(full=100, quick=3) == 100
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert dlcourse.grading() and dlcourse.budget(full=100, quick=3) == 3


def test_quick_budget_on_request_without_grading(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setenv("DLCOURSE_BUDGET", "quick")
    assert not dlcourse.grading() and dlcourse.budget(full=100, quick=3) == 3
    monkeypatch.setenv("DLCOURSE_BUDGET", "full")
    assert dlcourse.budget(full=100, quick=3) == 100


def test_progress_bar_is_silent_while_grading(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    assert dlcourse.progress(range(3)).disable
    monkeypatch.delenv("NBGRADER_EXECUTION")
    assert list(dlcourse.progress(range(3))) == [0, 1, 2]


def test_numerical_gradient_of_a_vector_function_is_its_jacobian():
    A = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.0]])
    jac = dlcourse.numerical_gradient(lambda x: A @ x + x[0] ** 2, np.array([0.3, -0.7]))
    expected = A + np.array([[0.6, 0.0]] * 3)
    assert np.allclose(jac, expected, atol=1e-7)


def test_check_gradient_accepts_right_and_names_wrong():
    f = lambda x: np.sum(np.sin(x))  # noqa: E731
    assert dlcourse.check_gradient(f, np.cos, np.array([0.1, 1.0, 2.0])) is None  # no value: see its docstring
    with pytest.raises(AssertionError, match="finite differences"):
        dlcourse.check_gradient(f, lambda x: -np.cos(x), np.array([0.1, 1.0, 2.0]))
    with pytest.raises(AssertionError, match="shape"):
        dlcourse.check_gradient(f, lambda x: np.cos(x)[:2], np.array([0.1, 1.0, 2.0]))


def unfinished(x):
    raise NotImplementedError()


def test_friendly_errors_name_the_function_to_fill_in():
    messages = []
    with dlcourse.friendly_errors(show=messages.append):
        unfinished(1)
    assert len(messages) == 1 and "'unfinished' is not implemented yet" in messages[0]


def test_friendly_errors_report_other_mistakes_with_their_line():
    def broken():
        return np.ones(2) @ np.ones(3)

    try:
        broken()
    except ValueError as exc:
        message = explain(exc)
    assert "'broken' raised ValueError" in message and "np.ones(2) @ np.ones(3)" in message


def test_caption_sits_under_the_figure():
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    fig = dlcourse.caption(plt.figure(), "what the figure shows")
    assert [t.get_text() for t in fig.texts] == ["what the figure shows"]
    plt.close(fig)


def test_explorer_redraws_with_the_new_settings():
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    calls = []

    def draw(lr, steps):
        calls.append((lr, steps))
        fig, ax = plt.subplots()
        ax.set_title(f"{lr} {steps}")
        return fig

    view = dlcourse.Explorer(draw, lr=dlcourse.log_slider("lr", 1e-2, 1e-4, 1.0), steps=dlcourse.int_slider("steps", 10, 1, 100))
    assert calls == [(pytest.approx(1e-2), 10)]
    view.controls["lr"].value = 0.1
    assert view.settings["lr"] == pytest.approx(0.1) and calls[-1][0] == pytest.approx(0.1)
    view.controls["steps"].value = 42
    assert view.settings == {"lr": pytest.approx(0.1), "steps": 42}
    assert view.figure.axes[0].get_title() == f"{view.settings['lr']} 42" and view.message is None


def test_explorer_keeps_what_the_kernel_holds_out_of_full_garbage_collections():
    """Full collections walked torch's, sympy's and matplotlib's objects (0.3-0.4 s, and a slider
    change that triggered one answered in 0.45-0.65 s): a view freezes what exists when it is
    made. What is made later is still collected."""
    import gc
    import weakref

    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    class Node:
        pass

    before = Node()
    before.me = before  # a cycle, tracked by the collector
    try:
        dlcourse.Explorer(lambda lr: plt.subplots()[0], lr=dlcourse.slider("lr", 0.5, 0.0, 1.0, 0.1))
        assert not any(o is before for o in gc.get_objects()), "objects made before the view are not frozen"
        assert gc.isenabled(), "automatic garbage collection must stay on"
        later = Node()
        later.me, gone = later, weakref.ref(later)
        del later
        gc.collect()
        assert gone() is None, "a cycle made after the view was not collected"
    finally:
        gc.unfreeze()


def test_explorer_shows_the_figure_as_an_image_with_its_caption_under_it(monkeypatch):
    import io

    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)

    def draw(lr):
        fig, ax = plt.subplots(figsize=(4, 3), layout="constrained")
        ax.plot([0, 1], [0, lr])
        if lr > 0.9:
            unfinished(lr)
        return dlcourse.caption(fig, f"learning rate {lr:.1f} <b>")

    view = dlcourse.Explorer(draw, lr=dlcourse.slider("lr", 0.5, 0.0, 1.0, 0.1))
    assert Image.open(io.BytesIO(view.image.value)).size == (400, 300), "the PNG is the figure, not cropped"
    assert "learning rate 0.5 &lt;b&gt;" in view.caption.value and view.picture_box.layout.width == "400px"
    assert view.figure.texts[0].get_visible(), "the figure keeps its caption"
    assert view.picture_box.layout.display is None and view.output.outputs == ()

    view.controls["lr"].value = 1.0  # an unfinished function: a note instead of the figure
    assert view.picture_box.layout.display == "none"
    view.controls["lr"].value = 0.3
    assert view.picture_box.layout.display is None and "0.3" in view.caption.value

    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")  # while grading nothing is rendered
    before = view.image.value
    view.controls["lr"].value = 0.2
    assert view.image.value is before and view.figure.axes[0].lines[0].get_ydata()[1] == pytest.approx(0.2)


def test_explorer_shows_a_message_instead_of_a_traceback():
    view = dlcourse.Explorer(lambda lr: unfinished(lr), lr=dlcourse.slider("lr", 0.5, 0.0, 1.0, 0.1))
    assert view.figure is None and "'unfinished' is not implemented yet" in view.message
    view.controls["lr"].value = 0.2  # still no crash
    assert view.settings == {"lr": pytest.approx(0.2)} and view.message


def test_log_slider_moves_in_decades():
    s = dlcourse.log_slider("lr", 1e-3, 1e-5, 1.0)
    assert (s.min, s.max, s.base) == (-5, 0, 10) and s.value == pytest.approx(1e-3)


def test_choice_is_a_row_of_buttons_not_a_drop_down():
    import ipywidgets as widgets

    buttons = dlcourse.choice("optimizer", ["gradient descent", "Adam"], value="Adam")
    assert isinstance(buttons, widgets.ToggleButtons) and not isinstance(buttons, widgets.Dropdown)
    assert buttons.value == "Adam"
    # every label fits its button
    assert int(buttons.style.button_width.removesuffix("px")) >= 9 * len("gradient descent")


def test_explorer_disables_controls_that_do_not_matter():
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    def draw(optimizer, beta):
        return plt.figure()

    view = dlcourse.Explorer(
        draw,
        enabled=lambda optimizer, beta: {"optimizer", "beta"} if optimizer == "Adam" else {"optimizer"},
        optimizer=dlcourse.choice("optimizer", ["gradient descent", "Adam"], value="Adam"),
        beta=dlcourse.slider("beta", 0.9, 0.0, 0.99, 0.01),
    )
    assert not view.controls["beta"].disabled
    view.controls["optimizer"].value = "gradient descent"
    assert view.controls["beta"].disabled and not view.controls["optimizer"].disabled
    view.controls["optimizer"].value = "Adam"
    assert not view.controls["beta"].disabled
    assert view.status.value == ""  # the "working" note is gone once drawn


def test_unwritten_function_fails_with_one_line_in_jupyter(monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell

    from dlcourse.friendly import install_short_messages

    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    shell = InteractiveShell.instance()
    try:
        install_short_messages()
        shown = []
        monkeypatch.setattr(shell, "_showtraceback", lambda etype, value, stb: shown.append(stb))
        result = shell.run_cell("def softmax(x):\n    raise NotImplementedError()\nsoftmax(1)")
        assert isinstance(result.error_in_exec, NotImplementedError), "the cell must still fail"
        assert len(shown) == 1 and len(shown[0]) == 1
        assert "'softmax' is not implemented yet" in shown[0][0]
    finally:
        shell.set_custom_exc((), None)
        InteractiveShell.clear_instance()


def test_no_short_messages_while_grading(monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell

    from dlcourse.friendly import install_short_messages

    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    shell = InteractiveShell.instance()
    try:
        install_short_messages()
        assert NotImplementedError not in shell.custom_exceptions
    finally:
        InteractiveShell.clear_instance()


def test_stored_runs_live_in_the_data_folder_unless_told_otherwise(monkeypatch, tmp_path):
    from dlcourse.cache import cache_folder

    monkeypatch.delenv("DLCOURSE_CACHE", raising=False)
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path / "data"))
    assert cache_folder() == tmp_path / "data" / "cache"
    monkeypatch.setenv("DLCOURSE_CACHE", str(tmp_path / "runs"))
    assert cache_folder() == tmp_path / "runs"
