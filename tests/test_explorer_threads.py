"""Slider views in a kernel whose widget messages arrive on a subshell.

JupyterLab 4.4 and later sends widget messages to a subshell of the kernel (its setting
``commsOverSubshells``), and ipykernel 7 handles each subshell in a thread of its own, beside
the cells of the main thread. pyplot is not safe in two threads at once: under load, slider
views of the browser tests showed blank or cropped figures (jupyterlab/jupyterlab#19719). A
view therefore draws on the kernel's main thread, after any running cell, and with pyplot not
interactive (so the inline backend, which every widget message on a subshell makes show and
close the figures pyplot marked, leaves the view's figure alone). Here a real kernel gets a
slider's message on a subshell, as JupyterLab sends it.
"""

import os
import time

import pytest
from jupyter_client.manager import start_new_kernel

VIEW = """
import threading, time
import matplotlib, matplotlib.pyplot as plt
import dlcourse

drawn = []  # (thread, pyplot interactive, when) of each redraw

def draw(x):
    drawn.append((threading.current_thread().name, matplotlib.is_interactive(), time.time()))
    figure = plt.figure(figsize=(3, 2))
    figure.gca().plot([0, 1], [0, x])
    return figure

view = dlcourse.Explorer(draw, x=dlcourse.slider("x", 0.5, 0.0, 1.0, 0.1))
received = []  # the thread in which each of the slider's changes arrived
view.controls["x"].observe(lambda change: received.append(threading.current_thread().name), names="value")
print(view.controls["x"].model_id)
"""


def execute(client, code, timeout=60):
    """Run code on the main shell; the text it printed (asserting it ran without error)."""
    printed = []
    reply = client.execute_interactive(code, timeout=timeout, output_hook=printed.append)
    assert reply["content"]["status"] == "ok", reply["content"]
    return "".join(m["content"].get("text", "") for m in printed if m["msg_type"] == "stream")


@pytest.fixture()
def kernel(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NBGRADER_EXECUTION"}
    manager, client = start_new_kernel(kernel_name="python3", cwd=str(tmp_path), env=env)
    try:
        info = client.kernel_info(reply=True)["content"]
        if "kernel subshells" not in info.get("supported_features", []):
            pytest.skip("this ipykernel has no subshells (ipykernel < 7): widget messages reach the main thread")
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def subshell(client):
    request = client.session.msg("create_subshell_request", {})
    client.control_channel.send(request)
    reply = client.control_channel.get_msg(timeout=30)
    assert reply["content"]["status"] == "ok", reply["content"]
    return reply["content"]["subshell_id"]


def on_subshell(client, subshell_id, message):
    message["header"]["subshell_id"] = subshell_id
    client.shell_channel.send(message)
    return message


def move_slider(client, model_id, value, subshell_id):
    """Drag the slider to ``value`` on the subshell, as JupyterLab does. (ipykernel sends a widget's messages to the subshell from which the widget last spoke, so
    a cell on the subshell speaks first: it moves the slider itself.)"""
    request = on_subshell(client, subshell_id, client.session.msg("execute_request", {
        "code": f"view.controls['x'].value = {1 - value}", "silent": False, "store_history": False,
        "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}))
    reply = client.get_shell_msg(timeout=60)
    assert reply["parent_header"]["msg_id"] == request["header"]["msg_id"] and reply["content"]["status"] == "ok"
    on_subshell(client, subshell_id, slider_message(client, model_id, value))


def slider_message(client, model_id, value):
    """What JupyterLab sends when the slider with this widget id is dragged to ``value``."""
    content = {"comm_id": model_id, "data": {"method": "update", "state": {"value": value}, "buffer_paths": []}}
    return client.session.msg("comm_msg", content)


def redraws(client, value, timeout=60):
    """The view's redraws, once it has drawn the slider at ``value``: [(thread, interactive, when)].
    (Changes that come while a redraw waits for the main thread make one redraw, so how many
    there are depends on timing; the last is of ``value``.)"""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        drawn, last = eval(execute(client, "print((drawn, view.settings['x']))"))
        if last == value:
            return drawn
        time.sleep(0.2)
    raise AssertionError(f"the view did not draw x = {value} within {timeout} s (it drew x = {last} last)")


def test_a_view_draws_on_the_main_thread_when_its_slider_moves_on_a_subshell(kernel):
    model_id = execute(kernel, VIEW).split()[-1]
    move_slider(kernel, model_id, 0.9, subshell(kernel))
    drawn = redraws(kernel, 0.9)
    assert execute(kernel, "print(received[-1] != 'MainThread')").strip() == "True", "the message came to the main shell"
    assert len(drawn) >= 2
    for thread, interactive, _ in drawn:
        assert (thread, interactive) == ("MainThread", False), (
            f"a redraw ran in thread {thread} with pyplot interactive={interactive}: it must run on the "
            "kernel's main thread with pyplot not interactive")
    assert execute(kernel, "print(len(view.image.value) > 0)").strip() == "True"


def test_a_redraw_waits_for_the_running_cell(kernel):
    """A slider moved while a cell runs (the subshell takes the message at once) redraws after it."""
    model_id = execute(kernel, VIEW).split()[-1]
    shell = subshell(kernel)
    move_slider(kernel, model_id, 0.4, shell)
    before = len(redraws(kernel, 0.4))
    running = kernel.execute("print('running', flush=True); time.sleep(3); ended = time.time()")
    while True:  # until the cell is running
        message = kernel.get_iopub_msg(timeout=60)
        if message["parent_header"].get("msg_id") == running and message["msg_type"] == "stream":
            break
    for value in (0.1, 0.2):  # two changes while the cell runs: one redraw after it, of the second
        on_subshell(kernel, shell, slider_message(kernel, model_id, value))
    reply = kernel.get_shell_msg(timeout=60)
    assert reply["parent_header"]["msg_id"] == running and reply["content"]["status"] == "ok"
    ended = float(execute(kernel, "print(ended)"))
    drawn = redraws(kernel, 0.2)
    assert all(when >= ended for _, _, when in drawn[before:]), "the view redrew while a cell was running"
    time.sleep(0.5)
    assert len(eval(execute(kernel, "print(drawn)"))) == before + 1, (
        "two changes while a cell ran should make one redraw after it, of the latest settings")
