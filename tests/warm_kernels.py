"""Warm kernels for the test suite: a kernel forked from a process that has already imported
what the sheets' kernels import (torch, numpy, sympy), instead of a fresh Python
that imports them again (about 2 CPU seconds per kernel, some 40 kernels per run).

Only the kernels that Jupyter starts by the kernel spec "python3" are warm: those of the
nbgrader commands the tests run (validate, autograde) and of JupyterLab in the browser tests.
The graders' kernels (coursegrade, in the sandbox or not) name their own command and start
fresh, as in a course; so do kernels of other users (the hub) and kernels whose environment
differs from the warm process's where Python or the preloaded libraries read it at start (the
stub then runs a fresh kernel itself).

Two parts in one file:

* ``python warm_kernels.py serve SOCKET``: the warm process. It imports, then forks one child
  per request; the child becomes the kernel, with the requester's arguments, working folder,
  environment and standard streams (passed over the socket).
* ``python -I -S warm_kernels.py -f CONNECTION_FILE ...``: the stub, which the kernel spec
  names. Jupyter starts, signals and kills the stub as it would the kernel: the stub passes
  signals on to the kernel's process group, ends with the kernel's exit status, and when it is
  killed (or its parent ends) the warm process kills the kernel. Where the warm process is not
  there or declines, the stub replaces itself with a fresh kernel.

``start(folder)`` (conftest.py) starts the warm process and points Jupyter at the kernel spec.
Set DLCOURSE_FRESH_KERNELS=1 to run the suite with fresh kernels only (as it does outside Linux).
"""

import contextlib
import json
import os
import signal
import socket
import sys

SOCKET_VARIABLE = "DLCOURSE_WARM_KERNELS"
# Read by Python at its start or by the preloaded libraries at import: a kernel whose environment
# differs here from the warm process's starts fresh.
AT_START = ("PYTHON", "LC_", "LANG", "TZ", "OMP_", "KMP_", "GOMP_", "MKL_", "OPENBLAS_", "TORCH", "PYTORCH",
            "CUDA", "NPY_", "NUMPY_", "SYMPY_", "MPMATH_", "IPYTHON", "JUPYTER_PLATFORM_DIRS", "HOME")
MESSAGE_BYTES = 1 << 20
# What the stub passes on to its kernel, and what the forked kernel handles as a fresh process does.
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


def _fresh_kernel(arguments):
    os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *arguments])


# ---------------------------------------------------------------- the stub (Jupyter's "kernel")

def stub(arguments):
    path = os.environ.get(SOCKET_VARIABLE)
    request = json.dumps({"arguments": arguments, "cwd": os.getcwd(), "env": dict(os.environ)}).encode()
    try:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        connection.settimeout(60)  # the warm process imports for a few seconds after its start
        connection.connect(path)
        socket.send_fds(connection, [request], [0, 1, 2])
        answer = connection.recv(4096).decode() or "0 the warm process closed the connection"
        pid, why = int(answer.split(" ", 1)[0]), answer.partition(" ")[2]
    except (OSError, TypeError, ValueError) as error:
        pid, why = 0, f"no answer from the warm process at {path} ({error!r})"
    if not pid:  # no warm process, or it declined: a fresh kernel in this process
        sys.stderr.write(f"warm_kernels.py: this kernel starts fresh: {why}\n")
        _fresh_kernel(arguments)
    for number in FORWARDED:
        signal.signal(number, lambda number, frame: _signal(pid, number))
    parent = os.getppid()
    connection.settimeout(1)
    while True:
        try:
            status = connection.recv(64)
            break
        except TimeoutError:
            if os.getppid() != parent:  # whoever started the kernel is gone (as ipykernel checks)
                _signal(pid, signal.SIGKILL)
                sys.exit(1)
    code = int(status or b"-9")
    if code < 0:  # killed by a signal: end the same way
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code)


def _signal(pid, number):
    try:
        os.killpg(pid, number)
    except ProcessLookupError:
        pass


# ---------------------------------------------------------------- the warm process

def serve(fd):
    """Serve the stubs that connect to the listening socket ``fd`` (made by ``start``: it is
    there before this process has started; requests wait in it until the imports are done)."""
    import selectors

    listener = socket.socket(fileno=fd)
    import numpy.random  # noqa: F401
    import sympy  # noqa: F401
    import torch  # noqa: F401

    kernels = {}  # connection -> kernel pid
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    selector.register(sys.stdin, selectors.EVENT_READ)  # closed when the test process ends
    try:
        while True:
            for key, _ in selector.select(timeout=0.2):
                if key.fileobj is sys.stdin:
                    if not os.read(sys.stdin.fileno(), 1024):
                        return
                elif key.fileobj is listener:
                    connection = listener.accept()[0]
                    pid = _start(connection, [listener, selector, *kernels])
                    if pid:
                        kernels[connection] = pid
                        selector.register(connection, selectors.EVENT_READ)
                    else:
                        connection.close()
                else:  # the stub is gone: its kernel goes too
                    _signal(kernels.pop(key.fileobj), signal.SIGKILL)
                    _drop(key.fileobj, selector)
            _reap(kernels, selector)
    finally:
        for pid in kernels.values():
            _signal(pid, signal.SIGKILL)


