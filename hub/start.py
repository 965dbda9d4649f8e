"""`make hub`: prepare the course hub's state folder and start JupyterHub (see README).

    python hub/start.py [--prepare-only]

Prepares (once; later starts keep what is there): a home folder per account, the teacher's
course in ~teacher/course (the sheets' sources and release with this project's nbgrader
settings, pointed at the shared exchange), the shared exchange (writable by everybody, as
nbgrader needs), and the shared password. Then prints the address and the accounts and runs
JupyterHub with hub/jupyterhub_config.py until Ctrl-C.

DLCOURSE_HUB_STATE (default hub/state), DLCOURSE_HUB_PORT (8000), DLCOURSE_HUB_PASSWORD
(default: a random one, kept in the state folder), DLCOURSE_HUB_TEACHER and DLCOURSE_HUB_STUDENTS
(teacher; ada,bob,cy) and DLCOURSE_HUB_SYSTEM_USERS=1 (accounts are system users that must
exist; needs root) change the defaults.
"""

import os
import pwd
import secrets
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

HUB = Path(__file__).resolve().parent
PROJECT = HUB.parent
TEACHER = os.environ.get("DLCOURSE_HUB_TEACHER", "teacher")
STUDENTS = os.environ.get("DLCOURSE_HUB_STUDENTS", "ada,bob,cy").split(",")


def state_folder():
    return Path(os.environ.get("DLCOURSE_HUB_STATE", HUB / "state")).resolve()


def system_users():
    return os.environ.get("DLCOURSE_HUB_SYSTEM_USERS") == "1"


def home(state, user):
    return Path(pwd.getpwnam(user).pw_dir) if system_users() else state / "homes" / user


def give(path, user):
    """Make user the owner of path and everything below it (system users only)."""
    if not system_users():
        return
    entry = pwd.getpwnam(user)
    for folder, _, files in os.walk(path):
        for name in [folder, *(os.path.join(folder, f) for f in files)]:
            os.chown(name, entry.pw_uid, entry.pw_gid)


def prepare(state):
    state.mkdir(parents=True, exist_ok=True)
    state.chmod(0o755)
    if system_users():
        import as_user

        as_user.prepare_shim(state / "python-shim")
    exchange = state / "exchange"
    exchange.mkdir(exist_ok=True)
    exchange.chmod(0o1777)  # nbgrader: everybody writes there (sticky: nobody renames what is not theirs)
    for user in [TEACHER, *STUDENTS]:
        folder = home(state, user)
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o700)  # nobody reads another's home (separate with system users)
        give(folder, user)
    course = home(state, TEACHER) / "course"
    if not course.exists():
        course.mkdir()
        for part in ("solutions", "notebooks"):
            shutil.copytree(PROJECT / part, course / part)
        shutil.copy(PROJECT / "nbgrader_config.py", course / "course_config.py")
        shutil.copy(HUB / "teacher" / "course_nbgrader_config.py", course / "nbgrader_config.py")
        (course / "autograde").mkdir()
        give(course, TEACHER)
    password_file = state / "password"
    if "DLCOURSE_HUB_PASSWORD" in os.environ:
        password = os.environ["DLCOURSE_HUB_PASSWORD"]
    elif password_file.exists():
        password = password_file.read_text().strip()
    else:
        password = secrets.token_urlsafe(9)
        password_file.write_text(password + "\n")
        password_file.chmod(0o600)
    return password


def main(argv):
    state = state_folder()
    if system_users() and os.getuid() != 0:
        sys.exit("DLCOURSE_HUB_SYSTEM_USERS=1 needs root (the hub starts each server as its user)")
    proxy = HUB / "node_modules" / ".bin" / "configurable-http-proxy"
    if not proxy.exists():
        sys.exit(f"{proxy} is missing: run `make hub` (it runs `npm install` in hub/)")
    password = prepare(state)
    if "--prepare-only" in argv:
        return
    port = os.environ.get("DLCOURSE_HUB_PORT", "8000")
    print(f"\nThe course hub: http://127.0.0.1:{port}/\n"
          f"  teacher:  {TEACHER} (Formgrader: Nbgrader -> Formgrader; the course is in ~/course)\n"
          f"  students: {', '.join(STUDENTS)} (Nbgrader -> Assignment List)\n"
          f"  password of every account: {password}\n"
          f"  state (homes, exchange, hub database): {state}\n"
          "Stop it with Ctrl-C.\n", flush=True)
    env = dict(os.environ, DLCOURSE_HUB_STATE=str(state), DLCOURSE_HUB_PASSWORD=password, DLCOURSE_HUB_PORT=port,
               DLCOURSE_HUB_TEACHER=TEACHER, DLCOURSE_HUB_STUDENTS=",".join(STUDENTS),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    hub = Path(sys.executable).parent / "jupyterhub"
    os.chdir(state)
    os.execve(str(hub), [str(hub), "-f", str(HUB / "jupyterhub_config.py")], env)


if __name__ == "__main__":
    main(sys.argv[1:])
