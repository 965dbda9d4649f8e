"""The coordinator: the only process that writes grading results.

``grade(course, sheet)`` finds the submissions in ``autograde/submitted/*/<sheet>/``, sends
each (its files and the sheet spec, nothing else) to ``worker.grade_submission`` (through Dask:
a LocalCluster sized to this machine or an existing cluster; see below for small batches), and for each result that
comes back writes, in this order: the gradebook (nbgrader's Gradebook API, so formgrader and
``nbgrader export`` work as usual), the autograded notebook with the submission's other files
(timestamp, submission secret, images, data: what ``nbgrader release_feedback`` and the
feedback need), the feedback HTML (nbgrader's generate_feedback with the hidden-test filter)
and finally a small record of what was graded. That record makes runs resumable: a
submission whose files and sheet are unchanged since its record was written is not graded
again; anything interrupted before its record is graded on the next run. The gradebook is
backed up before every run.

A small batch (up to ``SMALL_BATCH`` per local worker) is graded without a Dask cluster: each
submission in its own process forked from this one (the same ``grade_submission`` and sandbox),
so that regrading one late submission does not wait for a cluster to start.
"""

import datetime
import hashlib
import json
import logging
import os
import sqlite3
import sys
import time
import warnings
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory
from nbgrader.utils import compute_checksum, determine_grade, find_all_files
from traitlets.config.loader import PyFileConfigLoader

from coursegrade import remote
from coursegrade import spec as sheet_spec
from coursegrade.sandbox import Limits
from coursegrade.worker import grade_submission, input_hash

MAX_SUBMISSION_BYTES = 50 * 2**20
SMALL_BATCH = 4  # submissions per local worker up to which no Dask cluster is started


class CourseError(Exception):
    """A problem with the course set-up that the teacher must fix first (one plain message)."""


class Course:
    """The course folder as nbgrader_config.py describes it."""

    def __init__(self, root):
        self.root = Path(root).resolve()
        self.config = PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config()
        self.coursedir = CourseDirectory(config=self.config)
        self.coursedir.root = str(self.root)
        self.db_url = self.coursedir.db_url
        self.state = self.root / "autograde" / "coursegrade"

    def folder(self, kind, student, sheet):
        return Path(self.coursedir.format_path(getattr(self.coursedir, f"{kind}_directory"), student, sheet))

    def submissions(self, sheet):
        base = Path(self.coursedir.format_path(self.coursedir.submitted_directory, ".", "."))
        found = []
        for student_dir in sorted(base.iterdir()) if base.exists() else []:
            folder = student_dir / sheet
            if student_dir.name.startswith(".") or not folder.is_dir() or folder.is_symlink():
                continue
            found.append((student_dir.name, folder))
        return found


def read_files(folder):
    """The submission's regular files as {relative path: bytes} (symbolic links are skipped)."""
    files, total = {}, 0
    for path in sorted(Path(folder).rglob("*")):
        if path.is_symlink() or not path.is_file() or path.name == "timestamp.txt":
            continue
        size = path.stat().st_size
        if total + size > MAX_SUBMISSION_BYTES:
            continue
        total += size
        files[path.relative_to(folder).as_posix()] = path.read_bytes()
    return files


def backup_gradebook(course):
    db = Path(course.db_url.removeprefix("sqlite:///"))
    if not db.exists():
        return None
    folder = db.parent / "backups"
    folder.mkdir(exist_ok=True)
    target = folder / f"gradebook-{datetime.datetime.now():%Y%m%d-%H%M%S-%f}.db"
    with sqlite3.connect(db) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    return target


def _atomic_write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".part")
    temporary.write_bytes(data if isinstance(data, bytes) else data.encode())
    os.replace(temporary, path)


