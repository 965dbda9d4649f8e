"""Every student's global nbgrader settings on the course hub (JUPYTER_CONFIG_PATH points
here): the course id and the shared exchange, for the Assignments panel and `nbgrader fetch_assignment`,
`submit` and `fetch_feedback` in a terminal."""

import os

c = get_config()  # noqa: F821  (nbgrader provides get_config)

c.CourseDirectory.course_id = "deep-learning-sheets"
# Validate waits out no timeout on a reply the kernel has sent (coursegrade/kernel_client.py).
c.AsyncKernelManager.client_factory = "coursegrade.kernel_client.WatchfulKernelClient"
c.Exchange.root = os.environ.get("DLCOURSE_EXCHANGE", "/srv/nbgrader/exchange")
# On the try-out hub every account runs as the same system user: the student's id is then
# the hub login (nbgrader would take the system user's name).
if os.environ.get("DLCOURSE_HUB_ONE_USER"):
    c.CourseDirectory.student_id = os.environ["JUPYTERHUB_USER"]
