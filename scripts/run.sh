#!/usr/bin/env bash
# `make run`: the database ready, an admin user, then the web server and Celery until Ctrl-C.
# Needs only what `make install` makes: .venv and .env. Every process it starts, it stops.
set -euo pipefail

cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORT="${PORT:-8000}"

if [[ ! -x "$PY" ]]; then
    echo "No virtualenv at .venv: run 'make install' first." >&2
    exit 1
fi

"$PY" manage.py migrate --noinput  # also creates the database cache's table (core migration 0003)
"$PY" manage.py ensure_admin
"$PY" manage.py seed_demo_data --members 200 --claims 1000 --if-empty  # a demo scheme to look at, once

web_pid=""
celery_pid=""

stop_all() {
    # On Ctrl-C, on TERM and on any exit (a process died, a step failed): stop what we started.
    trap - INT TERM EXIT
    local pid
    for pid in $web_pid $celery_pid; do kill -TERM "$pid" 2>/dev/null || true; done
    # start_celery waits for Celery's warm shutdown (at most 30 s) before it exits.
    for pid in $web_pid $celery_pid; do wait "$pid" 2>/dev/null || true; done
}
trap 'stop_all; exit 0' INT TERM
trap 'stop_all' EXIT

# A script's background jobs ignore SIGINT, so a terminal's Ctrl-C reaches them through the trap above.
"$PY" manage.py runserver "127.0.0.1:${PORT}" &
web_pid=$!
"$PY" manage.py start_celery &
celery_pid=$!

echo
echo "Admin:  http://127.0.0.1:${PORT}/admin/   (Ctrl-C stops the web server and Celery)"
echo

# Portable to the bash 3.2 macOS ships (no `wait -n`): poll until one of the two is gone.
while kill -0 "$web_pid" 2>/dev/null && kill -0 "$celery_pid" 2>/dev/null; do
    sleep 1
done
echo "The web server or Celery stopped on its own: stopping the rest." >&2
exit 1