def write_gradebook(course, sheet, student, result, submitted_folder):
    """Scores into nbgrader's gradebook, the way SaveAutoGrades does (with our test verdicts)."""
    timestamp = course.coursedir.get_existing_timestamp(str(submitted_folder))
    with warnings.catch_warnings(), Gradebook(course.db_url, course.coursedir.course_id) as gb:
        warnings.simplefilter("ignore")  # SQLAlchemy's notes on nbgrader's own session use
        gb.update_or_create_student(student)
        if timestamp:
            gb.update_or_create_submission(sheet, student, timestamp=timestamp)
        else:
            gb.update_or_create_submission(sheet, student)
        for nb_name, graded in result["notebooks"].items():
            nb = nbformat.reads(graded["notebook"], as_version=4)
            for cell in nb.cells:
                meta = cell.metadata.get("nbgrader", {})
                gid = meta.get("grade_id")
                if not gid:
                    continue
                if meta.get("grade"):
                    grade = gb.find_grade(gid, nb_name, sheet, student)
                    if gid in graded["cells"]:
                        grade.auto_score = graded["cells"][gid]["score"]
                    else:
                        grade.auto_score = determine_grade(cell)[0]
                    grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
                if meta.get("solution") or meta.get("task"):
                    comment = gb.find_comment(gid, nb_name, sheet, student)
                    unchanged = meta.get("checksum") == compute_checksum(cell) and not meta.get("task")
                    comment.auto_comment = "No response." if unchanged else None
            submitted_nb = gb.find_submission_notebook(nb_name, sheet, student)
            submitted_nb.flagged = bool(graded["flags"]) or submitted_nb.flagged
        if result["status"] != "graded" and not result["notebooks"]:
            for notebook in gb.find_assignment(sheet).notebooks:
                for grade in gb.find_submission_notebook(notebook.name, sheet, student).grades:
                    grade.auto_score, grade.needs_manual_grade = 0, False
        gb.db.commit()


def copy_other_files(course, sheet, student, submitted_folder):
    """The submission's files besides its notebooks (timestamp.txt and submission_secret.txt,
    which ``nbgrader release_feedback`` needs, images, data) into autograded/, then the
    sheet's own files from the source folder over them, as ``nbgrader autograde`` does;
    ``nbgrader generate_feedback`` copies them on into feedback/. Symbolic links are skipped
    (a link in a submission must not copy a teacher's file into feedback)."""
    target = course.folder("autograded", student, sheet)
    source = Path(course.coursedir.format_path(course.coursedir.source_directory, ".", sheet))
    ignore = list(course.coursedir.ignore) + ["*.ipynb"]
    for folder in (Path(submitted_folder), source):
        for name in find_all_files(str(folder), ignore) if folder.is_dir() else []:
            path = Path(name)  # os.walk does not enter linked folders
            if not path.is_symlink() and path.is_file() and path.stat().st_size <= MAX_SUBMISSION_BYTES:
                _atomic_write(target / path.relative_to(folder), path.read_bytes())


def write_feedback(course, sheet, student):
    """nbgrader's own generate_feedback for one student (its preprocessors, configured in
    nbgrader_config.py, remove hidden tests and reference code)."""
    from nbgrader.apps import NbGraderAPI

    api = NbGraderAPI(coursedir=course.coursedir, config=course.config)
    outcome = api.generate_feedback(sheet, student, force=True)
    if not outcome.get("success"):
        return outcome.get("error") or outcome.get("log") or "generate_feedback failed"
    return None


def failed_result(student, sheet, files, spec, reason):
    return {"student": student, "sheet": sheet, "notebooks": {}, "reasons": [reason], "flags": [],
            "status": "failed", "input_hash": input_hash(files, spec["hash"]), "seconds": 0.0}


def record(course, sheet, student, result, feedback_error, timing=None):
    """The last write for a submission: what was graded (the resume marker and summary input)."""
    summary = {
        "student": student, "status": result["status"], "input_hash": result["input_hash"],
        "reasons": result["reasons"], "flags": result["flags"], "seconds": round(result.get("seconds", 0), 2),
        "worker": result.get("worker"), "pid": result.get("pid"), "feedback_error": feedback_error,
        "cells": {gid: {k: c[k] for k in ("score", "max", "verdict", "mistakes") if k in c}
                  for graded in result["notebooks"].values() for gid, c in graded["cells"].items()},
        "graded_at": datetime.datetime.now().isoformat(timespec="seconds"),
        "timing": {"worker": {name: graded.get("timing", {}) for name, graded in result["notebooks"].items()},
                   "grader_cpu": round(result.get("grader_cpu", 0), 3), "coordinator": timing or {}},
    }
    _atomic_write(course.state / sheet / f"{student}.json", json.dumps(summary, indent=1))
    with open(course.state / sheet / "graded.log", "a") as log:
        log.write(json.dumps({"student": student, "input_hash": result["input_hash"], "status": result["status"],
                              "at": summary["graded_at"]}) + "\n")


