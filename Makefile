# metalearn — every target does its own set-up; the virtualenv lives at .venv in the repo root.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check
TORCH  := torch==2.13.0

.PHONY: demo test test-slow test-all wheel-check lint lint-imports install install-dev bench-venv kb-info bench-defaults clean

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("metalearn needs Python >= 3.10") if sys.version_info < (3, 10) else None'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) install --quiet "$(TORCH)"
	$(PIP) install --quiet -e ".[dev,neural,plot,boosting]"
	@touch $@

install: $(VENV)/.installed          ## create .venv and install metalearn
install-dev: $(VENV)/.installed-dev  ## + test tools, torch (CPU, pinned), plotting

demo: install                        ## recommend pipelines for a bundled dataset and print them
	$(VENV)/bin/metalearn recommend sklearn:breast_cancer --top 5

test: install-dev                    ## the default test suite (what CI runs first)
	$(PY) -m pytest -q -m "not slow" -p no:cacheprovider

test-slow: install-dev               ## long tests on all real datasets (CI runs them after `test`)
	$(PY) -m pytest -q -m slow -p no:cacheprovider

test-all: test test-slow

wheel-check: install-dev             ## build the wheel, install it in a fresh venv elsewhere, run recommend/fit/kb info
	.ci/wheel_check $(PY)

lint: install-dev
	$(VENV)/bin/ruff check metalearn tests scripts benchmarks

lint-imports: install-dev            ## the import-linter layers contract (pyproject.toml [tool.importlinter])
	$(VENV)/bin/lint-imports

bench-venv: .venv-bench/.installed   ## a second virtualenv for the live race (AutoGluon needs pandas < 2.4)

.venv-bench/.installed: pyproject.toml
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/python -m pip install --quiet "$(TORCH)"
	.venv-bench/bin/python -m pip install --quiet -e ".[bench,boosting]"
	@touch $@

kb-info: install
	$(VENV)/bin/metalearn kb info

clean:
	rm -rf $(VENV) .venv-bench .pytest_cache .ruff_cache build *.egg-info
