# The two commands: `make run` and `make test` (see README.md).
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
FLASK   := $(BIN)/flask --app wsgi
HOST    ?= 127.0.0.1
PORT    ?= 5000

.PHONY: run test lint probe install install-test translations migrate demo bench scheduler clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: setup.cfg $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: setup.cfg $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed translations
install-test: $(VENV)/.installed-test translations

translations: $(VENV)/.installed
	@$(BIN)/pybabel compile --use-fuzzy --statistics -d loyalty/web/translations 2>&1 | tail -n 2

migrate: install
	$(FLASK) db upgrade

demo: migrate
	$(FLASK) demo-data --if-empty

run: demo
	SCHEDULER_EMBEDDED=1 $(FLASK) run --host $(HOST) --port $(PORT) --no-reload

scheduler: migrate
	$(FLASK) scheduler

# The suite runs in PYTEST_WORKERS processes (pytest-xdist; 0 runs it in this one), each with its own
# SQLite files and, under DATABASE_URL, its own PostgreSQL database <name>_gw0, <name>_gw1, ...
PYTEST_WORKERS ?= 2
test: install-test
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

# ruff: pyflakes, pycodestyle, import order, pyupgrade, bugbear (settings in pyproject.toml).
lint: install-test
	$(BIN)/ruff check .

# Schemathesis against a live gunicorn, once per role (every check, every phase); DATABASE_URL
# picks PostgreSQL (a database <name>_probe beside it), else SQLite. PROBE_EXAMPLES bounds it.
probe: install-test
	$(BIN)/python -m tests.probes.run_schemathesis

bench: install-test
	$(BIN)/python bench/ledger.py

clean:
	rm -rf $(VENV) build *.egg-info
