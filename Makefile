# Two entry points: `make lab` for students, `make test` for everything CI checks.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: lab test lint pytest selftest release-check nbval bench clean

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

# JupyterLab refuses to run as root unless told to (containers often run as root).
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(VENV)/.lab
	$(BIN)/jupyter lab $(ALLOW_ROOT) lectures

test: $(VENV)/.test lint pytest selftest release-check nbval

lint:
	$(BIN)/ruff check .

pytest:
	$(BIN)/pytest -n 2

selftest:
	$(BIN)/nncourse selftest

release-check:
	$(BIN)/nncourse release --check

nbval:
	$(BIN)/pytest -p no:randomly --nbval solutions --nbval-sanitize-with tests/nbval_sanitize.cfg -q

bench: $(VENV)/.test
	$(BIN)/python benchmarks/vectorization.py
	$(BIN)/python benchmarks/training.py
	$(BIN)/python benchmarks/digits.py
	$(BIN)/python benchmarks/grading.py
	$(BIN)/python benchmarks/course.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
