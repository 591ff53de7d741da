# The two commands the README promises: `make demo` and `make test`.
# Both work on a fresh machine with only Python 3.11+ and make.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DB ?= demo-data/psirf_demo.sqlite3
# Parallel mutant runs for `make mutation`; keep it at 1 or 2 on a shared machine.
MUTATION_CHILDREN ?= 1

.PHONY: demo test lint typecheck contracts pytest docs bench mutation clean help

help:
	@echo "make demo   run an incident under a trust's plan to a closed PSII in SQLite, and verify its audit trail"
	@echo "make test   install what the checks need, then run ruff, mypy, import-linter, pytest and the docs build"
	@echo "make docs   build the documentation site into site/"
	@echo "make bench  run the benchmarks (writes benchmarks/results/*.json)"
	@echo "make mutation  mutation-test the decision core (slow; writes mutation-report.md)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[sqlalchemy,postgresql,cli,testing,docs]" \
		"pytest-cov>=5.0" "ruff>=0.6" "mypy>=1.11" "import-linter>=2.0"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/psii_lifecycle.py --db $(DEMO_DB)

lint: $(STAMP)
	$(BIN)/ruff check src tests examples benchmarks tools
	$(BIN)/ruff format --check src tests examples benchmarks tools

typecheck: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/python -m pytest --cov --cov-branch --cov-report=term --cov-fail-under=95 $(PYTEST_ARGS)

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

test: lint typecheck contracts pytest docs

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet "python-statemachine>=3.0"
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

# Not part of `make test`: mutates the modules listed under [tool.mutmut] in pyproject.toml,
# runs the tests against each mutant (in a copy of the tree, mutants/), then writes
# mutation-report.md and fails below 95 % a module or on an unexplained survivor.
mutation: $(STAMP)
	$(BIN)/python -m pip install --quiet "mutmut>=3.3"
	HYPOTHESIS_PROFILE=mutation $(BIN)/mutmut run --max-children $(MUTATION_CHILDREN)
	$(BIN)/python tools/mutation_report.py

clean:
	rm -rf $(VENV) site .coverage .coverage.* .mypy_cache .ruff_cache .pytest_cache demo-data \
		mutants mutation-report.md
