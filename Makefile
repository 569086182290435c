# Two commands on a fresh machine with Python 3.11+: `make run` and `make test` (see README).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install run test test-embedded test-services lint bench-broker flower clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Creates .venv, installs the pinned dependencies and a local .env (DEBUG on, a fresh secret key).
install: $(STAMP)
	@test -f .env || { sed "s|^DJANGO_SECRET_KEY=.*|DJANGO_SECRET_KEY=$$($(PY) -c 'import secrets;print(secrets.token_urlsafe(50))')|" .env.example > .env; echo "created .env from .env.example"; }

# The embedded default: SQLite, the django:// broker, no other service. Ctrl-C stops everything.
run: install
	./scripts/run.sh

# The whole suite: on the embedded default, then on PostgreSQL + Redis and django:// on PostgreSQL.
test: install
	./scripts/test.sh

# Flower, the seed's Celery monitor, on the configured broker (http://127.0.0.1:5555): basic auth from
# FLOWER_BASIC_AUTH (environment or .env); without it, it refuses to start unless DJANGO_DEBUG is on.
flower: install
	./scripts/flower.sh

# Part of `make test` (scripts/test.sh runs it first): CI fails on lint, format drift or a broken layer.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports  # the layer contracts in pyproject.toml [tool.importlinter]

bench-broker: install
	$(PY) -m bench.broker

clean:
	rm -rf $(VENV) .pytest_cache data/
