"""Grading at scale (issue 13): an interrupted run resumes without grading anything twice, and
a real Dask cluster (scheduler and two workers on 127.0.0.1) survives a killed worker."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import pytest
from grading_corpus import SHEET, honest, make_course, mounted_under
from nbtools import BIN, notebook

from coursegrade import coordinator, sandbox, tempfolders

STUDENTS = ("complete", "half", "untouched", "complete_again")
SWEEPS = os.path.exists("/proc/self/mounts")  # tempfolders.sweep needs /proc (Linux)


def course_with_submissions(folder):
    course = make_course(folder)
    release = nbformat.read(notebook(SHEET, "notebooks"), as_version=4)
    source = nbformat.read(notebook(SHEET), as_version=4)
    made = honest(release, source)
    made["complete_again"] = made["complete"]
    for student in STUDENTS:
        target = course / "autograde" / "submitted" / student / SHEET
        target.mkdir(parents=True)
        nbformat.write(made[student], target / f"{SHEET}.ipynb")
    return course


def log_lines(course):
    log = course / "autograde" / "coursegrade" / SHEET / "graded.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def scores(course):
    folder = course / "autograde" / "coursegrade" / SHEET
    return {s: {g: c["score"] for g, c in json.loads((folder / f"{s}.json").read_text())["cells"].items()} for s in STUDENTS}


def address_in(scheduler_file):
    """The address in the scheduler's file, or None: the file can exist, still empty, for a moment."""
    try:
        return json.loads(scheduler_file.read_text())["address"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return None


def wait_for(condition, seconds, what):
    """condition()'s first true value, asked every 0.2 s for at most seconds."""
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)
    return value


@pytest.fixture(scope="module")
def killed_tmp():
    """New temporary folders for graders these tests kill (SIGKILL), which cannot remove their
    own: all in one folder, swept and removed at the end, not left in the machine's /tmp. Not
    under pytest's folder: the kernels' sockets are files in there, and a socket's path must
    stay under 104 bytes."""
    root = Path(tempfile.mkdtemp(prefix="dlcourse-killed-"))
    yield lambda: Path(tempfile.mkdtemp(dir=root))
    for folder in root.iterdir() if SWEEPS else ():  # (elsewhere nothing is mounted)
        wait_for(lambda folder=folder: not tempfolders.sweep(folder) and not leftovers(folder), 30,
                 f"the killed graders' folders in {folder} to be removed")
    shutil.rmtree(root, ignore_errors=True)


def killable_environment(tmp):
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}", TMPDIR=str(tmp))
    env.pop("NBGRADER_EXECUTION", None)
    return env


@pytest.fixture(scope="module")
def sequential(tmp_path_factory, killed_tmp):
    """A one-worker run of `coursegrade`, killed (SIGKILL, whole process group) after its
    first result, then run again to the end."""
    course = course_with_submissions(tmp_path_factory.mktemp("interrupted"))
    command = [str(BIN / "coursegrade"), SHEET, "--course", str(course), "--workers", "1", "--no-progress"]
    tmp = killed_tmp()
    env = killable_environment(tmp)
    first = subprocess.Popen(command, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: log_lines(course) or first.poll() is not None, 600, "the first graded submission")
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    interrupted = len(log_lines(course))
    left = {"by the killed run": leftovers(tmp)}
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    left["after the rerun"] = leftovers(tmp)
    return course, interrupted, rerun.stdout, left


def leftovers(tmp):
    """The grader's folders in tmp, and what is mounted there."""
    return sorted(p.name for p in tmp.iterdir() if p.name.startswith(tempfolders.PREFIXES)) + mounted_under(tmp)


def test_an_interrupted_run_resumes_without_grading_twice(sequential):
    course, interrupted, output, _ = sequential
    assert 1 <= interrupted < len(STUDENTS), "the run was not interrupted midway"
    graded = [line["student"] for line in log_lines(course)]
    assert sorted(graded) == sorted(STUDENTS), f"graded: {graded}"
    assert f"skipped {interrupted}" in output
    again = coordinator.grade(course, SHEET, progress=False, log=lambda *a: None)
    assert again["graded"] == 0 and again["skipped"] == len(STUDENTS)


@pytest.mark.skipif(not SWEEPS, reason="sweeping needs /proc (Linux)")
def test_the_rerun_removes_what_the_killed_run_left(sequential):
    """The killed run could not remove its folders (a tmpfs mount for the submission it was
    grading, when root); the rerun's graders sweep them, and remove their own."""
    left = sequential[3]
    assert left["by the killed run"], "the killed run left nothing: this test checks nothing"
    assert left["after the rerun"] == [], f"left behind: {left['after the rerun']}"


def test_a_dask_cluster_survives_a_killed_worker(sequential, killed_tmp, tmp_path):
    (tmp_path / "course").mkdir()
    course = course_with_submissions(tmp_path / "course")
    tmp = tmp_path / "dask"
    tmp.mkdir()
    env = dict(killable_environment(killed_tmp()), DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="1")
    scheduler_file = tmp / "scheduler.json"
    processes = [subprocess.Popen(
        [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
         "--scheduler-file", str(scheduler_file)], env=env, cwd=tmp, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        address = wait_for(lambda: address_in(scheduler_file), 120, "the scheduler")
        for _ in range(2):
            processes.append(subprocess.Popen(
                [str(BIN / "dask"), "worker", address, "--nthreads", "1", "--host", "127.0.0.1",
                 "--no-dashboard"], env=env, cwd=tmp, start_new_session=True,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        from distributed import Client

        with Client(address) as client:
            client.wait_for_workers(2, timeout=120)
        outcome = {}
        run = threading.Thread(target=lambda: outcome.update(coordinator.grade(
            course, SHEET, scheduler=address, limits=sandbox.Limits(), progress=False, log=lambda *a: None)))
        run.start()
        wait_for(lambda: log_lines(course) or not run.is_alive(), 600, "the first result")
        os.killpg(processes[1].pid, signal.SIGKILL)  # one worker (and its nanny) dies mid-batch
        run.join(900)
        assert not run.is_alive()
    finally:
        for process in processes:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()
    graded = [line["student"] for line in log_lines(course)]
    assert sorted(graded) == sorted(STUDENTS), f"each submission exactly once, got {graded}"
    assert all(r["status"] == "graded" for r in outcome["results"].values()), [
        (r["status"], r["reasons"]) for r in outcome["results"].values()]
    sequential_course = sequential[0]
    assert scores(course) == scores(sequential_course)
