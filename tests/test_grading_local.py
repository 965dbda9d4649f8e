"""coursegrade's small-batch path: submissions graded in processes forked from the
coordinator (no Dask cluster), one process per submission, a crashed one tried once more."""

import os

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
