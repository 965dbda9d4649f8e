"""The sandbox a student's kernel runs in: bubblewrap plus resource limits.

Inside, the kernel sees read-only: the system's /usr, the Python installation and virtual
environment, the helper package ``dlcourse`` and the fonts; writable: only its own workspace
(the submission's copy, an empty HOME and IPython profile), which is a tmpfs of
``Limits.disk_bytes`` when the grader runs as root, and a private /tmp (writable only when the
grader is not root). No network (own network namespace), own
process namespace (every process it starts dies with it), no capabilities. When the grader
runs as root, the kernel runs as the unprivileged user ``nobody`` so that the process limit
applies. Limits (prlimit): address space, processes, file size, open files, no core dumps.
The wall time is enforced by the worker, which kills the whole sandbox.

Where bubblewrap is missing only the limits and the separate working folder remain: the
kernel can read (and, with the teacher's rights, write) every file the teacher can. The
worker flags every submission graded that way.
"""

import atexit
import contextlib
import functools
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from coursegrade import tempfolders

NOBODY = 65534


@dataclass
class Limits:
    cell_seconds: float = 60.0  # one cell (nbgrader's Execute.timeout); the cell is interrupted
    wall_seconds: float = 300.0  # the whole notebook, kernel start included; then the sandbox is killed
    memory_bytes: int = 6 * 2**30  # address space (torch alone maps about 3.4 GB)
    processes: int = 512  # threads count too
    file_bytes: int = 64 * 2**20
    open_files: int = 1024
    output_bytes_per_cell: int = 256 * 2**10
    output_bytes_total: int = 2 * 2**20
    disk_bytes: int = 512 * 2**20  # everything the kernel writes (working copy, HOME); root only

    def as_dict(self):
        return asdict(self)


@functools.cache
def bubblewrap():
    """The bwrap executable if it works here (user namespaces allowed), else None."""
    path = shutil.which("bwrap")
    if not path:
        return None
    try:
        probe = subprocess.run([path, *_namespaces(), "--ro-bind", "/", "/", "true"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return path if probe.returncode == 0 else None


def _namespaces():
    if os.geteuid() == 0:  # no user namespace: the kernel switches to nobody with setpriv instead
        return ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    return ["--unshare-all"]


def _user_threads():
    """Processes and threads of this user now (RLIMIT_NPROC counts all of them)."""
    uid, count = os.getuid(), 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                status = Path("/proc", entry, "status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            if int(fields.get("Uid", "-1").split()[0]) == uid:
                count += int(fields.get("Threads", "1"))
    return count


def readonly_paths():
    """What a notebook needs to run, read-only: Python, the environment, the helper package."""
    paths = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), _helper_package()}
    for path in ("/etc/fonts", "/usr/share/fonts"):
        if Path(path).exists():
            paths.add(Path(path))
    return sorted(paths)


def _ancestors(path):
    return [p for p in reversed(Path(path).parents) if str(p) != "/"]


@dataclass
class Workspace:
    """Everything the kernel may write, in one folder: the working copy (its current directory),
    an empty HOME, an empty IPython profile (a profile shipped in the submission would run
    before the guard), matplotlib's config and the kernel's sockets. (The sandbox's own /tmp
    is writable only where the grader is not root, and then nothing is capped.) The working
    copy is a sibling of HOME, so nothing in the submission is read as configuration."""

    root: Path
    limited: bool = False  # root is a tmpfs of Limits.disk_bytes

    @property
    def work(self):
        return self.root / "work"

    @property
    def home(self):
        return self.root / "home"

    @property
    def ipython(self):
        return self.root / "ipython"

    @property
    def matplotlib(self):
        return self.root / "matplotlib"

    def full(self):
        """Whether the kernel has used up its disk space (it then got 'No space left on device')."""
        if not self.limited:
            return False
        stat = os.statvfs(self.root)
        return stat.f_bavail * stat.f_frsize < 64 * 2**10


@contextlib.contextmanager
def workspace(root, limits):
    """A fresh workspace at root (which must not exist), removed afterwards. As root it is a
    tmpfs of limits.disk_bytes, so a kernel cannot fill the grader's disk or memory with files
    (RLIMIT_FSIZE bounds one file only); elsewhere (mount is not allowed) a plain folder."""
    space = Workspace(Path(root))
    space.root.mkdir()
    try:
        if os.geteuid() == 0:
            mount = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={limits.disk_bytes},mode=0755",
                                    "tmpfs", str(space.root)], capture_output=True)
            space.limited = mount.returncode == 0
        for folder in (space.work, space.home, space.ipython, space.matplotlib):
            folder.mkdir()
        yield space
    finally:
        if space.limited:
            subprocess.run(["umount", "--lazy", str(space.root)], capture_output=True)
        shutil.rmtree(space.root, ignore_errors=True)


