"""The grader's temporary folders: a submission's working copy, the tester's folder and the
font cache. Each process removes its own when it ends. A process that is killed cannot (a
SIGKILL, the out-of-memory killer, a Dask worker killed mid-batch), and a working copy is a
tmpfs mount when the grader is root, which would hold the submission's files in memory until
the machine restarts. So each folder's name says which process made it (its pid and start
time), and every grading first removes, and unmounts, the folders of processes that are gone.
On systems without /proc (macOS) nothing is swept; nothing is mounted there either. Graders
that share a temporary folder must see each other's processes (not containers with their own
process namespaces sharing one /tmp): a process this one cannot see counts as gone."""

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

PREFIXES = ("cg", "coursegrade-tester", "coursegrade-mpl")
_NAME = re.compile(rf"^({'|'.join(map(re.escape, PREFIXES))})-(\d+)\.(\d+)-")


def make(prefix):
    """A new folder (mode 0700) in the temporary directory, named for this process."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown prefix {prefix!r} (one of {PREFIXES}): sweep() would not find it")
    return Path(tempfile.mkdtemp(prefix=f"{prefix}-{_me()}-"))


def _me():
    return f"{os.getpid()}.{_started(os.getpid()) or 0}"


def _started(pid):
    """When process pid started (clock ticks after boot, /proc/PID/stat field 22), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat[stat.rindex(")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def sweep(folder=None):
    """Remove the folders in folder (the temporary directory) made by processes that no longer
    run, unmounting what is mounted in them first; returns the folders removed. Never raises:
    a folder it cannot remove stays for a later sweep."""
    if not Path("/proc/self/stat").exists():
        return []
    removed = []
    try:
        entries = list(Path(folder or tempfile.gettempdir()).iterdir())
    except OSError:
        return []
    for path in entries:
        owner = _NAME.match(path.name)
        if owner is None or _started(int(owner[2])) == int(owner[3]):
            continue  # not ours, or its process still runs (the same pid started at the same time)
        for mount in _mounts_under(path):
            try:
                subprocess.run(["umount", "--lazy", mount], capture_output=True, timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                pass  # the folder stays, busy, for a later sweep
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            removed.append(path)
    return removed


def _mounts_under(path):
    """The mount points at or below path (a lazy unmount also detaches those mounted inside)."""
    prefix = str(path) + "/"
    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return []
    # /proc/self/mounts writes a space, tab, newline or backslash in a path as an octal escape
    points = [re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), line.split()[1]) for line in lines]
    return [p for p in points if (p + "/").startswith(prefix)]
