"""The suite's warm kernels (warm_kernels.py) act as fresh ones in what a notebook or Jupyter can
tell: working folder, environment, sys.path, numpy's seed, interrupts, and a kill that ends
them; a kernel whose start-up environment differs, or that finds no warm process, starts fresh."""

import contextlib
import json
import os
import signal
import time

import pytest
import warm_kernels
from jupyter_client.manager import start_new_kernel


@pytest.fixture(scope="module", autouse=True)
def warm_process(tmp_path_factory):
    """A warm process of these tests' own, started now: the session's (conftest.py) started with
    the test process, and a kernel whose environment has drifted from it since starts fresh."""
    if not os.environ.get(warm_kernels.SOCKET_VARIABLE):
        pytest.skip("warm kernels are off (DLCOURSE_FRESH_KERNELS is set, or not Linux): every kernel starts fresh")
    with warm_kernels.running(tmp_path_factory.mktemp("warm")) as process:
        if process is None:
            pytest.skip("the temporary folder's path is too long for a Unix socket: warm kernels are off")
        yield

PROBE = """import json, os, sys, numpy
print(json.dumps({"cwd": os.getcwd(), "value": os.environ.get("PROBE"), "warm": "torch" in sys.modules,
                  "path": sys.path, "random": numpy.random.rand(), "pid": os.getpid()}))"""


@contextlib.contextmanager
def kernel(folder, **env):
    manager, client = start_new_kernel(kernel_name="python3", cwd=str(folder), env=dict(os.environ, **env))
    try:
        yield manager, client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def probe(client):
    printed = []
    client.execute_interactive(PROBE, timeout=60, output_hook=lambda m: printed.append(m["content"].get("text", "")))
    return json.loads("".join(printed))


def test_a_warm_kernel_sees_what_a_fresh_one_sees(tmp_path, capfd):
    with kernel(tmp_path, PROBE="one") as (_, client):
        first = probe(client)
    with kernel(tmp_path, PROBE="two") as (_, client):
        second = probe(client)
    assert first["warm"] and second["warm"], f"the kernels did not fork from the warm process: {capfd.readouterr().err}"
    with kernel(tmp_path, PROBE="three", OMP_NUM_THREADS="3") as (_, client):  # read by torch at import
        fresh = probe(client)
    assert not fresh["warm"], "a kernel with another OMP_NUM_THREADS must start fresh"
    assert "starts fresh: its environment differs in OMP_NUM_THREADS" in capfd.readouterr().err, "no reason given"
    assert (first["cwd"], first["value"], second["value"]) == (str(tmp_path), "one", "two")
    assert first["path"] == second["path"] == fresh["path"]
    assert first["random"] != second["random"], "numpy's global generator must be seeded anew in each kernel"


def test_without_the_warm_process_a_kernel_starts_fresh(tmp_path):
    with kernel(tmp_path, **{warm_kernels.SOCKET_VARIABLE: str(tmp_path / "none")}) as (_, client):
        assert not probe(client)["warm"]


def test_an_interrupt_reaches_a_warm_kernel(tmp_path):
    with kernel(tmp_path) as (manager, client):
        msg_id = client.execute("import time; time.sleep(60)")
        time.sleep(1)
        manager.interrupt_kernel()
        reply = client.get_shell_msg(timeout=20)
        assert reply["parent_header"]["msg_id"] == msg_id
        assert reply["content"].get("ename") == "KeyboardInterrupt", reply["content"]


def test_killing_what_jupyter_started_ends_the_warm_kernel(tmp_path):
    with kernel(tmp_path) as (manager, client):
        pid = probe(client)["pid"]
        os.killpg(manager.provisioner.pgid, signal.SIGKILL)  # as Jupyter kills a kernel that will not stop
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        pytest.fail(f"the warm kernel {pid} still runs 10 s after its stub was killed")
