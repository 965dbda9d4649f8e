"""Grade one submission: ``grade_submission(payload) -> result``.

Self-contained, so that it runs in a Dask worker on any machine with the course environment:
the payload carries the submission's files and the sheet (from the gradebook); the result
carries the executed notebook(s), per-cell scores, reasons and flags. It never touches the
gradebook or any course folder. Student code runs only inside the sandbox (sandbox.py).

Scores follow nbgrader (``nbgrader.utils.determine_grade``): a test cell earns its points
unless it shows an error (or reports partial credit); unlike nbgrader, output on stderr
alone (a warning) does not fail a test. On top: a test cell during which the kernel changed
a guarded function, or before which the guard could not verify the kernel, earns nothing.
"""

import ast
import asyncio
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path, PurePosixPath

import nbformat
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from traitlets import Type

from coursegrade import (
    __version__,
    diagnosis,
    guard,
    preflight,
    probe,
    remote,
    sandbox,
    sanitize,
    tempfolders,
)
from coursegrade.feedback import marked
from coursegrade.kernel_client import WatchfulKernelClient

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
PROBE_SOURCE = Path(probe.__file__).read_text()  # sent to the kernel as text, as the guard is
PROBE_SECONDS = 20  # per graded function, for all its probes
IPYTHON_FRAME = re.compile(r"(?:Cell In\s*\[(\d+)\]|Input In\s*\[(\d+)\]).*?line (\d+)")


def input_hash(files, spec_hash):
    digest = hashlib.sha256(f"{__version__}:{spec_hash}".encode())
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()


class SandboxedKernelManager(AsyncKernelManager):
    """Starts the kernel through the sandbox prefix, talking over unix sockets in the
    working folder (the sandbox has no network, not even loopback)."""

    sandbox_prefix: list = []
    client_factory = Type(WatchfulKernelClient)  # sleeps through no reply (kernel_client.py)

    def format_kernel_cmd(self, extra_arguments=None):
        return self.sandbox_prefix + super().format_kernel_cmd(extra_arguments)

    def write_connection_file(self, **kwargs):
        super().write_connection_file(**kwargs)
        os.chmod(self.connection_file, 0o644)  # readable by the sandbox's user (nobody, as root)


class CappedClient(NotebookClient):
    """nbclient with output capped in bytes per cell and per notebook."""

    def __init__(self, *args, limits, **kwargs):
        super().__init__(*args, **kwargs)
        self.limits = limits
        self.used_total = 0
        self.used_cell = {}
        self.truncated = set()
        self.timed_out = set()

    async def _async_handle_timeout(self, timeout, cell=None):
        if cell is not None:
            self.timed_out.add(id(cell))
        return await super()._async_handle_timeout(timeout, cell)

    def process_message(self, msg, cell, cell_index):
        kind = msg.get("msg_type") or msg.get("header", {}).get("msg_type")
        if kind in ("stream", "display_data", "execute_result", "update_display_data", "error"):
            content = msg.get("content", {})
            size = len(json.dumps(content, default=str)) if kind != "stream" else len(content.get("text", ""))
            used = self.used_cell.get(cell_index, 0)
            too_much = (used + size > self.limits.output_bytes_per_cell
                        or self.used_total + size > self.limits.output_bytes_total)
            if too_much and kind != "error":
                if cell_index not in self.truncated:
                    self.truncated.add(cell_index)
                    cell.outputs.append(nbformat.v4.new_output(
                        "stream", name="stdout", text="\n... output cut here: the cell printed too much ...\n"))
                return None
            if kind == "error":
                content["traceback"] = content.get("traceback", [])[-60:]
                content["evalue"] = str(content.get("evalue", ""))[:2000]
            self.used_cell[cell_index] = used + size
            self.used_total += size
        return super().process_message(msg, cell, cell_index)


def _is_test(cell):
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")