def _start(connection, inherited):
    """Fork a kernel for the stub at ``connection``; its pid, or 0 where it declined.
    (``inherited``: what the child closes, the warm process's sockets.)"""
    fds, pid = [], 0
    try:
        message, fds, _, _ = socket.recv_fds(connection, MESSAGE_BYTES, 3)
        request = json.loads(message)
        differing = _differs(request["env"])
        if len(fds) == 3 and not differing:
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                for item in [*inherited, connection]:
                    item.close()
                _become_kernel(request, fds)
            connection.send(str(pid).encode())
        else:
            why = f"its environment differs in {', '.join(differing)}" if differing else "no standard streams came"
            connection.send(f"0 {why}".encode())
    except (OSError, ValueError, KeyError, TypeError):  # a stub that is gone or sent nonsense: it starts fresh
        pass
    finally:
        for fd in fds:
            os.close(fd)
    return pid


def _differs(env):
    """The variables read at start (AT_START) whose values differ between env and this process."""
    keys = {key for key in [*env, *os.environ] if key.startswith(AT_START)}
    return sorted(key for key in keys if env.get(key) != os.environ.get(key))


def _reap(kernels, selector):
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if not pid:
            return
        for connection, kernel in list(kernels.items()):
            if kernel == pid:
                del kernels[connection]
                _drop(connection, selector, str(os.waitstatus_to_exitcode(status)).encode())


def _drop(connection, selector, last=None):
    """Stop serving a stub's connection, telling it ``last`` (its kernel's exit status) if given."""
    selector.unregister(connection)
    try:
        if last is not None:
            connection.send(last)
    except OSError:  # the stub is gone already
        pass
    connection.close()


def _become_kernel(request, fds):
    """In the forked child: what a fresh `python -m ipykernel_launcher` would have, then run it."""
    import runpy
    import threading

    import numpy.random

    code = 1
    try:
        os.setsid()  # a process group of its own, as Jupyter gives a kernel
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.path[0] = request["cwd"]  # python -m puts the working folder first
        sys.dont_write_bytecode = bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))
        for number in [*FORWARDED, signal.SIGCHLD]:
            signal.signal(number, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # Python's own, after the reset above
        numpy.random.seed()  # a fresh process seeds numpy's global generator from the system
        sys.argv = ["ipykernel_launcher", *request["arguments"]]
        runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as end:
        code = end.code if isinstance(end.code, int) else (0 if end.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        try:
            threading._shutdown()
            import atexit

            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


# ---------------------------------------------------------------- the test process's side

def start(folder):
    """Start the warm process for this test process and point Jupyter at its kernel spec
    (folder: an empty folder of the test process's own). Returns the process, or None where
    the suite uses fresh kernels only."""
    import subprocess

    path = str(folder / "socket")
    if os.environ.get("DLCOURSE_FRESH_KERNELS") or sys.platform != "linux" or len(path) > 100:
        return None  # macOS: forked children are not safe; a socket's path has at most 107 bytes
    spec = folder / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-I", "-S", os.path.abspath(__file__), "-f", "{connection_file}"],
        "display_name": "Python 3 (ipykernel)", "language": "python", "interrupt_mode": "signal",
        "metadata": {"debugger": True}, "kernel_protocol_version": "5.5"}))
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as listener:
        listener.bind(path)
        listener.listen(64)
        process = subprocess.Popen([sys.executable, os.path.abspath(__file__), "serve", str(listener.fileno())],
                                   stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, pass_fds=[listener.fileno()])
    os.environ[SOCKET_VARIABLE] = path
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(folder), os.environ.get("JUPYTER_PATH")]))
    return process


@contextlib.contextmanager
def running(folder):
    """``start`` for the block (yields the process, or None where kernels start fresh); then
    the warm process stops and Jupyter is pointed back where it was (at the warm process of
    the session, where a test started its own)."""
    before = {key: os.environ.get(key) for key in (SOCKET_VARIABLE, "JUPYTER_PATH")}
    process = start(folder)
    try:
        yield process
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if process:
            process.stdin.close()
            process.wait(30)


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(int(sys.argv[2]))
    else:
        stub(sys.argv[1:])
