"""Run a command as another system user with the course environment (needs root):

    python hub/as_user.py USER SHIM -- COMMAND [ARGS...]

The hub starts every server this way in system-user mode (the same steps, as its spawner's
preexec function), and the tests run the teacher's `coursegrade` and the students' own
processes with it. When the course's Python lies in a folder other users cannot enter (as with
a pyenv Python under /root), the process gets its own mount namespace in which that folder is
replaced by SHIM (a folder that shows only the way to Python), so that the user can run the
environment without seeing anything else there. Then it becomes the user (groups, uid,
HOME, working folder: the user's home) and runs the command.
"""

import ctypes
import os
import pwd
import sys
from pathlib import Path

CLONE_NEWNS, MS_BIND, MS_REC, MS_PRIVATE = 0x00020000, 4096, 16384, 1 << 18


def hidden_paths():
    """[(closed folder, the child on the way to Python)] for the interpreter and environment."""
    found = []
    for target in {Path(os.path.realpath(sys.executable)), Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}:
        for parent in reversed(target.parents):
            if parent != Path("/") and not os.stat(parent).st_mode & 0o001:
                child = target.relative_to(parent).parts[0]
                if (parent, child) not in found:
                    found.append((parent, child))
                break
    return found


def prepare_shim(shim):
    """As root, before any user process: SHIM/<child> for every closed folder (world-readable)."""
    for parent, child in hidden_paths():
        folder = Path(shim) / parent.relative_to("/") / child
        folder.mkdir(parents=True, exist_ok=True)
        for path in [folder, *folder.parents]:
            if path == Path(shim).parent:
                break
            path.chmod(0o755)


def reveal_python(shim):
    """In a new mount namespace (of this process and its children): every closed folder on the
    way to Python replaced by its shim, which shows only that way."""
    hidden = hidden_paths()
    if not hidden:
        return
    libc = ctypes.CDLL(None, use_errno=True)

    def check(result, what):
        if result != 0:
            raise OSError(ctypes.get_errno(), f"{what}: {os.strerror(ctypes.get_errno())}")

    check(libc.unshare(CLONE_NEWNS), "unshare")
    check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
    for parent, child in hidden:
        shown = Path(shim) / parent.relative_to("/")
        check(libc.mount(str(parent / child).encode(), str(shown / child).encode(), None, MS_BIND | MS_REC, None),
              f"bind {parent / child}")
        check(libc.mount(str(shown).encode(), str(parent).encode(), None, MS_BIND | MS_REC, None), f"bind {parent}")


def become(user):
    entry = pwd.getpwnam(user)
    os.setgid(entry.pw_gid)
    os.initgroups(user, entry.pw_gid)
    os.setuid(entry.pw_uid)
    os.environ.update(HOME=entry.pw_dir, USER=user, LOGNAME=user)
    os.chdir(entry.pw_dir)


def main(argv):
    user, shim, separator, *command = argv
    assert separator == "--" and command, __doc__
    prepare_shim(shim)
    reveal_python(shim)
    become(user)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
