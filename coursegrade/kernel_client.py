"""A kernel client that does not sleep through a message the kernel has already sent.

Waiting for a kernel's reply, jupyter_client awaits ``socket.poll(timeout)`` on the channel's
ZeroMQ socket. Now and then that wait misses the socket's wake-up (ZeroMQ signals through an
edge-triggered file descriptor): the reply sits in the socket while the client waits out the
whole timeout. Grading this course's sheets with plain ``nbgrader autograde`` this happened
to about one notebook in three with an unfinished slider view, each time costing the cell's
full timeout (120 s) and, on the IOPub channel, a spurious "Timeout waiting for IOPub output"
error that fails a test cell. Here each wait is cut into short slices: at the end of each,
pyzmq looks at the socket again, so a missed wake-up costs at most one slice.

nbgrader_config.py makes nbgrader use it (``c.AsyncKernelManager.client_factory``);
coursegrade's own kernel manager uses it too.
"""

import time
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from traitlets import Type

SLICE = 0.25  # seconds: the longest a missed wake-up can delay a message


class WatchfulChannel(AsyncZMQSocketChannel):
    """``get_msg`` that polls in slices of at most SLICE seconds until ``timeout``."""

    async def get_msg(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = SLICE if deadline is None else min(SLICE, max(0.0, deadline - time.monotonic()))
            if await self.socket.poll(int(wait * 1000)):
                return await self._recv()
            if deadline is not None and time.monotonic() >= deadline:
                raise Empty


class WatchfulKernelClient(AsyncKernelClient):
    shell_channel_class = Type(WatchfulChannel)
    iopub_channel_class = Type(WatchfulChannel)
    stdin_channel_class = Type(WatchfulChannel)
    control_channel_class = Type(WatchfulChannel)
