# The course in two commands:
#   make lab    set up everything (first time only) and open the sheets in JupyterLab
#   make test   set up everything (first time only) and run the whole test suite
#
# Teacher's shortcuts (see README): make release, make validate, make benchmark,
#   make grade SHEET=<sheet>   grade everything collected for a sheet (sandboxed, in parallel).

# The Python that makes .venv: the system's own Python 3.11 where it has one with venv
# (/usr/bin/python3.11 on Debian 12; distributions build it with profile-guided and link-time
# optimisation), else the first python3.11 on PATH with venv, else python3.11 or python3;
# `make PYTHON=...` names another.
# pyenv builds Python without those optimisations unless told to
# (PYTHON_CONFIGURE_OPTS="--enable-optimizations --with-lto"): on the course machine the same
# work took 10-17 % less CPU time with Debian's build than with pyenv's default one (importing
# torch, a kernel's imports, `nbgrader validate`, a mutation list; BLAS-bound work alike).
# Where no python3.11 has venv, the first python3.11 found makes venv say which package is missing.
PYTHON ?= $(shell for p in /usr/bin/python3.11 python3.11; do \
	"$$p" -c "import ensurepip" 2>/dev/null && command -v "$$p" && exit; done; command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# nbgrader calls helper programs (alembic) by name, so the environment's bin/ goes first.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: lab test release validate benchmark grade handout clean

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip install --no-deps -e .
	# jsonschema's optional IRI checker (rfc3987-syntax, which jupyter-events pulls in) builds a
	# parser when it is imported: 0.9 s more for every process that reads a notebook (each nbgrader
	# command, grading worker and Jupyter server). Nothing here checks IRIs; jsonschema works without it.
	$(BIN)/python -m pip uninstall -y rfc3987-syntax
	touch $@

# Jupyter refuses to run as root (as in many containers) unless told that it is meant.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(VENV)/.installed
	$(BIN)/jupyter lab --ServerApp.root_dir=notebooks $(ALLOW_ROOT)

# Test files run in parallel, one worker per core (pytest-xdist; a file's tests stay together on
# one worker, so each notebook runs once per file); the 15 slowest tests are listed at the end.
# The workers already use every core, so each computes on one thread (no oversubscribed, spinning
# BLAS or OpenMP threads). A worker more than cores filled the moments a worker waits for a server
# (on 2 cores: idle 4.5 % of a run -> 0.4 %), but the same computations then took 8-20 % more CPU
# time, so it was not faster (README, "Where the time goes").
TEST_OPTIONS ?= -n auto --dist loadfile --no-loadscope-reorder --durations=15
TEST_THREADS ?= 1

# Python keeps the compiled bytecode of the course's own modules in __pycache__/ (git-ignored; pytest
# its rewritten test modules too) even where the environment says not to (PYTHONDONTWRITEBYTECODE=1,
# as on the course machine): the suite's hundreds of processes, kernels and graders among them,
# then compile dlcourse, coursegrade and the tests once instead of each time.
test: $(VENV)/.installed
	@$(BIN)/python -c "import time; t = time.process_time(); import torch; print(f'speed reference: import torch took {time.process_time() - t:.2f} s of CPU (on the course machine at its fast speed: about 1.0 s with the Debian build of Python, 1.2 s with a pyenv build)')"
	PYTHONDONTWRITEBYTECODE= OMP_NUM_THREADS=$(TEST_THREADS) OPENBLAS_NUM_THREADS=$(TEST_THREADS) MKL_NUM_THREADS=$(TEST_THREADS) \
		$(BIN)/python -m pytest $(TEST_OPTIONS)

# Regenerate the student release in notebooks/ from the sources in solutions/.
release: $(VENV)/.installed
	for sheet in $$(ls solutions); do $(BIN)/nbgrader generate_assignment $$sheet --force || exit 1; done

# Run every solution notebook the way nbgrader grades it (hidden tests included).
validate: $(VENV)/.installed
	$(BIN)/nbgrader validate solutions/*/*.ipynb

benchmark: $(VENV)/.installed
	$(BIN)/python benchmarks/validate_time.py

# Grade every submission in autograde/submitted/ for one sheet: sandboxed, in parallel, resumable.
# Extra options (e.g. a Dask cluster): make grade SHEET=... GRADE_OPTIONS="--scheduler tcp://host:8786"
grade: $(VENV)/.installed
	@test -n "$(SHEET)" || { echo "usage: make grade SHEET=<sheet>, e.g. SHEET=01_sigmoid_softmax_gradient_descent"; exit 2; }
	$(BIN)/coursegrade $(SHEET) $(GRADE_OPTIONS)

# What students get (README, "For teachers", step 4): the release and the two packages it needs,
# in handout/ (or HANDOUT_DIR). No solutions/, and no tests/: the mutation lists and the sheets'
# tests hold reference code. tests/test_course.py checks that no hidden or solution line is in it.
HANDOUT := README.md Makefile requirements.txt environment.yml pyproject.toml dlcourse coursegrade notebooks
HANDOUT_DIR ?= handout

handout:
	rm -rf $(HANDOUT_DIR) && mkdir -p $(HANDOUT_DIR)
	git ls-files -z $(HANDOUT) | xargs -0 tar -cf - | tar -xf - -C $(HANDOUT_DIR)
	@echo "$(HANDOUT_DIR)/ holds what students need: hand it out as a zip file or a repository of its own."

clean:
	rm -rf $(VENV)

# A course hub on 127.0.0.1 for a try-out (README, "A course hub"): JupyterHub with a teacher and
# three students, nbgrader's extensions, a shared exchange; the proxy comes from npm into hub/.
.PHONY: hub
hub: $(VENV)/.installed hub/node_modules/.installed
	$(BIN)/python hub/start.py

hub/node_modules/.installed: hub/package.json
	@command -v npm >/dev/null || { echo "make hub needs npm (Node.js): apt-get install npm"; exit 2; }
	cd hub && npm install --no-audit --no-fund
	touch $@