def _names_touched(source):
    """Every module-level name a cell binds or deletes (assignments, loops, del, def, import,
    global declarations), not looking into function bodies otherwise."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    names, todo = [], list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
            names += [n for inner in ast.walk(node) if isinstance(inner, ast.Global) for n in inner.names]
            continue
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.append(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names += [(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"]
        todo.extend(ast.iter_child_nodes(node))
    return names


def _names_defined(source):
    """Top-level functions, classes and imported names of a cell (what the sheet defines)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    names = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node in tree.body:
            names.append(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names += [(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"]
    return names


def _await_reply(client, msg_id, timeout):
    async def wait():
        while True:
            msg = await client.kc._async_get_shell_msg(timeout=None)
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return msg
    return asyncio.wait_for(wait(), timeout)


async def _call_guard(client, expression, timeout=30):
    msg_id = client.kc.execute("", silent=True, store_history=False, user_expressions={"guard": expression})
    return await _await_reply(client, msg_id, timeout)


async def _execute(nb, space, spec_nb, limits, trusted):
    """Run the notebook in the sandbox; returns (per-cell info, reasons, flags)."""
    nonce = secrets.token_hex(8)
    env = sandbox.kernel_environment(space)
    prefix, how = sandbox.command(space, limits, env)
    km = SandboxedKernelManager(kernel_name="python3")
    km.sandbox_prefix = prefix
    km._kernel_spec = KernelSpec(
        # -P: neither the working copy nor '' on sys.path (a sympy/ folder in the submission
        # would shadow the real package); IPython then does not add '' either.
        argv=[sys.executable, "-P", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        display_name="Python 3 (sandbox)", language="python", interrupt_mode="message", env=env,
    )
    km.transport = "ipc"
    km.ip = str(space.root / "kernel")
    km.connection_file = str(space.root / "kernel.json")
    replies = {}
    client = CappedClient(
        nb, km=km, limits=limits, timeout=int(limits.cell_seconds), interrupt_on_timeout=True,
        allow_errors=True, startup_timeout=120, iopub_timeout=10,
        error_on_timeout={"ename": "CellTimeoutError", "evalue": f"the cell ran longer than {limits.cell_seconds:.0f} s",
                          "traceback": [f"CellTimeoutError: the cell ran longer than {limits.cell_seconds:.0f} s and was stopped"]},
        extra_arguments=["--HistoryManager.hist_file=:memory:", "--HistoryManager.enabled=False"],
        on_cell_executed=lambda cell, cell_index, execute_reply: replies.__setitem__(cell_index, execute_reply),
        record_timing=False,
    )
    info = {}  # cell index -> {"ran", "tampered", "guard"}
    reasons, flags = [], []
    if how != "bubblewrap":
        flags.append("NOT SANDBOXED: bubblewrap is not available, the student's code ran with the teacher's rights")
    deadline = time.monotonic() + limits.wall_seconds
    client.replies, client.kernel_env, client.space = replies, env, space
    client.timing = timing = {}
    client.observed = {}
    client.tester = remote.tester_socket(limits) if remote.enabled(spec_nb) else None
    try:
        stopped = await _run_cells(client, nb, nonce, spec_nb, limits, trusted, deadline, info, reasons, flags)
    finally:
        begin = time.monotonic()
        if km.has_kernel:
            await km.shutdown_kernel(now=True)
        timing["shutdown"] = time.monotonic() - begin
    if stopped:
        reasons.append(stopped[0].upper() + stopped[1:] + "; later cells were not run.")
    for index in sorted(client.truncated):
        label = nb.cells[index].metadata.get("nbgrader", {}).get("grade_id") or f"cell {index + 1}"
        reasons.append(f"{label} printed more than {limits.output_bytes_per_cell // 1024} KB; the rest of its output was cut.")
    return info, reasons, flags, how, timing, client.observed


def _number(reply):
    """The float a user expression returned (the kernel's CPU seconds), or None."""
    result = reply.get("content", {}).get("user_expressions", {}).get("guard", {})
    try:
        return float(result.get("data", {}).get("text/plain", ""))
    except ValueError:
        return None


def _add(timing, key, begin):
    timing[key] = timing.get(key, 0.0) + time.monotonic() - begin


async def _run_cells(client, nb, nonce, spec_nb, limits, trusted, deadline, info, reasons, flags):
    stopped = None
    checked = False  # the guard answered after the last cell that ran: nothing ran since
    replies = client.replies
    env = client.kernel_env
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}  # the kernel's own messages
    timing, begin = client.timing, time.monotonic()
    async with client.async_setup_kernel(cwd=str(client.space.work), env=env, **quiet):
        _add(timing, "kernel_start", begin)
        begin = time.monotonic()
        if client.tester:  # the tests run in the tester: nothing of theirs to guard in the kernel
            started = _number(await _call_guard(client, remote.install_expression(), timeout=120))
            if started is None:
                flags.append("the kernel could not take the grader's call handler; the tests' calls fail")
            _add(timing, "guard_install", begin)
            timing["kernel_cpu"] = {"start_cpu": started, "installed_at": started, "checks": 0.0}
        else:
            install = guard.reply_payload(
                await _call_guard(client, guard.install_expression(nonce, spec_nb["imports"]), timeout=120), nonce)
            _add(timing, "guard_install", begin)
            if install is None:
                flags.append("the grading guard could not be installed in the kernel")
            else:
                timing["kernel_cpu"] = {key: install.get(key) for key in
                                        ("start_cpu", "import_cpu", "import_cpu_by_module", "snapshot_cpu")}
                timing["kernel_cpu"]["installed_at"] = install["cpu"]
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            remaining = deadline - time.monotonic()
            label = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index + 1}"
            if remaining <= 1:
                stopped = f"the notebook exceeded its total time of {limits.wall_seconds:.0f} s before {label}"
                break
            test = _is_test(cell)
            kind = "test_cells" if test else "given_cells" if trusted(cell) else "student_cells"
            entry = info.setdefault(index, {"ran": False, "tampered": [], "unverified": False})
            try:
                if test and client.tester:
                    begin = time.monotonic()
                    client.tester_faults = []
                    if await _run_in_tester(client, cell, spec_nb, min(limits.cell_seconds, remaining)) == "timeout":
                        reasons.append(f"{label} exceeded its time of {limits.cell_seconds:.0f} s and was stopped.")
                    reasons += [f"{label}: {fault}." for fault in dict.fromkeys(client.tester_faults)]
                    _add(timing, kind, begin)
                    entry["ran"] = True
                    continue
                if test and not checked and not client.tester:
                    begin = time.monotonic()
                    before = guard.parse_reply(await _call_guard(client, guard.check_expression(nonce, "check")), nonce)
                    _add(timing, "guard_checks", begin)
                    if before is None:
                        entry["unverified"] = True
                    elif before:
                        flags += [f"before {label}: {item} (put back)" for item in before]
                begin = time.monotonic()
                await asyncio.wait_for(client.async_execute_cell(cell, index, store_history=True), remaining)
                _add(timing, kind, begin)
                checked = False
                entry["ran"] = True
                if client.space.full() and not any("disk space" in r for r in reasons):
                    reasons.append(f"{label} used up the notebook's {limits.disk_bytes // 2**20} MiB of disk "
                                   "space; what it wrote past that failed.")
                reply = replies.get(index, {})
                if reply.get("content", {}).get("status") == "error" and not any(o.output_type == "error" for o in cell.outputs):
                    content = reply["content"]
                    cell.outputs.append(nbformat.v4.new_output(
                        "error", ename=content.get("ename", "Error"), evalue=content.get("evalue", ""),
                        traceback=content.get("traceback", []) or ["(the kernel suppressed this traceback)"]))
                if id(cell) in client.timed_out:
                    reasons.append(f"{label} exceeded its time of {limits.cell_seconds:.0f} s and was stopped.")
                names = _names_defined(cell.source) if (test or trusted(cell)) else []
                if client.tester or not (test or names):
                    continue  # student cells: whatever they change is found before the next test
                begin = time.monotonic()
                touched = _names_touched(cell.source)
                answer = guard.reply_payload(
                    await _call_guard(client, guard.check_expression(nonce, "record", names, touched)), nonce)
                _add(timing, "guard_checks", begin)
                after = None if answer is None else [str(item) for item in answer.get("found", [])]
                checked = after is not None
                if answer is not None:
                    timing.setdefault("kernel_cpu", {}).update(total=answer["cpu"], checks=answer["check_cpu"])
                if after is None:
                    if test:
                        entry["unverified"] = True
                    else:
                        flags.append(f"after {label}: the grading guard was removed or does not answer")
                elif after:
                    if test:
                        entry["tampered"] = after
                    flags += [f"during {label}: {item} (put back)" for item in after]
            except DeadKernelError:
                stopped = f"the kernel died in {label} (a crash, os._exit, or too much memory)"
                break
            except TimeoutError:
                stopped = f"{label} did not stop after its time ran out; the sandbox was killed"
                break
            except Exception as error:  # the kernel's messages make no sense any more
                stopped = f"grading stopped in {label}: {type(error).__name__}: {str(error)[:200]}"
                break
        if client.tester and not stopped:
            total = _number(await _call_guard(client, "__import__('time').process_time()"))
            if total is not None:
                timing["kernel_cpu"]["total"] = total
        if spec_nb.get("mistakes") and not stopped:
            begin = time.monotonic()
            client.observed = await _observe(client, nb, spec_nb["mistakes"], deadline)
            _add(timing, "diagnosis", begin)
    return stopped


async def _run_in_tester(client, cell, spec_nb, seconds):
    """Run a test cell in the tester (remote.py), from the gradebook's source, and put what it
    gave into the cell's outputs as the kernel would have; "timeout" if it ran out of time."""
    graded = spec_nb["graded"].get(cell.metadata["nbgrader"]["grade_id"], {})
    count = client.tester_count = max(getattr(client, "tester_count", 0), max(
        (c.get("execution_count") or 0 for c in client.nb.cells), default=0)) + 1
    verdict = await remote.run_test(client, client.tester, graded.get("source", cell.source), count, seconds,
                                    spec_nb["given_functions"])
    if isinstance(verdict.get("cpu"), float):
        client.timing["tester_cpu"] = client.timing.get("tester_cpu", 0.0) + verdict["cpu"]
    cell.execution_count = count
    cell.outputs = []
    if verdict.get("printed"):
        cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=verdict["printed"]))
    if verdict.get("status") != "ok":
        cell.outputs.append(nbformat.v4.new_output(
            "error", ename=str(verdict.get("ename", "Error")), evalue=str(verdict.get("evalue", ""))[:2000],
            traceback=[str(line) for line in verdict.get("traceback", [])][-60:]))
    return "timeout" if verdict.get("ename") == "CellTimeoutError" else verdict.get("status")


