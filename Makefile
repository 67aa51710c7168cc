# Two commands do all set-up on a fresh machine with Python 3.11:
#   make run    serve the API on its embedded defaults (SQLite + a local moto server as AWS)
#   make test   run the whole suite (PostgreSQL when DATABASE_URL is set, else SQLite)
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench fuzz lint check-migrations venv clean train-scheduler e2e frontend

$(STAMP): requirements.txt requirements-dev.txt requirements-train.txt
	test -x $(PYTHON) || $(PY) -m venv $(VENV)
	$(PYTHON) -m pip install -q --upgrade pip
	$(PYTHON) -m pip install -q -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

E2E_STAMP := $(VENV)/.installed-e2e
$(E2E_STAMP): $(STAMP) requirements-e2e.txt
	$(PYTHON) -m pip install -q -r requirements-e2e.txt
	touch $(E2E_STAMP)

# The browser suite: the real frontend (../shared/frontend) in Debian's chromium against a
# `make run` backend on ports 8100 (API) and 5173 (frontend). Failures leave e2e-artifacts/.
e2e: $(E2E_STAMP)
	$(PYTHON) -m pytest -c e2e/pytest.ini --rootdir . e2e

# The real frontend on http://localhost:5173 against `make run` on $$PORT (8000).
frontend: $(STAMP)
	$(PYTHON) -m e2e.frontend serve --api-url http://localhost:$${PORT:-8000}

run: $(STAMP)
	$(PYTHON) -m phb.localrun

test: $(STAMP)
	$(PYTHON) -m pytest

bench: $(STAMP)
	$(PYTHON) bench/run_all.py

# Train the appointment scheduler (CPU here; a GPU where there is one): SIM_PARAMS=<json from
# manage.py fit_scheduling_simulator> to train on fitted parameters. Writes var/scheduler-models/<version>/.
train-scheduler: $(STAMP)
	$(PYTHON) -m appointments.scheduler.train --out var/scheduler-models $(if $(SIM_PARAMS),--sim-params $(SIM_PARAMS))

# Schemathesis against /api/schema/ as anonymous, patient, doctor and hospital admin (docs/fuzzing.md)
fuzz: $(STAMP)
	$(PYTHON) fuzz/schema_fuzz.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .

check-migrations: $(STAMP)
	DJANGO_SETTINGS_MODULE=phb.settings.test $(PYTHON) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) var staticfiles .cache e2e-artifacts
