"""Benchmark: plain `nbgrader autograde` versus `coursegrade` on the same batch of one sheet.

    .venv/bin/python benchmarks/grading_throughput.py [N] [--cluster] [--cell-timeout S] [--sheet SHEET] [--in-kernel]

N submissions (default 40: complete, half done, untouched, and every tenth one with a loop
that runs into the cell time limit) are graded sequentially by plain nbgrader and by
coursegrade (local Dask cluster, one worker per core) in fresh course folders; prints
submissions per minute for both and their ratio (coursegrade also writes the feedback, so the
plain way is timed with and without `nbgrader generate_feedback`), and where coursegrade's time per
submission goes. With --in-kernel coursegrade runs the tests in the student's kernel (the sheet's
opt-in to the tester removed from the course's copy), to compare the two ways. With --cluster also through a scheduler and two workers started by hand
(`dask scheduler`, `dask worker ADDRESS`). A measurement, not a test: other load on the
machine inflates it.
"""

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import nbformat  # noqa: E402
from grading_corpus import SHEET, honest, make_course  # noqa: E402
from nbtools import BIN, notebook, run_nbgrader  # noqa: E402


def batch(folder, n, in_kernel=False):
    folder.mkdir(parents=True)
    course = make_course(folder, SHEET)
    if in_kernel:
        path = course / "solutions" / SHEET / f"{SHEET}.ipynb"
        nb = nbformat.read(path, as_version=4)
        nb.metadata.pop("coursegrade", None)
        nbformat.write(nb, path)
    release = nbformat.read(notebook(SHEET, "notebooks"), as_version=4)
    source = nbformat.read(notebook(SHEET), as_version=4)
    kinds = honest(release, source)
    looping = nbformat.from_dict(json.loads(nbformat.writes(kinds["half"])))
    looping.cells.insert(3, nbformat.v4.new_code_cell("while True:\n    pass"))
    for i in range(n):
        nb = looping if i % 10 == 9 else list(kinds.values())[i % 3]
        target = course / "autograde" / "submitted" / f"s{i:03d}" / SHEET
        target.mkdir(parents=True)
        nbformat.write(nb, target / f"{SHEET}.ipynb")
    run_nbgrader("generate_assignment", SHEET, "--force", cwd=course)
    return course


def timed(command, course, env=None):
    """(wall seconds, CPU seconds of the command and every process it waited for)."""
    start, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, cwd=course, env=env, check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter() - start, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else float("nan")


def breakdown(course, skip_looping=True):
    """Where coursegrade's time per submission went, from the records it writes (mean over the
    submissions that did not run into the cell time limit): wall seconds seen by the worker,
    CPU seconds measured inside the kernel, in the worker and in the coordinator."""
    records = [json.loads(p.read_text()) for p in (course / "autograde" / "coursegrade" / SHEET).glob("*.json")]
    records = [r for r in records if not (skip_looping and any("exceeded its time" in x for x in r["reasons"]))]
    worker = [t for r in records for t in r["timing"]["worker"].values()]
    kernel = [t.get("kernel_cpu", {}) for t in worker]
    coordinator = [r["timing"]["coordinator"] for r in records]
    wall = {key: mean(t.get(key) for t in worker) for key in
            ("preflight", "kernel_start", "guard_install", "given_cells", "student_cells", "test_cells",
             "guard_checks", "shutdown")}
    cells_cpu = mean(k["total"] - k["installed_at"] - k["checks"] for k in kernel if "total" in k)
    rows = [
        ("sandbox + Python + kernel start", wall["kernel_start"], mean(k.get("start_cpu") for k in kernel)),
        ("imports of the sheet and its tests", wall["guard_install"], mean(k.get("import_cpu") for k in kernel)),
        ("guard snapshot (its wall time is in the line above)", None, mean(k.get("snapshot_cpu") for k in kernel)),
        ("the notebook's cells (given, student, tests)",
         wall["given_cells"] + wall["student_cells"] + wall["test_cells"], cells_cpu),
        ("  of which test cells", wall["test_cells"], None),
        ("tester: the test cells where they run outside the kernel", None,
         mean(t.get("tester_cpu") for t in worker) if any("tester_cpu" in t for t in worker) else None),
        ("guard checks around cells", wall["guard_checks"], mean(k.get("checks") for k in kernel if "checks" in k)),
        ("kernel shutdown", wall["shutdown"], None),
        ("grader process (preflight, nbclient, Dask)", wall["preflight"], mean(r["timing"].get("grader_cpu") for r in records)),
        ("coordinator: gradebook + autograded notebook", mean(c.get("gradebook") for c in coordinator),
         mean(c.get("gradebook_cpu") for c in coordinator)),
        ("coordinator: feedback HTML (nbgrader generate_feedback)", mean(c.get("feedback") for c in coordinator),
         mean(c.get("feedback_cpu") for c in coordinator)),
    ]
    rows.append(("total (CPU: kernel, grader and coordinator)", None,
                 sum(cpu for label, _, cpu in rows if cpu is not None and cpu == cpu and not label.startswith("  "))))
    print(f"where coursegrade's time per submission goes (mean of {len(records)} submissions without a looping cell):")
    print(f"  {'':56s} {'wall s':>7s} {'CPU s':>7s}")
    for label, seconds, cpu in rows:
        wall_text = f"{seconds:7.2f}" if seconds is not None else " " * 7
        cpu_text = f"{cpu:7.2f}" if cpu is not None else " " * 7
        print(f"  {label:56s} {wall_text} {cpu_text}")
    by_module = [k.get("import_cpu_by_module") or {} for k in kernel]
    modules = sorted({m for b in by_module for m in b}, key=lambda m: -mean(b.get(m) for b in by_module))
    print("  imports, CPU s per module (with what each pulls in first): " + ", ".join(
        f"{m} {mean(b.get(m) for b in by_module):.2f}" for m in modules if mean(b.get(m) for b in by_module) >= 0.01))
    return rows