async def _observe(client, nb, catalogue, deadline):
    """{function: call records} of the student's functions whose tasks failed, on the catalogue's
    probes (diagnosis.py), run in the kernel after the last cell; a function that hangs or
    whose answer makes no sense is left out (no diagnosis, no effect on the grade)."""
    failed = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
              if _is_test(c) and any(o.output_type == "error" for o in c.outputs)]
    names = sorted({f for task in failed for f in diagnosis.functions_of(catalogue, task)})
    observed = {}
    for name in names:
        remaining = min(PROBE_SECONDS, deadline - time.monotonic())
        if remaining <= 1:
            break
        calls = json.dumps(catalogue["functions"][name]["probes"])
        expression = f"(lambda d: (exec({PROBE_SOURCE!r}, d), d['run'](globals(), {name!r}, {calls!r}))[1])({{}})"
        try:
            reply = await _call_guard(client, expression, timeout=remaining)
            text = reply["content"]["user_expressions"]["guard"]["data"]["text/plain"]
            observed[name] = json.loads(ast.literal_eval(text))
        except Exception:  # a hang, a dead kernel, an answer that is no call record list
            continue
    return observed


def _diagnosis(spec_nb, task, verdict, observed):
    """What the mistake catalogue says about a failed test: the sentence for the feedback and
    the known mistakes found (for the class summary)."""
    catalogue = spec_nb.get("mistakes")
    if verdict != "failed" or not catalogue:
        return {}
    try:
        return {"diagnosis": diagnosis.diagnose(catalogue, task, observed),
                "mistakes": diagnosis.mistakes_found(catalogue, task, observed)}
    except Exception:  # the kernel's account of its functions makes no sense (forged): no sentence
        return {}