def command(space, limits, env):
    """The prefix that runs a command in the sandbox; returns (prefix, how) where how is
    'bubblewrap' or 'none'."""
    return _prefix(limits, env, writable=space.root, chdir=space.work)


def tester_command(folder, limits, env):
    """The prefix for the tester (tester.py): the same sandbox, with its own folder writable
    (its socket, matplotlib's config) and the grader's package readable, nothing of the course."""
    return _prefix(limits, env, writable=Path(folder), chdir=Path(folder), readonly=[_grader_package()])


def _prefix(limits, env, writable, chdir, readonly=()):
    root = os.geteuid() == 0
    processes = limits.processes if root else _user_threads() + limits.processes
    prefix = [
        shutil.which("prlimit") or "prlimit",
        f"--as={limits.memory_bytes}",
        f"--fsize={limits.file_bytes}",
        f"--nofile={limits.open_files}",
        f"--nproc={processes}",
        "--core=0",
        "--",
    ]
    bwrap = bubblewrap()
    if not bwrap:
        return prefix, "none"
    args = [bwrap, *_namespaces(), "--die-with-parent", "--new-session", "--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    mounts = [(p, "--ro-bind") for p in [*readonly_paths(), *readonly] if not str(p).startswith("/usr/")]
    made = {"/", "/tmp", "/usr"}
    for path, how in [*mounts, (writable, "--bind")]:
        for parent in _ancestors(path):
            if str(parent) not in made:
                args += ["--perms", "0755", "--dir", str(parent)]
                made.add(str(parent))
        args += [how, str(path), str(path)]
        made.add(str(path))
    args += ["--chdir", str(chdir), "--clearenv"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    if root:
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--",
                 "setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                 "--inh-caps=-all", "--bounding-set=-all"]
    return prefix + args + ["--"], "bubblewrap"


def kernel_environment(space):
    """The environment variables of the sandboxed kernel (nothing else of the teacher's)."""
    env = {
        "HOME": str(space.home),
        "IPYTHONDIR": str(space.ipython),
        "USER": "student",
        "LOGNAME": "student",
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "NBGRADER_EXECUTION": "autograde",
        "MPLCONFIGDIR": str(space.matplotlib),
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        # The kernel imports the same helper package as the grader (an editable install or a
        # PYTHONPATH checkout would otherwise point it at another copy, or at none it can see).
        "PYTHONPATH": str(_helper_package().parent),
    }
    return env


def tester_environment(folder):
    """The tester's environment: the kernel's for a workspace at folder (matplotlib's config in
    folder/matplotlib), with the grader's package importable too."""
    env = kernel_environment(Workspace(Path(folder)))
    paths = dict.fromkeys([str(_helper_package().parent), str(_grader_package().parent)])
    env.update(HOME=str(folder), IPYTHONDIR=str(folder), MPLBACKEND="agg", PYTHONPATH=os.pathsep.join(paths))
    return env


def _helper_package():
    import dlcourse

    return Path(dlcourse.__file__).resolve().parent


def _grader_package():
    return Path(__file__).resolve().parent


def prepare(space):
    """Make the workspace usable by the sandbox's user; copy matplotlib's font cache so that
    every kernel does not rebuild it (a few seconds each)."""
    for font_list in _font_cache().glob("fontlist-*.json"):
        shutil.copy(font_list, space.matplotlib / font_list.name)
    if os.geteuid() == 0 and bubblewrap():
        for path in [space.root, *space.root.rglob("*")]:
            os.chown(path, NOBODY, NOBODY)


@functools.cache
def _font_cache():
    """A matplotlib font cache built once per worker process, outside the sandbox (removed when
    that process ends; not by the processes forked from it, which share it)."""
    folder = tempfolders.make("coursegrade-mpl")
    atexit.register(remove_in, os.getpid(), folder)
    subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"],
                   env=dict(os.environ, MPLCONFIGDIR=str(folder)), capture_output=True, timeout=120)
    return folder


def remove_in(pid, folder):
    """Remove folder if this is process pid (an atexit handler that forked children inherit)."""
    if os.getpid() == pid:
        shutil.rmtree(folder, ignore_errors=True)
