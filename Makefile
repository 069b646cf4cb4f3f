# Doudi: the two commands of README.md.
#   make demo   set up everything and serve the demo on http://127.0.0.1:8000
#   make test   run the whole test suite (after ruff and the import contracts); the browser
#               tests need /usr/bin/chromium
#   make vendor refresh the pinned browser assets from the npm registry (web/assets/VENDOR.md)
# With DATABASE_URL / CELERY_BROKER_URL set, both run against PostgreSQL and Redis.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_CITY ?= 3211
DEMO_HOUSEHOLDS ?= 300
DEMO_MONTH ?= $(shell date +%Y-%m)

.PHONY: demo test install lint migrate seed serve clean vendor

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py load_seeds --demo-users
	$(PY) manage.py load_demo --city $(DEMO_CITY) --households $(DEMO_HOUSEHOLDS)

demo: seed
	$(PY) manage.py run_payroll --month $(DEMO_MONTH) --region $(DEMO_CITY) --if-absent --inline-without-worker
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py demo_logins
	$(PY) manage.py runserver 127.0.0.1:8000

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

test: lint
	$(PY) -m pytest $(PYTEST_ARGS)

vendor:
	web/assets/refresh.sh

clean:
	rm -rf $(VENV) db.sqlite3 media bankfiles .pytest_cache .hypothesis artifacts
