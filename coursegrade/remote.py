"""The worker's side of test cells that run in the tester (tester.py), not in the kernel.

For each test cell the worker opens a connection to the tester (a forked child runs the cell)
and carries its requests to the kernel: what a name is (serve.lookup) and calls of the student's
functions (serve.call), with the kernel's call-backs (input requests) carried back. The worker
only passes text on; the tester decodes it (wire.py) and judges.

The tester is started once per worker process (``tester_socket``), or by the coordinator before
it forks its workers, and serves every notebook after that: its imports are paid once.
"""

import ast
import asyncio
import atexit
import json
import os
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import zmq
import zmq.asyncio
from nbclient.exceptions import DeadKernelError

from coursegrade import sandbox, serve, tempfolders, wire

SERVE_SOURCE = Path(serve.__file__).read_text()
WIRE_SOURCE = Path(wire.__file__).read_text()
KERNEL_NAME = "__coursegrade_serve"  # where serve.py's functions live in the kernel's namespace
MESSAGE_BYTES = 64 * 2**20  # the most one answer of the kernel may carry
START_SECONDS = 120  # for the tester's imports, on a loaded machine
LARGE_REQUEST = 2**16  # characters: such a request reaches the kernel as a user expression, then the call
_SERVER = {}  # "path", "process", "pid": the tester this process tree uses


def enabled(spec_nb):
    """Whether this notebook's tests run in the tester (the sheet's metadata asks for it)."""
    return bool(spec_nb["release"].get("metadata", {}).get("coursegrade", {}).get("tests_in_tester"))


def install_expression():
    """A user expression that puts serve.py (with wire.py) into the kernel's namespace."""
    return (f"(lambda w, s: (exec({WIRE_SOURCE!r}, w), exec({SERVE_SOURCE!r}, s), s['install'](w), "
            f"globals().__setitem__({KERNEL_NAME!r}, __import__('types').SimpleNamespace(**s)))[2])"
            "({'__name__': 'coursegrade_wire'}, {'__name__': 'coursegrade_serve'})")


