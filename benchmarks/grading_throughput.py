"""Benchmark: plain `nbgrader autograde` versus `coursegrade` on the same batch of sheet 01.

    .venv/bin/python benchmarks/grading_throughput.py [N] [--cluster]

N submissions (default 40: complete, half done, untouched, and every tenth one with a loop
that runs into the cell time limit) are graded sequentially by plain nbgrader and by
coursegrade (local Dask cluster, one worker per core) in fresh course folders; prints
submissions per minute for both and their ratio, and where coursegrade's time per
submission goes. With --cluster also through a scheduler and two workers started by hand
(`dask scheduler`, `dask worker ADDRESS`). A measurement, not a test: other load on the
machine inflates it.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import nbformat  # noqa: E402
from grading_corpus import SHEET, honest, make_course  # noqa: E402
from nbtools import BIN, notebook, run_nbgrader  # noqa: E402


def batch(folder, n):
    course = make_course(folder)
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
    start = time.perf_counter()
    subprocess.run(command, cwd=course, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main(n, cluster):
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    env.pop("NBGRADER_EXECUTION", None)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        plain_course, ours_course = batch(tmp / "plain", n), batch(tmp / "ours", n)
        # the same cell time limit for both (coursegrade's default is 60 s, nbgrader's here 120 s)
        plain = timed([str(BIN / "nbgrader"), "autograde", SHEET, "--Execute.timeout=60"], plain_course, env)
        ours = timed([str(BIN / "coursegrade"), SHEET, "--no-progress"], ours_course, env)
        records = [json.loads(p.read_text()) for p in (ours_course / "autograde" / "coursegrade" / SHEET).glob("*.json")]
        print(f"{n} submissions of {SHEET} on {os.cpu_count()} cores")
        print(f"plain nbgrader autograde : {plain:7.1f} s  {60 * n / plain:6.1f} submissions/min")
        print(f"coursegrade (local Dask) : {ours:7.1f} s  {60 * n / ours:6.1f} submissions/min  ratio {plain / ours:.2f}x")
        print(f"coursegrade per submission in its worker: mean {sum(r['seconds'] for r in records) / len(records):.1f} s "
              "(sandbox + kernel start + guard install with the sheet's imports + the notebook's cells)")
        print(f"projected 300 submissions: plain {300 * plain / n / 60:.0f} min, coursegrade {300 * ours / n / 60:.0f} min")
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
                taken = timed([str(BIN / "coursegrade"), SHEET, "--no-progress", "--scheduler", address], cluster_course, env)
                print(f"coursegrade (2 workers by hand): {taken:7.1f} s  {60 * n / taken:6.1f} submissions/min")
            finally:
                for proc in procs:
                    os.killpg(proc.pid, signal.SIGKILL)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(int(args[0]) if args else 40, "--cluster" in sys.argv)