def _failure(cell):
    """(message, hidden, line) for a failed test cell: the exception line, whether it was raised
    inside the hidden part of the test, and the test's failing line when that line is visible
    (a bare ``assert`` says nothing else)."""
    error = next((o for o in cell.outputs if o.output_type == "error"), None)
    if error is None:
        return "", False, ""
    lines = cell.source.splitlines()
    visible = {number for number, _, hidden in marked(cell.source) if not hidden}
    hidden, line = False, ""
    for chunk in error.get("traceback", []):
        match = IPYTHON_FRAME.search(ANSI.sub("", chunk))
        if match and int(match.group(1) or match.group(2)) == cell.execution_count:
            number = int(match.group(3))
            hidden = number not in visible
            line = "" if hidden or number > len(lines) else lines[number - 1].strip()
    message = f"{error.ename}: {error.evalue}".strip().rstrip(":")
    return message[:500], hidden, line[:300]


def _score(cell, entry):
    """(score, max, reason) of a test cell, the nbgrader way (stderr does not fail it)."""
    from nbgrader.utils import get_partial_grade

    points = float(cell.metadata["nbgrader"]["points"])
    label = cell.metadata["nbgrader"]["grade_id"]
    if entry is None or not entry["ran"]:
        return 0.0, points, "not run"
    if entry["unverified"]:
        return 0.0, points, "the grading guard could not verify the kernel (it was removed or replaced)"
    if entry["tampered"]:
        return 0.0, points, "the code changed what the test relies on while it ran: " + "; ".join(entry["tampered"][:3])
    for output in cell.outputs:
        if output.output_type == "error":
            return 0.0, points, "failed"
        if output.output_type == "execute_result":
            return get_partial_grade(output, points, None), points, "partial credit"
    del label
    return points, points, "passed"