def _alive(path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(path)
        except OSError:
            return False
    return True


def tester_socket(limits=None):
    """The tester's socket, starting the tester (in its sandbox) if this process tree has none."""
    path = _SERVER.get("path")
    if path and _alive(path):
        return path
    folder = tempfolders.make("coursegrade-tester")
    (folder / "matplotlib").mkdir()
    sandbox.prepare(sandbox.Workspace(folder))  # the same layout: its matplotlib folder, the sandbox's user
    env = sandbox.tester_environment(folder)
    prefix, _ = sandbox.tester_command(folder, limits or sandbox.Limits(), env)
    path = str(folder / "socket")
    process = subprocess.Popen([*prefix, sys.executable, "-P", "-m", "coursegrade.tester", path],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                               env=env)
    ready = select.select([process.stdout], [], [], START_SECONDS)[0] and process.stdout.readline().strip() == b"ready"
    if not ready:
        process.kill()
        raise RuntimeError(f"the tester (coursegrade/tester.py) did not start within {START_SECONDS} s")
    _SERVER.update(path=path, process=process, pid=os.getpid())
    atexit.register(_stop, process, os.getpid(), folder)
    return path


def _stop(process, pid, folder):
    if os.getpid() == pid:
        process.kill()
        process.wait()
        process.stdout.close()
    sandbox.remove_in(pid, folder)


async def _read(reader):
    line = await reader.readline()
    if not line:
        raise ConnectionError("the tester closed the connection")
    return json.loads(line)


async def _write(writer, message):
    writer.write(json.dumps(message).encode() + b"\n")
    await writer.drain()


def _expression_answer(reply, key="r"):
    """The str a user expression returned (IPython sends its repr), or None."""
    result = reply.get("content", {}).get("user_expressions", {}).get(key, {})
    if result.get("status") != "ok":
        return None
    text = result.get("data", {}).get("text/plain", "")
    if len(text) > MESSAGE_BYTES:
        return None
    try:
        answer = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    return answer if isinstance(answer, str) else None


async def _poll(client, msg_id, on_input, timeout):
    """Wait for the shell reply to ``msg_id``, answering input requests on the way."""
    kc = client.kc
    poller = zmq.asyncio.Poller()
    poller.register(kc.shell_channel.socket, zmq.POLLIN)
    poller.register(kc.stdin_channel.socket, zmq.POLLIN)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready = dict(await poller.poll(250))  # slices: a missed wake-up costs one (kernel_client.py)
        if not ready and not await client.km.is_alive():
            raise DeadKernelError("the kernel died while the test called it")
        if kc.stdin_channel.socket in ready or await kc.stdin_channel.msg_ready():
            message = await kc.stdin_channel.get_msg(timeout=0)
            asked = message["parent_header"].get("msg_id") == msg_id and message["msg_type"] == "input_request"
            if asked and on_input is not None:  # (a request that allowed no input gets none: a forged one)
                kc.input(await on_input(message["content"].get("prompt", "")))
        if kc.shell_channel.socket in ready or await kc.shell_channel.msg_ready():
            message = await kc.shell_channel.get_msg(timeout=0)
            if message["parent_header"].get("msg_id") == msg_id:
                return message
    raise TimeoutError


async def _kernel_expression(client, expression, timeout, on_input=None, code=""):
    msg_id = client.kc.execute(code, silent=True, store_history=False, allow_stdin=on_input is not None,
                               user_expressions={"r": expression})
    return await _poll(client, msg_id, on_input, timeout)


async def _served(client, function, argument, timeout, default):
    """What serve's ``function(globals(), argument)`` answers in the kernel (a lookup, a test
    cell's begin or end), as data; ``default`` if the kernel gives no JSON."""
    reply = await _kernel_expression(client, f"{KERNEL_NAME}.{function}(globals(), {argument!r})", timeout)
    try:
        return json.loads(_expression_answer(reply))
    except (TypeError, ValueError):
        return default


async def _call(client, message, reader, writer, timeout):
    async def called_back(prompt):
        try:
            question = json.loads(prompt)
            await _write(writer, {"op": "callback", "n": question["callback"], "args": question["args"]})
        except (ValueError, KeyError, TypeError):
            return json.dumps({"error": wire.dump_error(RuntimeError("a call-back request that makes no sense"))})
        while (answer := await _read(reader)).get("op") != "callback_result":
            # the kernel is busy with the call that called back: it cannot answer another request
            await _write(writer, {"fault": "the test asked your kernel for something while your function was "
                                           "still running (a function of the test given to yours calls your code)"})
        return json.dumps({k: v for k, v in answer.items() if k in ("out", "error")})

    op = message.get("op")
    request = json.dumps({k: v for k, v in message.items() if k != "op"})
    if len(request) > LARGE_REQUEST:  # IPython reads code slowly (0.1 s a MiB): a large request goes ahead
        await _kernel_expression(client, f"{KERNEL_NAME}.__dict__.__setitem__('request', {request!r})", timeout)
        request_text = f"{KERNEL_NAME}.__dict__.pop('request', 'null')"
    else:
        request_text = repr(request)
    # as code, not as a user expression: ipykernel forwards input() only while code runs
    code = f"{KERNEL_NAME}.answer = {KERNEL_NAME}.{op}(globals(), {request_text})"
    reply = await _kernel_expression(client, f"{KERNEL_NAME}.__dict__.pop('answer', None)", timeout, called_back, code)
    answer = _expression_answer(reply)
    try:
        return json.loads(answer)
    except (TypeError, ValueError):
        return _fault(client, reply, message.get("name"))


def _fault(client, reply, name):
    """The test's error (and a reason for the teacher) for a call the kernel gave no answer to."""
    result = reply.get("content", {}).get("user_expressions", {}).get("r", {})
    size = len(result.get("data", {}).get("text/plain", ""))
    if size > MESSAGE_BYTES:
        why = f"the answer of {name} was larger than {MESSAGE_BYTES // 2**20} MiB"
    elif result.get("status") == "error":
        why = f"your kernel could not call {name}: {result.get('ename')}: {str(result.get('evalue', ''))[:300]}"
    else:
        why = f"your kernel's answer for {name} makes no sense"
    client.tester_faults.append(why)
    return {"fault": why}


async def _converse(client, reader, writer, deadline):
    while True:
        message = await _read(reader)
        op, left = message.get("op"), deadline - time.monotonic()
        if op == "done":
            return message
        if op == "lookup":
            answer = await _served(client, "lookup", str(message.get("name")), left, {"kind": "missing"})
        elif op in ("call", "attribute", "iterate", "define"):
            answer = await _call(client, message, reader, writer, left)
        elif op in ("begin", "end"):
            edge = {k: v for k, v in message.items() if k in ("random", "names", "read")}
            answer = await _served(client, op, json.dumps(edge), left, {})
        else:
            answer = {"fault": f"unknown request {op!r}"}
        await _write(writer, answer)


async def run_test(client, path, source, count, seconds, given=None):
    """Run one test cell in the tester; its verdict ({"status", "ename", "evalue", "traceback",
    "printed"}). A test that runs out of time fails with CellTimeoutError (the kernel is
    interrupted, the tester's child is dropped). given: the sheet's functions (spec.given_functions)."""
    reader, writer = await asyncio.open_unix_connection(path, limit=MESSAGE_BYTES)
    try:
        await _write(writer, {"op": "cell", "source": source, "count": count, "seconds": seconds, "given": given or {}})
        return await asyncio.wait_for(_converse(client, reader, writer, time.monotonic() + seconds), seconds)
    except TimeoutError:
        if await client.km.is_alive():
            await client.km.interrupt_kernel()
        return {"status": "error", "ename": "CellTimeoutError", "evalue": f"the test ran longer than {seconds:.0f} s",
                "traceback": [f"CellTimeoutError: the test ran longer than {seconds:.0f} s and was stopped"]}
    except (ConnectionError, ValueError) as error:
        return {"status": "error", "ename": "GradingError", "evalue": f"the test could not be run: {error}",
                "traceback": [f"GradingError: the test could not be run: {error}"]}
    finally:
        writer.close()
