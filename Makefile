# Two commands do all set-up on a fresh machine with Python 3.11:
#   make run    serve the API on its embedded defaults (SQLite + a local moto server as AWS)
#   make test   run the whole suite (PostgreSQL when DATABASE_URL is set, else SQLite)
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench lint check-migrations venv clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PYTHON) || $(PY) -m venv $(VENV)
	$(PYTHON) -m pip install -q --upgrade pip
	$(PYTHON) -m pip install -q -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(PYTHON) -m phb.localrun

test: $(STAMP)
	$(PYTHON) -m pytest

bench: $(STAMP)
	$(PYTHON) bench/run_all.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .

check-migrations: $(STAMP)
	DJANGO_SETTINGS_MODULE=phb.settings.test $(PYTHON) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) var staticfiles
