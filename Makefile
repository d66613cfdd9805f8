# SPM Workbench — all set-up is done by `make report` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# A Python 3.12 interpreter: python3.12 on PATH, else a pyenv-installed 3.12.
PYTHON ?= $(shell for p in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3.12 /usr/local/bin/python3.12 /usr/bin/python3.12; do \
	if $$p -c 'import sys; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1; then echo $$p; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin
DEMO := data/demo.duckdb
SCENARIOS := $(wildcard scenarios/*.yaml)
PYTEST_ARGS ?=
# pytest-xdist workers for `make test` (one per core; a test file stays on one worker so its
# module fixtures are built once). PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS ?= 2

.PHONY: help venv dev data report test test-fast lab bench lint clean

help:
	@echo "make report  - set up .venv, write the demo data, render every scenario into reports/"
	@echo "make test    - set up .venv with dev extras, run the whole test suite (slow + browser too)"
	@echo "make lab     - open JupyterLab on the what-if workbench"
	@echo "make bench   - run the benchmarks in benchmarks/"

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "error: python3.12 not found (PyMC 6 needs Python >= 3.12)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (SPM Workbench)" >/dev/null
	@touch $@

$(VENV)/.dev-installed: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@

$(VENV)/.lab-installed: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install -q -e '.[lab]'
	@touch $@

venv: $(VENV)/.installed
dev: $(VENV)/.dev-installed

$(DEMO): | $(VENV)/.installed
	@mkdir -p $(dir $(DEMO))
	$(BIN)/spm data demo --out $(DEMO)

data: $(DEMO)

report: $(VENV)/.installed $(DEMO)
	$(BIN)/spm report $(SCENARIOS) --out reports

test: $(VENV)/.dev-installed
	@test -x /usr/bin/chromium || echo "NOTE: /usr/bin/chromium is missing: the browser tests will be SKIPPED (apt-get install -y chromium; with CI=true they fail instead)."
	$(BIN)/python -m pytest -m "" -n $(PYTEST_WORKERS) --dist loadfile --durations=15 $(PYTEST_ARGS)
	@test -x /usr/bin/chromium || echo "NOTE: browser tests were SKIPPED (no /usr/bin/chromium)."

test-fast: $(VENV)/.dev-installed
	$(BIN)/python -m pytest -m "not slow and not browser" $(PYTEST_ARGS)

lab: $(VENV)/.lab-installed $(DEMO)
	SPM_WORKBENCH=$(CURDIR) $(BIN)/jupyter lab notebooks/workbench.ipynb

bench: $(VENV)/.dev-installed $(DEMO)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check spm_models tests benchmarks

clean:
	rm -rf reports .spm_cache test-artifacts
