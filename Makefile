# The two commands the README promises: `make demo` and `make test`.
# Both work on a fresh machine with only Python 3.11+ and make.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DB ?= demo-data/psirf_demo.sqlite3
# `make test` installs the exact tool versions in this file (tools/lock_dev.py writes it);
# `make test-latest` empties it to upgrade everything, in a separate venv.
CONSTRAINTS ?= constraints/dev.txt
PIP_CONSTRAINTS = $(if $(CONSTRAINTS),-c $(CONSTRAINTS),--upgrade --upgrade-strategy eager)
LATEST_VENV ?= .venv-latest
# The browser check drives this Chromium (Debian's package); playwright never downloads one.
CHROMIUM := /usr/bin/chromium
# pytest spreads the tests over worker processes (pytest-xdist); PYTEST_WORKERS="-n 0" runs one.
PYTEST_WORKERS ?= -n auto --dist worksteal
# Parallel mutant runs for `make mutation`; keep it at 1 or 2 on a shared machine.
MUTATION_CHILDREN ?= 1

.PHONY: demo test test-latest lock lint typecheck contracts pytest docs browser-check diagrams bench bench-smoke bench-ics mutation types clean help

help:
	@echo "make demo   run an incident under a trust's plan to a closed PSII in SQLite, and verify its audit trail"
	@echo "make test   install what the checks need, then run ruff, mypy, import-linter, pytest, the benchmarks at smoke size, the docs build and the browser check"
	@echo "make test-latest  the same checks with the newest versions of every tool, in $(LATEST_VENV)/"
	@echo "make lock   re-pin constraints/dev.txt to the versions installed in $(VENV)/"
	@echo "make docs   build the documentation site into site/"
	@echo "make browser-check  build the site, open every page in headless Chromium offline and check it;"
	@echo "            screenshots in build/screenshots/ (installs Debian's chromium if missing)"
	@echo "make bench  run the benchmarks at the target sizes, print every target beside its figure"
	@echo "            (writes benchmarks/results/*.json and docs/explanation/performance.md)"
	@echo "make bench-smoke  every benchmark at a tiny size, results checked (part of make test)"
	@echo "make bench-ics  the trust-to-ICS scale benchmark (1,000,000 cases on PostgreSQL; slow)"
	@echo "make mutation  mutation-test the decision core (slow; writes mutation-report.md)"
	@echo "make types  regenerate src/psirf_flow/typed.py from the built-in workflow definitions"
	@echo "make diagrams  redraw the documentation's diagrams as SVG (needs npm once, and Chromium)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml $(CONSTRAINTS)
	$(BIN)/python -m pip install --quiet $(PIP_CONSTRAINTS) \
		-e ".[sqlalchemy,postgresql,async,cli,testing,docs]" \
		"pytest-cov>=5.0" "ruff>=0.6" "mypy>=1.11" "import-linter>=2.0" \
		"fastapi>=0.115" "httpx>=0.27" "build>=1.2" "hatchling>=1.27" "playwright>=1.48" \
		"pytest-xdist>=3.6" "python-statemachine>=3.0" "eventsourcing>=9.3" "psycopg-pool>=3.2" \
		"pyinstrument>=5.0"
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

# The tests of the browser check (tests/browser/) drive Chromium too.
pytest: $(STAMP) $(CHROMIUM)
	$(BIN)/python -m pytest $(PYTEST_WORKERS) --cov --cov-branch --cov-report=term --cov-fail-under=95 $(PYTEST_ARGS)

# `mkdocs build --strict` (warnings refused) into site/. The build is kept under
# build/docs-site/, keyed by a digest of every input (tools/docs_site.py): the docs tests
# of `make pytest` and this target share one build of the same tree, never a stale one.
docs: $(STAMP)
	$(BIN)/python tools/docs_site.py --site-dir site

# Debian's chromium, installed non-interactively when it is missing (needs root and apt-get).
$(CHROMIUM):
	@command -v apt-get >/dev/null 2>&1 || { echo "$(CHROMIUM) is missing and apt-get is not available: install Debian's chromium package (or a Chromium at $(CHROMIUM)) and rerun" >&2; exit 1; }
	@[ "$$(id -u)" -eq 0 ] || { echo "$(CHROMIUM) is missing: run 'sudo apt-get install chromium' (installing it needs root) and rerun" >&2; exit 1; }
	DEBIAN_FRONTEND=noninteractive apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium
	@test -x $(CHROMIUM) || { echo "apt-get installed chromium but $(CHROMIUM) is still missing" >&2; exit 1; }

# The freshly built site in a real browser, offline: lifecycle diagrams drawn as SVG, no raw
# Sphinx roles on the API pages, search finds the duty of candour, nothing fetched off the
# machine, no console errors (tools/browser_check.py). Screenshots go to build/screenshots/.
browser-check: docs $(CHROMIUM)
	$(BIN)/python tools/browser_check.py --site site --screenshots build/screenshots

test: lint typecheck contracts pytest bench-smoke docs browser-check

# The same checks against the newest release of every dependency and tool (no constraints,
# upgraded on every run), in its own venv so the pinned one is left alone.
test-latest:
	rm -f $(LATEST_VENV)/.installed
	$(MAKE) test VENV=$(LATEST_VENV) CONSTRAINTS=

# After changing a built-in workflow definition (tests/core/test_typed.py fails until then).
types: $(STAMP)
	$(BIN)/python tools/gen_types.py

# After changing a built-in workflow definition or a docs/**/*.mmd file
# (tests/docs/test_diagrams.py fails until then). Fetches the pinned Mermaid with npm into
# .cache/ once, then draws in headless Chromium: the one the browser check uses (CHROMIUM,
# Debian's package), or another installed browser's executable
# (e.g. `make diagrams CHROMIUM=$(command -v chromium)`).
diagrams: $(STAMP)
	PSIRF_FLOW_CHROMIUM=$(CHROMIUM) $(BIN)/python tools/render_diagrams.py

# After changing the install line above or upgrading a tool on purpose.
lock: $(STAMP)
	$(BIN)/python tools/lock_dev.py

# The target sizes (tens of minutes on 2 vCPUs; not `ics`), then the docs page from the figures.
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/report.py

# Every registered benchmark at a tiny size (figures mean nothing): fails when one raises or
# reports ill-formed results; under CI=true or PSIRF_FLOW_REQUIRE_PG=1 a skipped PostgreSQL
# benchmark fails it too. PostgreSQL: $$PSIRF_FLOW_BENCH_PG_URL, default the local server.
bench-smoke: $(STAMP)
	rm -rf build/bench-smoke
	$(BIN)/python benchmarks/run.py --smoke --out build/bench-smoke

# Not part of `make test` or `make bench`: bulk-loads 1,000,000 cases into PostgreSQL (minutes).
bench-ics: $(STAMP)
	$(BIN)/python benchmarks/run.py --only ics $(BENCH_ARGS)

# Not part of `make test`: mutates the modules listed under [tool.mutmut] in pyproject.toml,
# runs the tests against each mutant (in a copy of the tree, mutants/), then writes
# mutation-report.md and fails below 95 % a module or on an unexplained survivor.
mutation: $(STAMP)
	$(BIN)/python -m pip install --quiet "mutmut>=3.3"
	HYPOTHESIS_PROFILE=mutation $(BIN)/mutmut run --max-children $(MUTATION_CHILDREN)
	$(BIN)/python tools/mutation_report.py

clean:
	rm -rf $(VENV) $(LATEST_VENV) site build dist .coverage .coverage.* .mypy_cache .ruff_cache .pytest_cache demo-data \
		mutants mutation-report.md
