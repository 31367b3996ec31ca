# Two entry points: `make lab` for students, `make test` for everything CI checks;
# `make instructor` opens the whole course with nbgrader's instructor tools.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: lab instructor test lint pytest adversarial-as-user selftest release-check nbval nbval-sweep bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.lab: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,oracle,browser,scale]'
	.ci/system-packages
	touch $@

# nbgrader reads its config only from the folder it starts in and elsewhere would make an
# empty course; this config of the environment refuses that (autograder/outside_course.py).
GUARD := $(VENV)/etc/jupyter/nbgrader_config.py
$(GUARD): autograder/outside_course.py | $(BIN)/python
	mkdir -p $(@D)
	cp $< $@

# Sharp figures in every kernel of the environment: IPython reads sys.prefix/etc/ipython.
KERNEL_CONFIG := $(VENV)/etc/ipython/ipython_kernel_config.py
$(KERNEL_CONFIG): jupyter/ipython_kernel_config.py | $(BIN)/python
	mkdir -p $(@D)
	cp $< $@

# JupyterLab refuses to run as root unless told to (containers often run as root).
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

# A student's JupyterLab: jupyter/student/ comes first in Jupyter's config path and turns
# off nbgrader's instructor extensions (formgrader, create assignment, course and assignment
# lists, the Nbgrader menu), server and lab side; Validate stays.
STUDENT_CONFIG := $(CURDIR)/jupyter/student$(if $(JUPYTER_CONFIG_PATH),:$(JUPYTER_CONFIG_PATH))

lab: $(VENV)/.lab $(GUARD) $(KERNEL_CONFIG)
	JUPYTER_CONFIG_PATH="$(STUDENT_CONFIG)" $(BIN)/jupyter lab $(ALLOW_ROOT) lectures

# `nncourse lab` serves the course root, so Formgrader finds nbgrader_config.py and
# grading/; it adds --allow-root itself. It keeps every extension the environment enables.
instructor: $(VENV)/.lab $(GUARD) $(KERNEL_CONFIG)
	$(BIN)/nncourse lab

# Three test processes on two cores: about a tenth of each worker's time is spent waiting
# (kernels starting, the browser drawing, time limits running out), which a third fills.
TEST_WORKERS ?= 3

test: $(VENV)/.test $(GUARD) $(KERNEL_CONFIG) lint pytest adversarial-as-user selftest release-check nbval-sweep

lint:
	$(BIN)/ruff check .

pytest:
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

# The sandbox and grading tests again as an ordinary user: a throwaway uid in a cgroup
# delegated to it (.ci/as-user), since CI is root and grading must hold without root too.
# (test_integrity's watch runs in the checking process itself, whatever its uid.)
ADVERSARIAL := tests/test_sandbox.py tests/test_grading.py tests/test_grading_robust.py
adversarial-as-user: $(VENV)/.test
	$(if $(filter 0,$(shell id -u)),,sudo env PATH="$$PATH") .ci/as-user \
	    $(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal -p no:randomly $(ADVERSARIAL)

selftest:
	$(BIN)/nncourse selftest --jobs $(TEST_WORKERS)

release-check:
	$(BIN)/nncourse release --check

# nbval's kernels also check every figure they draw against the figure rules of
# docs/STYLE.md (tests/kernel/nncourse_figure_plugin.py), so the notebooks execute once for both.
FIGURE_RULES := PYTHONPATH="$(CURDIR)/tests/kernel$(if $(PYTHONPATH),:$(PYTHONPATH))" \
                PYTEST_ADDOPTS="-p nncourse_figure_plugin $(PYTEST_ADDOPTS)"

nbval:
	$(FIGURE_RULES) $(BIN)/pytest -p no:randomly --nbval solutions \
	    --nbval-sanitize-with tests/nbval_sanitize.cfg -q

# nbval under several BLAS kernels and numpy SIMD levels (see .ci/nbval-sweep)
nbval-sweep:
	$(FIGURE_RULES) VENV=$(VENV) .ci/nbval-sweep

bench: $(VENV)/.test
	$(BIN)/python benchmarks/vectorization.py
	$(BIN)/python benchmarks/training.py
	$(BIN)/python benchmarks/digits.py
	$(BIN)/python benchmarks/grading.py --lesson 06-backprop 10-training
	$(BIN)/python benchmarks/where_time_goes.py
	$(BIN)/python benchmarks/course.py
	$(BIN)/python benchmarks/sweep.py
	$(BIN)/python benchmarks/widgets.py
	$(BIN)/python benchmarks/live_figure.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
