"""The coordinator: the only process that writes grading results.

``grade(course, sheet)`` finds the submissions in ``autograde/submitted/*/<sheet>/``, sends
each (its files and the sheet spec, nothing else) to ``worker.grade_submission`` through Dask
(a LocalCluster sized to this machine, or an existing cluster), and for each result that
comes back writes, in this order: the gradebook (nbgrader's Gradebook API, so formgrader and
``nbgrader export`` work as usual), the autograded notebook, the feedback HTML (nbgrader's
generate_feedback with the hidden-test filter) and finally a small record of what was graded.
That record makes runs resumable: a submission whose files and sheet are unchanged since its
record was written is not graded again; anything interrupted before its record is graded on
the next run. The gradebook is backed up before every run.
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
from nbgrader.utils import compute_checksum, determine_grade
from traitlets.config.loader import PyFileConfigLoader

from coursegrade import spec as sheet_spec
from coursegrade.sandbox import Limits
from coursegrade.worker import grade_submission, input_hash

MAX_SUBMISSION_BYTES = 50 * 2**20


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
        "cells": {gid: {k: c[k] for k in ("score", "max", "verdict")}
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


def grade(course_root, sheet, scheduler=None, workers=None, limits=None, force=False, progress=True,
          students=None, log=print):
    """Grade every collected submission of a sheet; returns {"graded", "skipped", "results"}."""
    from distributed import as_completed
    from distributed.client import FutureCancelledError

    course = Course(course_root)
    (course.state / sheet).mkdir(parents=True, exist_ok=True)
    backup = backup_gradebook(course)
    if backup:
        log(f"gradebook backed up to {backup.relative_to(course.root)}")
    sheet_spec.ensure_assignment(course.root, sheet, course.db_url)
    spec = sheet_spec.build(course.root, sheet, course.db_url, course.coursedir.release_directory)
    limits = (limits or Limits()).as_dict()
    pending, skipped = [], 0
    for student, folder in course.submissions(sheet):
        if students and student not in students:
            continue
        files = read_files(folder)
        if not force and already_graded(course, sheet, student, input_hash(files, spec["hash"])):
            skipped += 1
            continue
        pending.append((student, folder, files))
    log(f"{sheet}: {len(pending)} to grade, {skipped} already graded and unchanged")
    results = {}
    if not pending:
        return {"graded": 0, "skipped": skipped, "results": results}
    client, cluster = _client(scheduler, workers)
    bar = None
    try:
        futures = {}
        for student, folder, files in pending:
            payload = {"student": student, "spec": spec, "files": files, "limits": limits}
            key = f"coursegrade-{sheet}-{student}-{hashlib.sha256(repr(sorted(files)).encode()).hexdigest()[:8]}-{time.time_ns()}"
            futures[client.submit(grade_submission, payload, key=key, pure=False)] = (student, folder, files)
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(futures), unit="submission", desc=f"grading {sheet}", file=sys.stderr)
        for future in as_completed(futures):
            student, folder, files = futures[future]
            try:
                result = future.result()
            except FutureCancelledError:
                continue
            except Exception as error:  # KilledWorker after repeated worker deaths, or a lost scheduler
                reason = ("grading this submission stopped a grading worker twice "
                          if type(error).__name__ == "KilledWorker" else f"grading failed ({type(error).__name__}: {error}) ")
                result = failed_result(student, sheet, files, spec, reason + "; it was graded as failed.")
            store(course, sheet, student, folder, result)
            results[student] = result
            if bar:
                bar.update(1)
    finally:
        if bar:
            bar.close()
        client.close()
        if cluster:
            cluster.close()
    from coursegrade.summary import write_summary

    html = write_summary(course, sheet)
    log(f"class summary: {html.relative_to(course.root)}")
    return {"graded": len(results), "skipped": skipped, "results": results}
