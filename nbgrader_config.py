"""nbgrader settings for this course (read by every `nbgrader ...` command run from here)."""

import os

c = get_config()  # noqa: F821  (nbgrader provides get_config)

here = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.root = here
c.CourseDirectory.course_id = "deep-learning-sheets"
# solutions/ holds the nbgrader source (reference solutions, hidden tests, mark schemes);
# notebooks/ is the student release that `nbgrader generate_assignment` writes.
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
# Everything that grading produces lives under autograde/.
c.CourseDirectory.submitted_directory = os.path.join("autograde", "submitted")
c.CourseDirectory.autograded_directory = os.path.join("autograde", "autograded")
c.CourseDirectory.feedback_directory = os.path.join("autograde", "feedback")
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(here, "autograde", "gradebook.db")

# The exchange: the folder through which `nbgrader release_assignment`, `fetch_assignment`,
# `submit`, `collect`, `release_feedback` and `fetch_feedback` pass notebooks. This one is
# course-local (enough for one machine; the Formgrader needs one to exist). On a JupyterHub
# point it to a folder that every student can write, e.g. /srv/nbgrader/exchange.
c.Exchange.root = os.path.join(here, "autograde", "exchange")
os.makedirs(c.Exchange.root, exist_ok=True)  # also creates autograde/, the gradebook's folder

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# A sheet must grade in seconds (experiments run on a small budget while grading);
# the timeout only stops a submission that loops forever.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
# nbgrader's kernel client now and then sleeps through a reply the kernel has sent and waits out
# the whole timeout (about one unfinished notebook in three with a slider view): this one does not.
c.AsyncKernelManager.client_factory = "coursegrade.kernel_client.WatchfulKernelClient"

# Submissions downloaded from a learning platform (Moodle, ILIAS, ...) instead of JupyterHub:
# put the files in autograde/downloaded/<sheet>/archive/ and run `nbgrader zip_collect <sheet>`.
# File names must look like "<student id>_<notebook file>", e.g.
# "s1234567_01_sigmoid_softmax_gradient_descent.ipynb"; adapt the pattern to your platform.
c.ZipCollectApp.downloaded_directory = os.path.join("autograde", "downloaded")
c.FileNameCollectorPlugin.named_regexp = r".*[/\\](?P<student_id>[^/\\_]+)_(?P<file_id>\d\d_[^/\\]+\.ipynb)$"

# Feedback never shows hidden tests or reference code (coursegrade.feedback; also for a plain
# `nbgrader generate_feedback`). Grade a class with `make grade SHEET=<sheet>` (see README).
c.GenerateFeedback.exporter_class = "coursegrade.feedback.FeedbackExporter"  # nbconvert's, faster
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    "coursegrade.feedback.HideHiddenTests",
]
