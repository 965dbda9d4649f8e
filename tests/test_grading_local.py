"""coursegrade's small-batch path: submissions graded in processes forked from the
coordinator (no Dask cluster), one process per submission, a crashed one tried once more."""

import os
import tempfile
from pathlib import Path

import pytest
from grading_corpus import mounted_under

from coursegrade import coordinator


def job(name):
    return {"student": name, "payload": {"student": name}}


def test_each_submission_gets_its_own_process_and_a_crash_is_retried_once(monkeypatch, tmp_path):
    def fake_grading(payload):
        (tmp_path / f"{payload['student']}-{os.getpid()}").touch()  # one file per attempt
        if payload["student"] == "crasher":
            os._exit(9)  # the grading process dies, as when a submission kills it
        return {"student": payload["student"], "pid": os.getpid()}

    monkeypatch.setattr(coordinator, "grade_submission", fake_grading)
    outcome = {j["student"]: (result, failure) for j, result, failure in
               coordinator._in_processes([job("ada"), job("crasher"), job("bob")], workers=2)}
    assert outcome["ada"][0]["student"] == "ada" and outcome["bob"][0]["student"] == "bob"
    assert outcome["ada"][0]["pid"] != outcome["bob"][0]["pid"] != os.getpid()
    assert outcome["crasher"] == (None, coordinator.KILLED)
    assert len(list(tmp_path.glob("crasher-*"))) == 2, "a crashed submission is tried exactly twice"


def test_the_font_cache_folder_is_removed_by_the_process_that_made_it(tmp_path):
    """Each grading process builds matplotlib's font cache once in a temporary folder (copied
    into every workspace); a process forked from it that ends must not remove it, the process
    that made it must (it used to stay in /tmp, one folder per `coursegrade` run)."""
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import os, sys\n"
        "from coursegrade import sandbox\n"
        "folder = sandbox._font_cache()\n"
        "assert any(folder.glob('fontlist-*.json')), 'no font cache built'\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    sys.exit(0)  # a forked child that ends the ordinary way, running atexit\n"
        "os.waitpid(pid, 0)\n"
        "print(folder, folder.is_dir())\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path,
                          env=dict(os.environ, PYTHONPATH=str(Path(coordinator.__file__).parents[1])))
    assert done.returncode == 0, done.stderr
    folder, alive_after_child = done.stdout.split()
    assert alive_after_child == "True", "a forked child removed the font cache of the process it came from"
    assert not Path(folder).exists(), f"{folder} was left behind"


KILLED_GRADER = """
import os, signal, sys
from coursegrade import sandbox, tempfolders
workroot = tempfolders.make("cg")
entered = sandbox.workspace(workroot / "sheet", sandbox.Limits())  # a tmpfs when root
space = entered.__enter__()
(space.work / "answer.txt").write_text("a submission's file")
print(workroot, space.limited, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # killed before it can unmount and remove anything
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="sweeping needs /proc (Linux)")
def test_the_next_grading_removes_what_a_killed_grader_left(tmp_path):
    """A grader killed mid-submission leaves its working copy, as root a tmpfs mount that holds
    the files in memory; grading sweeps the folders of processes that are gone, and only those."""
    import subprocess
    import sys

    from coursegrade import tempfolders

    killed = subprocess.run([sys.executable, "-c", KILLED_GRADER], capture_output=True, text=True,
                            env=dict(os.environ, TMPDIR=str(tmp_path)))
    assert killed.returncode == -9, killed.stderr
    workroot, limited = killed.stdout.split()
    assert (Path(workroot) / "sheet" / "work" / "answer.txt").exists()
    assert (limited == "True") == (os.geteuid() == 0), "as root the working copy is a tmpfs"
    assert bool(mounted_under(workroot)) == (limited == "True")
    live = Path(tempfile.mkdtemp(prefix=f"coursegrade-tester-{tempfolders._me()}-", dir=tmp_path))
    reused = Path(tempfile.mkdtemp(prefix=f"cg-{os.getpid()}.1-", dir=tmp_path))  # this pid, another start
    foreign = [Path(tempfile.mkdtemp(prefix=prefix, dir=tmp_path)) for prefix in ("cg-", "cg-1-", "other-1.1-")]

    removed = tempfolders.sweep(tmp_path)

    assert sorted(removed) == sorted([Path(workroot), reused])
    assert not Path(workroot).exists() and not mounted_under(workroot), "the killed grader's working copy stayed"
    assert live.is_dir(), "the folder of a process that still runs was removed"
    assert all(folder.is_dir() for folder in foreign), "a folder not named for a grader process was removed"
    assert tempfolders.sweep(tmp_path) == []


def test_a_kernel_whose_socket_path_is_too_long_tells_the_teacher_to_shorten_tmpdir():
    import errno

    import zmq

    from coursegrade import worker

    hint = worker._hint(zmq.ZMQError(errno.ENAMETOOLONG))  # what binding the kernel's socket raises
    assert "TMPDIR" in hint and "shorter" in hint, hint
    assert worker._hint(RuntimeError("the kernel died")) == ""
