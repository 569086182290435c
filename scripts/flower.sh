#!/usr/bin/env bash
# `make flower`: the seed's Celery monitor, `celery -A backend.celery flower`, behind HTTP basic auth.
#   FLOWER_BASIC_AUTH  user:password (several: comma-separated), from the environment or .env (the
#                      environment wins, as in settings.py). Required unless DJANGO_DEBUG is on: without
#                      it Flower refuses to start (exit 2); in debug it starts open, with a warning.
#   FLOWER_PORT        default 5555.    FLOWER_ADDRESS   default 127.0.0.1 (0.0.0.0 to serve other hosts).
# Other FLOWER_* variables in the environment (FLOWER_INSPECT_TIMEOUT in ms, say) reach Flower as they are.
# The password reaches Flower through its environment, never its command line: `ps` does not show it.
set -euo pipefail

cd "$(dirname "$0")/.."
PY=.venv/bin/python
CELERY=.venv/bin/celery

if [[ ! -x "$PY" || ! -x "$CELERY" ]]; then
    echo "No virtualenv with Celery at .venv: run 'make install' first." >&2
    exit 1
fi

# Read as settings.py reads them: django-environ, with .env filling in what the environment does not set.
{ read -r debug; read -r port; read -r address; IFS= read -r credentials || true; } < <("$PY" - <<'PYEOF'
import os

import environ

env = environ.Env()
if os.path.exists(".env"):
    environ.Env.read_env(".env")
print("1" if env.bool("DJANGO_DEBUG", default=False) else "0")
print(env.str("FLOWER_PORT", default="5555"))
print(env.str("FLOWER_ADDRESS", default="127.0.0.1"))
print(env.str("FLOWER_BASIC_AUTH", default="").strip())
PYEOF
)

if [[ -z "$credentials" ]]; then
    if [[ "$debug" != 1 ]]; then
        echo "Refusing to start Flower without credentials: it shows every task and can revoke tasks and stop" >&2
        echo "workers. Set FLOWER_BASIC_AUTH=user:password (in the environment or .env), or DJANGO_DEBUG=1" >&2
        echo "for a development machine." >&2
        exit 2
    fi
    echo "WARNING: Flower starts WITHOUT authentication (DJANGO_DEBUG is on and FLOWER_BASIC_AUTH is empty)." >&2
    unset FLOWER_BASIC_AUTH
else
    IFS=, read -r -a pairs <<<"$credentials"
    for pair in "${pairs[@]}"; do
        if [[ ! "$pair" =~ ^[^:]+:.+$ ]]; then
            echo "FLOWER_BASIC_AUTH must be user:password (several: comma-separated); refusing to start." >&2
            exit 2
        fi
    done
    export FLOWER_BASIC_AUTH="$credentials"
fi

echo "Flower: http://${address}:${port}/ ($([[ -n "$credentials" ]] && echo "basic auth" || echo "no auth"))"
exec "$CELERY" -A backend.celery flower --port="$port" --address="$address"
