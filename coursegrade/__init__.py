"""Safe, parallel autograding for the course (teacher tooling; students never need it).

    coursegrade 01_sigmoid_softmax_gradient_descent        # or: make grade SHEET=...

The pieces, in the order a submission meets them:

- ``spec``       the coordinator reads the sheet from nbgrader's gradebook (test cells with their
                 hidden tests, points, checksums) and from the release: a plain dict, the only
                 thing besides the submission's files that a worker receives.
- ``preflight``  repairs what a submission breaks (JSON, format, cell ids, deleted or edited test
                 cells), one plain-language reason per problem.
- ``sandbox``    runs the kernel under bubblewrap: no network, only its own working folder
                 writable, read-only environment, limits on memory, processes, file size and time.
- ``guard``      kernel-side checks before and after each test cell (patched comparison
                 functions, input transformers, exception hooks, replaced helpers) and a scan of
                 the student's code; what cannot be neutralised is flagged for the teacher.
- ``tester``     where a sheet asks for it, the test cells run here, in a sandboxed process of their
                 own, not in the kernel; ``remote`` carries their calls of the student's functions
                 to the kernel (``serve``, sent there as text) and back, as ``wire`` data.
- ``worker``     ``grade_submission(payload)``: one submission in, executed notebook, per-cell
                 scores, reasons and flags out. Self-contained, so it runs on a Dask worker.
- ``coordinator`` the only writer: gradebook (through nbgrader's Gradebook API, backed up before
                 every run), autograded notebooks, feedback, class summary; resumable.
- ``feedback``   an nbgrader preprocessor that keeps hidden tests and reference code out of the
                 feedback HTML (also used by plain ``nbgrader generate_feedback``).
"""

__version__ = "1"
