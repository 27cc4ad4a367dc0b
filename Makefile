# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
WORKERS ?= 1
PORT ?= 5000

.PHONY: run test test-sqlite test-postgresql lint install migrate demo serve clean

$(BIN)/activate: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(BIN)/activate

install: $(BIN)/activate

migrate: install
	$(FLASK) db upgrade

demo: migrate
	PORT=$(PORT) $(FLASK) demo

# One gevent worker holds thousands of WebSockets (see docs/benchmarks.md).
serve:
	ulimit -n 65536 2>/dev/null || ulimit -n $$(ulimit -Hn); \
	$(BIN)/gunicorn -c python:liveblog.gunicorn_conf --workers $(WORKERS) \
	  --bind 127.0.0.1:$(PORT) app:app

run: demo serve

# The whole suite twice: on SQLite files, then on a PostgreSQL server each worker starts for
# itself from Debian's binaries (apt-get install postgresql; see tests/pg_support.py).
# A failure on SQLite still lets the PostgreSQL run report; either one fails the target.
test: install
	$(BIN)/ruff check .
	status=0; \
	$(MAKE) --no-print-directory test-sqlite || status=1; \
	$(MAKE) --no-print-directory test-postgresql || status=1; \
	exit $$status

test-sqlite: install
	LIVEBLOG_TEST_DATABASE=sqlite $(BIN)/python -m pytest -n auto

test-postgresql: install
	LIVEBLOG_TEST_DATABASE=postgresql $(BIN)/python -m pytest -n auto

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