def store(course, sheet, student, folder, result):
    """Everything the coordinator writes for one result (only here, never in a worker)."""
    timing, begin, cpu = {}, time.monotonic(), time.process_time()
    write_gradebook(course, sheet, student, result, folder)
    for nb_name, graded in result["notebooks"].items():
        _atomic_write(course.folder("autograded", student, sheet) / f"{nb_name}.ipynb", graded["notebook"])
    copy_other_files(course, sheet, student, folder)
    timing["gradebook"], timing["gradebook_cpu"] = time.monotonic() - begin, time.process_time() - cpu
    begin, cpu = time.monotonic(), time.process_time()
    feedback_error = write_feedback(course, sheet, student) if result["notebooks"] else "nothing to show"
    timing["feedback"], timing["feedback_cpu"] = time.monotonic() - begin, time.process_time() - cpu
    record(course, sheet, student, result, feedback_error, timing)


def already_graded(course, sheet, student, digest):
    marker = course.state / sheet / f"{student}.json"
    try:
        return json.loads(marker.read_text()).get("input_hash") == digest
    except (OSError, ValueError):
        return False


def check_sheet(course, sheet):
    """Stop with one message (CourseError) when the sheet has no source or no generated release."""
    source = Path(course.coursedir.format_path(course.coursedir.source_directory, ".", sheet))
    release = Path(course.coursedir.format_path(course.coursedir.release_directory, ".", sheet))
    notebooks = sorted(p.name for p in source.glob("*.ipynb")) if source.is_dir() else []
    if not notebooks and Path(course.db_url.removeprefix("sqlite:///")).exists():
        with warnings.catch_warnings(), Gradebook(course.db_url) as gb:  # a grader's copy without solutions/
            warnings.simplefilter("ignore")
            notebooks = [f"{n.name}.ipynb" for n in gb.find_assignment(sheet).notebooks] if any(
                a.name == sheet for a in gb.assignments) else []
    if not notebooks:
        known = sorted(p.parent.name for p in source.parent.glob("*/*.ipynb"))
        raise CourseError(f"there is no sheet '{sheet}' in {source.parent}" + (
            f" (sheets there: {', '.join(known)})" if known else ""))
    missing = [name for name in notebooks if not (release / name).is_file()]
    if missing:
        raise CourseError(
            f"the release of '{sheet}' was not generated ({release / missing[0]} is missing): "
            f"run `nbgrader generate_assignment {sheet}` (or `make release`) in {course.root}, "
            "then coursegrade again")


def _client(scheduler, workers):
    import dask
    from distributed import Client, LocalCluster

    # A submission whose grading kills two workers is given up (KilledWorker), not retried forever.
    dask.config.set({"distributed.scheduler.allowed-failures": 1})
    address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if address:
        return Client(address), None
    cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                           dashboard_address=":0", silence_logs=logging.ERROR)
    return Client(cluster), cluster


KILLED = "grading this submission stopped a grading worker twice "


def _on_dask(jobs, scheduler, workers):
    """Grade through Dask; yields (job, result or None, why it failed)."""
    from distributed import as_completed
    from distributed.client import FutureCancelledError

    client, cluster = _client(scheduler, workers)
    try:
        futures = {}
        for job in jobs:
            key = (f"coursegrade-{job['payload']['spec']['sheet']}-{job['student']}-"
                   f"{hashlib.sha256(repr(sorted(job['files'])).encode()).hexdigest()[:8]}-{time.time_ns()}")
            futures[client.submit(grade_submission, job["payload"], key=key, pure=False)] = job
        for future in as_completed(futures):
            try:
                yield futures[future], future.result(), None
            except FutureCancelledError:
                continue
            except Exception as error:  # KilledWorker after repeated worker deaths, or a lost scheduler
                yield futures[future], None, (KILLED if type(error).__name__ == "KilledWorker"
                                              else f"grading failed ({type(error).__name__}: {error}) ")
    finally:
        client.close()
        if cluster:
            cluster.close()


