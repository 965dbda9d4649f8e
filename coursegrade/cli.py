"""``coursegrade SHEET``: grade every collected submission of a sheet (see README)."""

import argparse
import os
import sys

from coursegrade.sandbox import Limits, bubblewrap


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="coursegrade",
        description="Grade everything in autograde/submitted/ for one sheet: sandboxed, in parallel "
                    "(Dask for large batches), resumable; writes nbgrader's gradebook, autograded notebooks, feedback "
                    "and a class summary under autograde/.")
    parser.add_argument("sheet", help="the sheet (assignment) name, e.g. 01_sigmoid_softmax_gradient_descent")
    parser.add_argument("--course", default=".", help="the course folder (with nbgrader_config.py); default: here")
    parser.add_argument("--scheduler", default=None,
                        help="address of a running Dask scheduler (default: $DASK_SCHEDULER_ADDRESS, "
                             "else a local cluster)")
    parser.add_argument("--workers", type=int, default=None, help="local workers (default: one per core)")
    parser.add_argument("--student", action="append", help="grade only this student (repeatable)")
    parser.add_argument("--force", action="store_true", help="grade again even what is graded and unchanged")
    parser.add_argument("--cell-timeout", type=float, default=Limits.cell_seconds, help="seconds per cell")
    parser.add_argument("--timeout", type=float, default=Limits.wall_seconds, help="seconds per notebook")
    parser.add_argument("--memory-gb", type=float, default=Limits.memory_bytes / 2**30, help="address space per kernel")
    parser.add_argument("--disk-mb", type=float, default=Limits.disk_bytes / 2**20,
                        help="bytes a notebook may write, in MiB (enforced when run as root)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    from coursegrade.coordinator import CourseError, grade

    if not bubblewrap():
        print("WARNING: bubblewrap (bwrap) is not available: student code will run WITHOUT a sandbox, "
              "with your rights (see README). Install it: apt-get install bubblewrap", file=sys.stderr)
    limits = Limits(cell_seconds=args.cell_timeout, wall_seconds=args.timeout,
                    memory_bytes=int(args.memory_gb * 2**30), disk_bytes=int(args.disk_mb * 2**20))
    try:
        outcome = grade(os.path.abspath(args.course), args.sheet, scheduler=args.scheduler, workers=args.workers,
                        limits=limits, force=args.force, progress=not args.no_progress, students=args.student)
    except CourseError as error:
        print(f"coursegrade: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: what was graded is kept; run the same command again to finish", file=sys.stderr)
        return 130
    results = outcome["results"].values()
    problems = [r for r in results if r["status"] != "graded"]
    flagged = [r for r in results if r["flags"]]
    print(f"graded {outcome['graded']}, skipped {outcome['skipped']} (unchanged), "
          f"{len(problems)} failed/timed out/crashed, {len(flagged)} flagged for review")
    return 0


if __name__ == "__main__":
    sys.exit(main())
