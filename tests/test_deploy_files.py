"""The settings files the project ships for running the course on a real server (README, "On
a real server"): Zero to JupyterHub's values file holds what the course needs, The Littlest
JupyterHub's set-up script installs files that exist. Neither hub runs here; the local hub
(hub/jupyterhub_config.py) is run by tests/test_hub.py."""

import json
import subprocess
from types import SimpleNamespace

import pytest
from nbtools import ROOT
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

yaml = pytest.importorskip("yaml", reason="PyYAML is not installed (it comes with dask)")
VALUES = ROOT / "hub" / "z2jh-values.yaml"
COURSE_ID = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config().CourseDirectory.course_id


@pytest.fixture(scope="module")
def values():
    return yaml.safe_load(VALUES.read_text())


def nbgrader_settings(text):
    """What an nbgrader_config.py written into the values file sets."""
    config = Config()
    exec(compile(text, "nbgrader_config.py", "exec"), {"get_config": lambda: config})  # noqa: S102
    return config


def extra_file(values, role, name):
    files = values["singleuser"]["extraFiles"]
    found = [f for f in files.values() if f["mountPath"] == f"/etc/jupyter/course/{role}/{name}"]
    assert len(found) == 1, f"the values file should mount one {role} {name}"
    return found[0]


def test_every_server_mounts_the_exchange_where_nbgrader_looks(values):
    single = values["singleuser"]
    mounts = {m["name"]: m["mountPath"] for m in single["storage"]["extraVolumeMounts"]}
    claims = {v["name"]: v.get("persistentVolumeClaim", {}).get("claimName") for v in single["storage"]["extraVolumes"]}
    exchange = single["extraEnv"]["DLCOURSE_EXCHANGE"]
    assert exchange in mounts.values(), "the exchange must be a mounted volume"
    volume = next(name for name, path in mounts.items() if path == exchange)
    assert claims.get(volume), "the exchange must be a (ReadWriteMany) persistent volume claim, shared by all servers"
    for role in ("student", "teacher"):
        settings = nbgrader_settings(extra_file(values, role, "nbgrader_config.py")["stringData"])
        assert settings.Exchange.root == exchange, f"the {role}s' nbgrader looks for the exchange elsewhere"
        assert settings.CourseDirectory.course_id == COURSE_ID, f"the {role}s' course id differs from nbgrader_config.py"


def test_students_get_no_formgrader_and_the_teacher_finds_the_course(values):
    server = extra_file(values, "student", "jupyter_server_config.json")["data"]
    assert server["ServerApp"]["jpserver_extensions"]["nbgrader.server_extensions.formgrader"] is False
    lab = extra_file(values, "student", "labconfig/page_config.json")["data"]["disabledExtensions"]
    assert lab["@jupyter/nbgrader:formgrader"] and lab["@jupyter/nbgrader:create-assignment"]
    teacher = nbgrader_settings(extra_file(values, "teacher", "nbgrader_config.py")["stringData"])
    assert teacher.CourseDirectory.root.startswith("/home/jovyan/"), "the teacher's course should be in their home volume"


def test_each_user_gets_their_own_uid_and_role(values):
    """The hub's extra configuration, run against stand-ins for KubeSpawner: distinct uids
    (the exchange's permissions separate users only by uid), the role's settings folder."""
    config = Config()
    for code in values["hub"]["extraConfig"].values():
        exec(compile(code, "extraConfig", "exec"), {"c": config})  # noqa: S102
    spawner = config.KubeSpawner
    users = [SimpleNamespace(user=SimpleNamespace(id=i, name=name), environment={"KEEP": "1"})
             for i, name in enumerate(["teacher", "ada", "bob"], 1)]
    uids = {spawner.uid(user) for user in users}
    assert len(uids) == 3 and min(uids) >= 1001, "every user needs an own uid, none of the image's (1000)"
    for user in users:
        spawner.pre_spawn_hook(user)
        role = "teacher" if user.user.name in values["hub"]["config"]["Authenticator"]["admin_users"] else "student"
        assert user.environment["JUPYTER_CONFIG_PATH"] == f"/etc/jupyter/course/{role}"
        assert user.environment["KEEP"] == "1"
    assert values["singleuser"]["image"]["name"], "the values file must name the course's image"


def test_the_littlest_jupyterhub_setup_installs_files_that_exist(monkeypatch):
    script = ROOT / "hub" / "tljh" / "setup.sh"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0, "setup.sh has a syntax error"
    text = script.read_text()
    for name in ("hub/student/nbgrader_config.py", "hub/student/jupyter_server_config.json",
                 "hub/student/labconfig/page_config.json", "hub/teacher/nbgrader_config.py",
                 "hub/teacher/course_nbgrader_config.py", "requirements.txt", "nbgrader_config.py"):
        assert f'"$PROJECT/{name}"' in text, f"setup.sh does not install {name}"
        assert (ROOT / name).is_file(), name
    for name in ("jupyter_server_config.json", "labconfig/page_config.json"):
        json.loads((ROOT / "hub" / "student" / name).read_text())
    monkeypatch.delenv("DLCOURSE_EXCHANGE", raising=False)
    student = nbgrader_settings((ROOT / "hub" / "student" / "nbgrader_config.py").read_text())
    assert f"install -d -m 1777 {student.Exchange.root}" in text, "setup.sh must create the exchange students use"
    assert student.CourseDirectory.course_id == COURSE_ID
