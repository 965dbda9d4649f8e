"""The teacher's global nbgrader settings on the course hub (JUPYTER_CONFIG_PATH points here):
where the course is. nbgrader then reads the course's own nbgrader_config.py, which
hub/setup.py writes from hub/teacher/course_nbgrader_config.py."""

import os

c = get_config()  # noqa: F821  (nbgrader provides get_config)

c.CourseDirectory.root = os.path.expanduser("~/course")
c.CourseDirectory.course_id = "deep-learning-sheets"
c.Exchange.root = os.environ.get("DLCOURSE_EXCHANGE", "/srv/nbgrader/exchange")
