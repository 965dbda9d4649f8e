"""nbgrader settings of the course folder on the hub: the project's own (nbgrader_config.py,
copied beside this file as course_config.py: folders, gradebook, feedback filter), with the
hub's shared exchange instead of the course-local one."""

import os

c = get_config()  # noqa: F821  (nbgrader provides get_config)

load_subconfig("course_config.py")  # noqa: F821  (nbgrader provides load_subconfig)
c.Exchange.root = os.environ.get("DLCOURSE_EXCHANGE", "/srv/nbgrader/exchange")
# On the try-out hub every account runs as the same system user, so every submission is
# "owned" by it: nbgrader collect need not warn about that.
if os.environ.get("DLCOURSE_HUB_ONE_USER"):
    c.ExchangeCollect.check_owner = False
