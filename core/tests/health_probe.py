"""`python -m core.tests.health_probe`: the health checks on demand, for the fault tests (one process, not one per look).

Each line read from stdin runs every check (workers pinged, nothing stored) and prints one JSON line,
{component: ok}. Django's connection is checked before each run, as a web request or a task would,
so a restarted PostgreSQL is seen up again. Starting `manage.py health` for each look cost ~2 s of
interpreter and Django start-up.
"""

import json
import sys

import django


def main() -> None:
    django.setup()
    from django.db import close_old_connections

    from core.health import components_of, run_health_checks

    for _line in sys.stdin:
        close_old_connections()
        summary = run_health_checks(ping_workers=True, ping_timeout=1.0, store=False)
        print(json.dumps({name: c["ok"] for name, c in components_of(summary).items()}), flush=True)


if __name__ == "__main__":
    main()
