# The two commands a newcomer needs: `make demo` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?= -n 2

.PHONY: help venv install compilemessages messages migrate seed demo test lint format bench bench-sandbox bench-sync bench-segments bench-webhooks bench-workflows clean

help:
	@echo "make demo   - install, migrate, seed and run web + worker + Zoom sandbox (http://127.0.0.1:8000)"
	@echo "make test   - the whole test suite (SQLite by default; DATABASE_URL for PostgreSQL)"
	@echo "make lint   - ruff, import-linter contracts, missing migrations"
	@echo "make bench  - benchmarks in bench/"
	@echo "make messages - extract the UI's strings into locale/*/LC_MESSAGES/*.po (translators)"

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Re-install only when the dependency list changes.
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

venv: $(VENV)/.installed

install: $(VENV)/.installed compilemessages

# The translations (rule L1): each .mo is built from its .po whenever the .po is newer, so the
# demo and the tests always speak the catalogues as they are; .mo files are not committed.
# GNU gettext's msgfmt when the machine has it (as Django's compilemessages, same
# --check-format); otherwise polib (a dev dependency) writes the same .mo, so that a machine
# with only Python and make runs the demo and the tests in every language.
PO_FILES := $(wildcard locale/*/LC_MESSAGES/*.po)
MO_FILES := $(PO_FILES:.po=.mo)

compilemessages: $(MO_FILES)

locale/%.mo: locale/%.po | $(VENV)/.installed
	@if command -v msgfmt >/dev/null 2>&1; then msgfmt --check-format -o $@ $<; \
	else $(PY) -c 'import sys, polib; polib.pofile(sys.argv[1]).save_as_mofile(sys.argv[2])' $< $@; fi

# Re-extracts the strings marked in Python, templates and static JavaScript into the .po files
# (new strings come with an empty translation; tests/config/test_translations.py lists them).
MAKEMESSAGES_IGNORE := --ignore='.venv/*' --ignore='var/*' --ignore='tests/*' --ignore='bench/*' \
	--ignore='zoom_sandbox/*' --ignore='static/js/htmx.min.js' --ignore='screenshots/*'
messages: $(VENV)/.installed
	$(PY) manage.py makemessages -l pt_BR -l fr $(MAKEMESSAGES_IGNORE) --no-obsolete
	$(PY) manage.py makemessages -d djangojs -l pt_BR -l fr $(MAKEMESSAGES_IGNORE) --no-obsolete

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

demo: seed
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) scripts/demo.py

# pytest exits 5 when it collects no test: that is a failure of ours, said plainly.
test: install
	@$(PY) -m pytest $(PYTEST_ARGS); code=$$?; \
	if [ $$code -eq 5 ]; then echo "make test: pytest collected no test"; exit 1; fi; exit $$code

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) manage.py makemigrations --check --dry-run

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: bench-sandbox bench-sync bench-segments bench-webhooks bench-workflows

bench-sandbox: install
	$(PY) bench/sandbox_registrants.py

# Needs PostgreSQL and Redis: DATABASE_URL names a scratch database, dropped and created anew; a
# real Celery worker syncs (REDIS_URL: cache, default database 14; CELERY_BROKER_URL: broker, 15).
bench-sync: install
	DATABASE_URL=$${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/crm_bench} $(PY) bench/sync_bench.py

# Needs PostgreSQL: 1M contacts and 5M participations, built once (~30 s here) and re-used.
# The script reads BENCH_DATABASE_URL only, never DATABASE_URL: it drops the database it names.
bench-segments: install
	BENCH_DATABASE_URL=$${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/crm_segments_bench} $(PY) bench/segments_bench.py

# Need PostgreSQL and Redis; each drops and recreates its own scratch database.
bench-webhooks: install
	$(PY) bench/webhooks_bench.py

bench-workflows: install
	$(PY) bench/workflows_bench.py

clean:
	rm -rf var/broker var/staticfiles .pytest_cache
