"""coursegrade.kernel_client: a missed wake-up of the kernel client costs a slice, not a timeout.

The miss itself happens now and then with real kernels (plain `nbgrader autograde` of an
unfinished sheet 03 waited out the 120 s cell timeout in about one run in three), too rarely to
test on a real kernel. Here a socket that is never woken stands in for it: it answers a poll only
when the poll's time is up, with what is there then.
"""

import asyncio
import time
from queue import Empty

import pytest
import zmq
import zmq.asyncio
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.session import Session
from nbtools import ROOT
from traitlets.config.loader import PyFileConfigLoader

from coursegrade.kernel_client import SLICE, WatchfulChannel, WatchfulKernelClient
from coursegrade.worker import SandboxedKernelManager


def deaf_pair():
    """(sender, receiver) of an inproc socket pair whose receiver's poll sleeps through messages."""
    context = zmq.asyncio.Context()
    sender, receiver = context.socket(zmq.PAIR), context.socket(zmq.PAIR)
    address = f"inproc://deaf-{id(receiver)}"
    sender.bind(address)
    receiver.connect(address)
    awake_poll = receiver.poll

    async def deaf_poll(timeout=None):
        await asyncio.sleep((timeout or 0) / 1000)
        return await awake_poll(0)

    receiver.poll = deaf_poll
    return sender, receiver


def time_to_receive(channel_class, timeout, send_after=0.2):
    """Seconds from sending a reply until the channel returns it (None: it raised Empty)."""
    sender, receiver = deaf_pair()
    session = Session(key=b"")
    channel = channel_class(receiver, session)

    async def scenario():
        asyncio.get_running_loop().call_later(send_after, session.send, sender, "execute_reply", {"status": "ok"})
        start = time.monotonic()
        try:
            message = await channel.get_msg(timeout=timeout)
        except Empty:
            return None
        assert message["msg_type"] == "execute_reply"
        return time.monotonic() - start - send_after

    try:
        return asyncio.run(scenario())
    finally:
        sender.close(linger=0)
        receiver.close(linger=0)


def test_jupyter_clients_own_channel_waits_out_the_timeout_after_a_missed_wake_up():
    """What happened in grading: the reply is there after 0.2 s, the client waits 2 s."""
    assert time_to_receive(AsyncZMQSocketChannel, timeout=2.0) > 1.5


@pytest.mark.parametrize("timeout", [None, 30.0])
def test_a_missed_wake_up_costs_at_most_one_slice(timeout):
    delay = time_to_receive(WatchfulChannel, timeout=timeout)
    assert delay is not None and delay < SLICE + 0.15, f"the reply came {delay} s late"


def test_without_a_message_the_channel_still_gives_up_at_its_timeout():
    start = time.monotonic()
    assert time_to_receive(WatchfulChannel, timeout=0.6, send_after=5) is None
    assert 0.55 < time.monotonic() - start < 0.6 + SLICE + 0.2


@pytest.mark.parametrize("config", ["nbgrader_config.py", "hub/student/nbgrader_config.py"])
def test_nbgrader_runs_notebooks_with_the_watchful_client(config):
    """Autograde, validate and the Assignments panel make their kernel managers with this config."""
    path = ROOT / config
    loaded = PyFileConfigLoader(path.name, path=str(path.parent)).load_config()
    assert AsyncKernelManager(config=loaded).client_factory is WatchfulKernelClient


def test_coursegrade_runs_notebooks_with_the_watchful_client():
    assert SandboxedKernelManager(kernel_name="python3").client_factory is WatchfulKernelClient
