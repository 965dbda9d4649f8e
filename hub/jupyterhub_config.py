"""The course hub: JupyterHub on 127.0.0.1 with one teacher and a few students (see README,
*A course hub*). Started by `make hub` (hub/start.py), which prepares the state folder first.

Settings from the environment (hub/start.py sets them):
  DLCOURSE_HUB_STATE     state folder: homes, the shared exchange, the hub's database (hub/state)
  DLCOURSE_HUB_PORT      the port on 127.0.0.1 (8000; the proxy's API uses the next one, the
                         hub itself the one after)
  DLCOURSE_HUB_PASSWORD  the shared password of every account (a try-out hub, never a real one)
  DLCOURSE_HUB_TEACHER, DLCOURSE_HUB_STUDENTS  the accounts (teacher; ada,bob,cy)
  DLCOURSE_HUB_SYSTEM_USERS  "1": every account is a system user of that name (the hub runs as
                         root and starts each server as its user, so that file permissions
                         separate them, as on a real server); else all run as the hub's user.
"""

import os
import sys
from pathlib import Path

HUB = Path(__file__).resolve().parent
PROJECT = HUB.parent
STATE = Path(os.environ.get("DLCOURSE_HUB_STATE", HUB / "state")).resolve()
TEACHER = os.environ.get("DLCOURSE_HUB_TEACHER", "teacher")
STUDENTS = os.environ.get("DLCOURSE_HUB_STUDENTS", "ada,bob,cy").split(",")
SYSTEM_USERS = os.environ.get("DLCOURSE_HUB_SYSTEM_USERS") == "1"
BIN = Path(sys.executable).parent  # the course environment: every user's server and kernel

c = get_config()  # noqa: F821  (JupyterHub provides get_config)

c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = int(os.environ.get("DLCOURSE_HUB_PORT", "8000"))
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = c.JupyterHub.port + 2
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{c.JupyterHub.port + 1}"
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.command = [str(HUB / "node_modules" / ".bin" / "configurable-http-proxy")]
c.ConfigurableHTTPProxy.pid_file = str(STATE / "proxy.pid")

# A try-out hub: every account has the same password (printed by make hub).
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = os.environ["DLCOURSE_HUB_PASSWORD"]
c.Authenticator.allowed_users = {TEACHER, *STUDENTS}


def home(spawner):
    return str(Path("~" + spawner.user.name).expanduser()) if SYSTEM_USERS else str(STATE / "homes" / spawner.user.name)


def environment(spawner):
    role = "teacher" if spawner.user.name == TEACHER else "student"
    return {
        "PATH": f"{BIN}{os.pathsep}/usr/local/bin:/usr/bin:/bin",
        "PYTHONPATH": str(PROJECT),  # the kernels import dlcourse (and the teacher coursegrade) from here
        "JUPYTER_CONFIG_PATH": str(HUB / role),  # nbgrader settings, lab extensions per role
        "DLCOURSE_EXCHANGE": str(STATE / "exchange"),
        "HOME": home(spawner),
        **{k: os.environ[k] for k in ("DLCOURSE_MIRROR", "DLCOURSE_DATA", "DLCOURSE_BUDGET") if k in os.environ},
        # all accounts as one system user: nbgrader's settings then use the hub login (hub/student/,
        # hub/teacher/course_nbgrader_config.py)
        **({} if SYSTEM_USERS else {"DLCOURSE_HUB_ONE_USER": "1"}),
    }


def before_spawn(spawner):
    spawner.environment = environment(spawner)
    spawner.notebook_dir = home(spawner)
    if not SYSTEM_USERS:
        spawner.home_dir = home(spawner)


if SYSTEM_USERS:
    from jupyterhub.spawner import LocalProcessSpawner

    sys.path.insert(0, str(HUB))
    import as_user

    class CourseSpawner(LocalProcessSpawner):
        """Starts each server as its system user, with the course's Python reachable (as_user.py)."""

        def make_preexec_fn(self, name):
            become = super().make_preexec_fn(name)

            def preexec():
                as_user.reveal_python(STATE / "python-shim")
                become()
            return preexec

    c.JupyterHub.spawner_class = CourseSpawner
else:
    c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
    c.SimpleLocalProcessSpawner.home_dir_template = str(STATE / "homes" / "{username}")
    if os.getuid() == 0:
        c.Spawner.args = ["--allow-root"]  # all servers run as the hub's user: root in a container
c.Spawner.pre_spawn_hook = before_spawn
c.Spawner.cmd = [str(BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.env_keep = []
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