def _child(payload, writer):
    try:
        writer.send(grade_submission(payload))
    finally:
        writer.close()


def _in_processes(jobs, workers):
    """Grade without a cluster: each submission in a process forked from this one, at most
    ``workers`` at a time; one whose process dies is tried once more, then given up."""
    import multiprocessing
    from multiprocessing.connection import wait

    context = multiprocessing.get_context("fork")
    queue, running = [(job, 0) for job in jobs], {}
    try:
        while queue or running:
            while queue and len(running) < workers:
                job, tries = queue.pop(0)
                reader, writer = context.Pipe(duplex=False)
                process = context.Process(target=_child, args=(job["payload"], writer), daemon=True)
                process.start()
                writer.close()
                running[reader] = (process, job, tries)
            for reader in wait(list(running)):
                process, job, tries = running.pop(reader)
                try:
                    result = reader.recv()
                except (EOFError, OSError):
                    result = None
                reader.close()
                process.join()
                if result is not None:
                    yield job, result, None
                elif tries == 0:
                    queue.append((job, 1))
                else:
                    yield job, None, KILLED
    finally:
        for process, _, _ in running.values():
            process.kill()
            process.join()


def grade(course_root, sheet, scheduler=None, workers=None, limits=None, force=False, progress=True,
          students=None, log=print):
    """Grade every collected submission of a sheet; returns {"graded", "skipped", "results"}."""
    course = Course(course_root)
    check_sheet(course, sheet)
    (course.state / sheet).mkdir(parents=True, exist_ok=True)
    backup = backup_gradebook(course)
    if backup:
        log(f"gradebook backed up to {backup.relative_to(course.root)}")
    sheet_spec.ensure_assignment(course.root, sheet, course.db_url, course.config)
    try:
        spec = sheet_spec.build(course.root, sheet, course.db_url, course.coursedir.release_directory)
    except FileNotFoundError as error:
        raise CourseError(f"the release of '{sheet}' does not match the gradebook ({error.filename} is missing): "
                          f"run `nbgrader generate_assignment {sheet} --force`, then coursegrade again") from None
    limits = (limits or Limits()).as_dict()
    pending, skipped = [], 0
    for student, folder in course.submissions(sheet):
        if students and student not in students:
            continue
        files = read_files(folder)
        if not force and already_graded(course, sheet, student, input_hash(files, spec["hash"])):
            skipped += 1
            continue
        pending.append({"student": student, "folder": folder, "files": files,
                        "payload": {"student": student, "spec": spec, "files": files, "limits": limits}})
    log(f"{sheet}: {len(pending)} to grade, {skipped} already graded and unchanged")
    results = {}
    if not pending:
        return {"graded": 0, "skipped": skipped, "results": results}
    local = workers or os.cpu_count() or 1
    if scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or len(pending) > SMALL_BATCH * local:
        runs = _on_dask(pending, scheduler, workers)
    else:
        if any(remote.enabled(nb) for nb in spec["notebooks"].values()):
            remote.tester_socket(Limits(**limits))  # started once here, shared by the forked workers
        runs = _in_processes(pending, min(local, len(pending)))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(pending), unit="submission", desc=f"grading {sheet}", file=sys.stderr)
    try:
        for job, result, failure in runs:
            student = job["student"]
            if result is None:
                result = failed_result(student, sheet, job["files"], spec, failure + "; it was graded as failed.")
            store(course, sheet, student, job["folder"], result)
            results[student] = result
            if bar:
                bar.update(1)
    finally:
        runs.close()
        if bar:
            bar.close()
    from coursegrade.summary import write_summary

    html = write_summary(course, sheet)
    log(f"class summary: {html.relative_to(course.root)}")
    return {"graded": len(results), "skipped": skipped, "results": results}
