#!/usr/bin/env bash
# The course on The Littlest JupyterHub (https://tljh.jupyter.org), one machine: run as root
# on the server after installing TLJH, from a clone of this project (see README, "On a real
# server"):
#     sudo bash hub/tljh/setup.sh [TEACHER]        # TEACHER: the teacher's hub login (teacher)
# Installs the course environment into TLJH's user environment, creates the shared exchange,
# writes every user's nbgrader settings (course id, exchange; no Formgrader for students) and
# sets up the teacher's course folder. Run it again after pulling a new version of the course.
set -euo pipefail
PROJECT="$(cd "$(dirname "$0")/../.." && pwd)"
TEACHER="${1:-teacher}"
TEACHER_USER="jupyter-$TEACHER"          # TLJH's system user for the hub login
USER_ENV=/opt/tljh/user                   # the Python environment every user's server runs in
ETC="$USER_ENV/etc/jupyter"

apt-get install -y bubblewrap             # coursegrade's sandbox
# The course's packages, except jupyterhub: the user environment keeps TLJH's own version.
grep -v '^jupyterhub==' "$PROJECT/requirements.txt" > /tmp/course-requirements.txt
"$USER_ENV/bin/pip" install -r /tmp/course-requirements.txt
"$USER_ENV/bin/pip" install --no-deps "$PROJECT"

install -d -m 1777 /srv/nbgrader/exchange
# Everybody: the course id and the exchange; students get no Formgrader or Create Assignment.
install -D -m 644 "$PROJECT/hub/student/nbgrader_config.py" "$ETC/nbgrader_config.py"
install -D -m 644 "$PROJECT/hub/student/jupyter_server_config.json" "$ETC/jupyter_server_config.json"
install -D -m 644 "$PROJECT/hub/student/labconfig/page_config.json" "$ETC/labconfig/page_config.json"

# The teacher: the Formgrader back in their own settings, the course in ~/course.
tljh-config add-item users.admin "$TEACHER"
tljh-config reload
id "$TEACHER_USER" >/dev/null 2>&1 || useradd -m -s /bin/bash "$TEACHER_USER"
HOME_DIR="$(getent passwd "$TEACHER_USER" | cut -d: -f6)"
install -d -m 700 -o "$TEACHER_USER" "$HOME_DIR/.jupyter" "$HOME_DIR/.jupyter/labconfig"
install -m 644 -o "$TEACHER_USER" "$PROJECT/hub/teacher/nbgrader_config.py" "$HOME_DIR/.jupyter/nbgrader_config.py"
echo '{"ServerApp": {"jpserver_extensions": {"nbgrader.server_extensions.formgrader": true}}}' \
  > "$HOME_DIR/.jupyter/jupyter_server_config.json"
echo '{"disabledExtensions": {"@jupyter/nbgrader:formgrader": false, "@jupyter/nbgrader:create-assignment": false}}' \
  > "$HOME_DIR/.jupyter/labconfig/page_config.json"
COURSE="$HOME_DIR/course"
mkdir -p "$COURSE/autograde"
cp -r "$PROJECT/solutions" "$PROJECT/notebooks" "$COURSE/"
cp "$PROJECT/nbgrader_config.py" "$COURSE/course_config.py"
cp "$PROJECT/hub/teacher/course_nbgrader_config.py" "$COURSE/nbgrader_config.py"
chown -R "$TEACHER_USER:" "$HOME_DIR/.jupyter" "$COURSE"
chmod 700 "$HOME_DIR"
echo "Done: the teacher ($TEACHER) finds the Formgrader under Nbgrader -> Formgrader; students fetch under Nbgrader -> Assignment List."