def load():
    return "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def main(n, cluster, cell_timeout, in_kernel=False):
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    env.pop("NBGRADER_EXECUTION", None)
    print(f"{n} submissions of {SHEET} on {os.cpu_count()} cores, cell time limit {cell_timeout:g} s; at start: {load()}",
          flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        plain_course, ours_course = batch(tmp / "plain", n), batch(tmp / "ours", n, in_kernel)
        # the same cell time limit for both (coursegrade's default is 60 s, nbgrader's here 120 s)
        plain, plain_cpu = timed([str(BIN / "nbgrader"), "autograde", SHEET, f"--Execute.timeout={cell_timeout:g}"],
                                 plain_course, env)
        print(f"plain nbgrader autograde : {plain:7.1f} s  {60 * n / plain:6.1f} submissions/min  "
              f"CPU {plain_cpu / n:5.1f} s per submission, looping cells included ({load()})", flush=True)
        # coursegrade also writes every student's feedback: the plain way needs a second command
        feedback, _ = timed([str(BIN / "nbgrader"), "generate_feedback", SHEET], plain_course, env)
        print(f"  + nbgrader generate_feedback: {feedback:5.1f} s, together {60 * n / (plain + feedback):6.1f} "
              "submissions/min", flush=True)
        # (its CPU is read from its records below: kernels in the sandbox are not waited for by
        # this process tree, so the operating system's count for the command misses them)
        ours, _ = timed([str(BIN / "coursegrade"), SHEET, "--no-progress", f"--cell-timeout={cell_timeout:g}"],
                        ours_course, env)
        print(f"coursegrade (no scheduler): {ours:7.1f} s  {60 * n / ours:6.1f} submissions/min  "
              f"ratio {plain / ours:.2f}x to plain autograde, {(plain + feedback) / ours:.2f}x to autograde + "
              f"feedback ({load()})", flush=True)
        print(f"projected 300 submissions: plain {300 * plain / n / 60:.0f} min (with feedback "
              f"{300 * (plain + feedback) / n / 60:.0f} min), coursegrade {300 * ours / n / 60:.0f} min")
        breakdown(ours_course)
        if cluster:
            cluster_course = batch(tmp / "cluster", n)
            scheduler_file = tmp / "scheduler.json"
            procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
                                       "--no-dashboard", "--scheduler-file", str(scheduler_file)],
                                      env=env, start_new_session=True, stderr=subprocess.DEVNULL)]
            try:
                while not scheduler_file.exists():
                    time.sleep(0.2)
                address = json.loads(scheduler_file.read_text())["address"]
                for _ in range(2):
                    procs.append(subprocess.Popen([str(BIN / "dask"), "worker", address, "--nthreads", "1",
                                                   "--no-dashboard"], env=env, start_new_session=True,
                                                  stderr=subprocess.DEVNULL))
                from distributed import Client

                with Client(address) as client:
                    client.wait_for_workers(2, timeout=300)
                taken, _ = timed([str(BIN / "coursegrade"), SHEET, "--no-progress", "--scheduler", address,
                                  f"--cell-timeout={cell_timeout:g}"], cluster_course, env)
                per_worker = Counter(f"{r.get('worker')}:{r.get('pid')}" for r in (
                    json.loads(p.read_text()) for p in (cluster_course / "autograde" / "coursegrade" / SHEET).glob("*.json")))
                print(f"coursegrade (scheduler + 2 workers started by hand): {taken:7.1f} s  {60 * n / taken:6.1f} "
                      f"submissions/min, ratio to plain {plain / taken:.2f}x ({load()}); "
                      f"submissions per worker: {sorted(per_worker.values())}", flush=True)
            finally:
                for proc in procs:
                    os.killpg(proc.pid, signal.SIGKILL)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", nargs="?", type=int, default=40, help="submissions (default 40)")
    parser.add_argument("--cluster", action="store_true", help="also through a scheduler and two workers started by hand")
    parser.add_argument("--cell-timeout", type=float, default=60, help="cell time limit for both (default 60 s)")
    parser.add_argument("--sheet", default=SHEET, help=f"the sheet (default {SHEET})")
    parser.add_argument("--in-kernel", action="store_true", help="coursegrade with the tests in the student's kernel")
    args = parser.parse_args()
    SHEET = args.sheet
    main(args.n, args.cluster, args.cell_timeout, args.in_kernel)
