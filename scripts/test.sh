#!/usr/bin/env bash
# The whole suite, run by `make test` (and so by .ci/run): first `make lint`, then
#   1. the embedded default: SQLite, the django:// broker, django-db results, the database cache;
#   2. PostgreSQL + Redis (broker, results and cache on Redis);
#   3. django:// on PostgreSQL: the broker and worker tests again on the production database;
#   4. the fault suite (`-m fault`, excluded from runs 1-3): workers killed, Redis stopped, PostgreSQL
#      restarted mid-job, on private Redis and PostgreSQL instances it starts itself on other ports
#      (6390 and 5440 or the next free ones), so it needs their binaries but not the shared services.
# Runs 2 and 3 need PostgreSQL and Redis on 127.0.0.1. When they are down, or the binaries run 4 needs
# are missing, the runs are skipped and said so plainly, unless REQUIRE_SERVICES=1 (CI), which makes a
# missing service a failure.
set -uo pipefail
cd "$(dirname "$0")/.."

PYTEST=(.venv/bin/pytest -p no:cacheprovider -q -ra --durations=15)  # the slowest, to keep the 25-minute budget in sight
PG_URL=${TEST_DATABASE_URL:-postgres://root@127.0.0.1:5432/medaid}
REDIS_TEST_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/14}  # its own Redis database, emptied by the suite
export DJANGO_DEBUG=1

port_open() { .venv/bin/python -c "import socket,sys; socket.create_connection(('$1', $2), timeout=1)" 2>/dev/null; }

failed=()
passed_total=0 failed_total=0 skipped_total=0
summary=$(mktemp)
trap 'rm -f "$summary"' EXIT

count() {  # how many "<n> <word>" pytest's closing line reports (errors count as failures)
    grep -oE "[0-9]+ $1" <<<"$2" | awk '{s += $1} END {print s + 0}'
}

run() {
    local label=$1; shift
    echo
    echo "=== $label"
    local started=$SECONDS status
    "$@" 2>&1 | tee "$summary"
    status=${PIPESTATUS[0]}
    ((status == 5)) && status=0  # pytest: no test selected (arguments that match nothing in this run)
    local last
    last=$(grep -E "[0-9]+ (passed|failed|error)" "$summary" | tail -n 1)
    passed_total=$((passed_total + $(count passed "$last")))
    failed_total=$((failed_total + $(count failed "$last") + $(count "errors?" "$last")))
    skipped_total=$((skipped_total + $(count skipped "$last")))
    if ((status == 0)); then echo "=== $label: passed in $((SECONDS - started)) s"; else failed+=("$label"); fi
}

# Lint first: ruff check, ruff format --check and the import-linter layer contracts (seconds).
run "0/4 lint (ruff check, ruff format --check, import-linter)" make --no-print-directory lint

# Arguments pass through (`./scripts/test.sh -k priority`); a `-m` given there replaces these.
run "1/4 embedded default (SQLite + django://)" \
    env DATABASE_URL="sqlite:///$PWD/data/db.sqlite3" REDIS_URL= CELERY_BROKER_URL= CELERY_RESULT_BACKEND= \
    "${PYTEST[@]}" -m "not fault" "$@"

if port_open 127.0.0.1 5432 && port_open 127.0.0.1 6379; then
    # Less the rules' pure properties (no database) and the browser tests (the pages; what they read and write
    # on PostgreSQL is tested here through the test client): both ran in run 1, and the budget is 25 minutes.
    run "2/4 PostgreSQL + Redis" \
        env DATABASE_URL="$PG_URL" REDIS_URL="$REDIS_TEST_URL" CELERY_BROKER_URL= CELERY_RESULT_BACKEND= \
        "${PYTEST[@]}" -m "not fault and not pure and not browser" "$@"
    # The worker tests whose subject is the broker or the database under it (the transport, beat's lock,
    # bulk jobs, e-mails, remote control across hosts); the other worker tests (Flower, /metrics, health,
    # recycling, reports, start_celery, the privacy search) ran on django:// in run 1 and on PostgreSQL in
    # run 2, and the pair adds nothing but minutes to the 25-minute budget.
    run "3/4 django:// on PostgreSQL (broker and worker tests)" \
        env DATABASE_URL="$PG_URL" REDIS_URL= CELERY_BROKER_URL= CELERY_RESULT_BACKEND= \
        "${PYTEST[@]}" -m "worker and not fault" core/tests/test_broker_worker.py core/tests/test_broker_shutdown.py \
        core/tests/test_broker_dead_letter.py core/tests/test_beat_lock.py core/tests/test_two_hosts.py \
        core/tests/test_health_split.py claims/tests/test_bulk_claims.py notifications/tests/test_worker.py "$@"
elif [[ "${REQUIRE_SERVICES:-0}" == 1 ]]; then
    echo "PostgreSQL (127.0.0.1:5432) or Redis (127.0.0.1:6379) is not running and REQUIRE_SERVICES=1" >&2
    failed+=("services")
else
    echo
    echo "SKIPPED runs 2/4 and 3/4 (PostgreSQL + Redis, django:// on PostgreSQL): PostgreSQL or Redis is not running."
fi

# Run 4 starts its own Redis and PostgreSQL (never the shared ones): it needs redis-server, initdb and
# pg_ctl, and when run as root the `postgres` OS user to run PostgreSQL as. The test process itself
# uses the embedded default; the system under test gets the private services through its environment.
fault_missing=()
[[ -x /usr/bin/redis-server ]] || command -v redis-server >/dev/null || fault_missing+=("redis-server")
pg_bin_found=0
for dir in /usr/local/bin /usr/lib/postgresql/*/bin; do
    [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]] && pg_bin_found=1
done
((pg_bin_found)) || fault_missing+=("initdb/pg_ctl")
if [[ $(id -u) == 0 ]] && ! id postgres >/dev/null 2>&1; then fault_missing+=("the postgres OS user"); fi
if ((${#fault_missing[@]} == 0)); then
    run "4/4 fault suite (private Redis and PostgreSQL)" \
        env DATABASE_URL="sqlite:///$PWD/data/db.sqlite3" REDIS_URL= CELERY_BROKER_URL= CELERY_RESULT_BACKEND= \
        "${PYTEST[@]}" -m fault "$@"
elif [[ "${REQUIRE_SERVICES:-0}" == 1 ]]; then
    echo "The fault suite needs ${fault_missing[*]}, which is missing, and REQUIRE_SERVICES=1" >&2
    failed+=("fault suite")
else
    echo
    echo "SKIPPED run 4/4 (fault suite): missing ${fault_missing[*]}."
fi

echo
echo "Total: $passed_total passed, $failed_total failed, $skipped_total skipped"
if ((${#failed[@]})); then
    echo "FAILED: ${failed[*]}"
    exit 1
fi