def _text(source):
    return source if isinstance(source, str) else "".join(source)


def _copy_files(files, folder):
    """The submission's other files and the sheet's data files into the working copy (never
    outside it)."""
    for name, content in files.items():
        target = folder / PurePosixPath(name)
        if ".." in PurePosixPath(name).parts or PurePosixPath(name).is_absolute():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def _hint(error):
    """What the teacher can do about a kernel that could not start, where we know."""
    if "File name too long" in str(error):
        return (f" (the kernel's sockets are files under {tempfile.gettempdir()}, and a socket's path must stay "
                "under 104 bytes: set TMPDIR to a shorter folder, such as /tmp)")
    return ""


def grade_submission(payload):
    """Grade one submission. payload: {"student", "sheet", "files": {path: bytes},
    "spec": sheet spec (spec.py), "limits": dict}. Never raises for a bad submission."""
    started, grader_cpu = time.monotonic(), time.process_time()
    student, spec = payload["student"], payload["spec"]
    limits = sandbox.Limits(**payload.get("limits", {}))
    files = payload["files"]
    result = {"student": student, "sheet": spec["sheet"], "notebooks": {}, "reasons": [], "flags": [],
              "status": "graded", "input_hash": input_hash(files, spec["hash"]), "worker": os.uname().nodename,
              "pid": os.getpid()}
    tempfolders.sweep()  # what killed graders left on this machine
    workroot = tempfolders.make("cg")
    try:
        for number, (nb_name, spec_nb) in enumerate(spec["notebooks"].items()):
            reasons = []
            prepared = time.monotonic()
            data = files.get(f"{nb_name}.ipynb")
            if data is None:
                others = [n for n in files if n.endswith(".ipynb") and "/" not in n
                          and n[:-6] not in spec["notebooks"]]
                if len(others) == 1:
                    data = files[others[0]]
                    reasons.append(f"the notebook was handed in as '{others[0]}'; it was graded as {nb_name}.ipynb.")
                else:
                    reasons.append(f"no {nb_name}.ipynb was handed in; the untouched sheet was run for feedback.")
            nb, student_cells = preflight.repair(data, nb_name, spec_nb, reasons)
            flags = [f"{label}, line {n}: {why}: {line}" for label, n, why, line in guard.scan(student_cells)]
            release_ids = {c.get("id") for c in spec_nb["release"]["cells"] if not c.get("metadata", {}).get("nbgrader")}
            trusted = lambda cell, ids=release_ids: cell.get("id") in ids  # noqa: E731
            started_nb = time.monotonic()
            try:
                with sandbox.workspace(workroot / str(number), limits) as space:  # short: socket paths
                    _copy_files({**spec.get("files", {}), **{n: b for n, b in files.items() if not n.endswith(".ipynb")}},
                                space.work)
                    sandbox.prepare(space)
                    info, run_reasons, run_flags, how, timing, observed = asyncio.run(
                        _execute(nb, space, spec_nb, limits, trusted))
            except Exception as error:
                info, run_reasons, run_flags, how, timing, observed = (
                    {}, [f"the kernel could not be started: {type(error).__name__}: {error}{_hint(error)}"], [],
                    "none", {}, {})
                result["status"] = "failed"
            reasons += run_reasons
            flags += run_flags
            cells = {}
            for index, cell in enumerate(nb.cells):
                if _is_test(cell):
                    score, maximum, verdict = _score(cell, info.get(index))
                    message, hidden, line = _failure(cell) if verdict == "failed" else ("", False, "")
                    gid = cell.metadata["nbgrader"]["grade_id"]
                    cells[gid] = {"score": score, "max": maximum, "verdict": verdict, "message": message,
                                  "hidden": hidden, "line": line, **_diagnosis(spec_nb, gid, verdict, observed)}
                    cell.metadata["coursegrade"] = cells[cell.metadata["nbgrader"]["grade_id"]]
            if any("exceeded its total time" in r or "did not stop" in r for r in run_reasons):
                result["status"] = "timeout" if result["status"] == "graded" else result["status"]
            if any("kernel died" in r for r in run_reasons):
                result["status"] = "crashed" if result["status"] == "graded" else result["status"]
            # what the Formgrader and the feedback show of the submission must not run there
            sanitize.notebook(nb, {_text(c.get("source", "")) for c in spec_nb["release"]["cells"]})
            nb.metadata["coursegrade"] = {"reasons": reasons, "flags": flags, "sandbox": how,
                                          "input_hash": result["input_hash"], "version": __version__}
            timing["preflight"] = started_nb - prepared
            result["notebooks"][nb_name] = {"notebook": nbformat.writes(nb), "cells": cells, "reasons": reasons,
                                            "flags": flags, "seconds": time.monotonic() - started_nb, "sandbox": how,
                                            "timing": timing}
            result["reasons"] += reasons
            result["flags"] += flags
    except Exception:
        result["status"] = "failed"
        result["reasons"].append("the grader failed on this submission: " + traceback.format_exc(limit=3)[-600:])
    finally:
        shutil.rmtree(workroot, ignore_errors=True)
    result["seconds"] = time.monotonic() - started
    result["grader_cpu"] = time.process_time() - grader_cpu
    return result
