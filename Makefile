# The few verbs a newcomer needs. Everything installs what it needs first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
# Tests use real PostgreSQL and Redis (see README); override these to point elsewhere.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/computegrant
TEST_BROKER_URL ?= redis://127.0.0.1:6379/0
PORT ?= 8000

.PHONY: run test lint lock format browser clean help

help:
	@echo "make run    - install, migrate, load demo data, start web + worker + beat"
	@echo "make test   - install test dependencies and run the whole test suite"
	@echo "make lint   - ruff and mypy"
	@echo "make lock   - re-lock dependencies (with hashes) after editing requirements/*.in"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-runtime: requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	touch $@

$(VENV)/.installed-dev: requirements.lock requirements-dev.lock | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock -r requirements-dev.lock
	touch $@

# Browser tests drive Debian's Chromium (never a downloaded browser build).
browser:
	@test -x /usr/bin/chromium || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

run: $(VENV)/.installed-runtime
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo ""
	@echo "  ComputeGrant is starting at http://127.0.0.1:$(PORT)/  (Ctrl-C stops web, worker and beat)"
	@echo ""
	PATH="$(BIN):$$PATH" PORT=$(PORT) $(BIN)/honcho start

test: $(VENV)/.installed-dev browser
	DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" \
	CELERY_BROKER_URL="$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)}" \
	CG_DATA_DIR="$$(mktemp -d -t computegrant-test-XXXXXX)" \
	PATH="$(BIN):$$PATH" \
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy portal scheduler reproducibility config

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lock: $(VENV)/.installed-dev
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
	  --no-emit-find-links -o requirements.lock requirements/base.in
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
	  --no-emit-find-links -o requirements-dev.lock requirements/dev.in

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
