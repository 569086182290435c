"""`python manage.py health`: the health_check task's checks, for a person at a terminal. Exit 0 healthy, 1 not.

It looks and leaves no trace: nothing is stored and nobody is e-mailed (that is the periodic task's job).
"""

import json
import shutil
import sys
import textwrap

from django.core.management.base import BaseCommand

from core.health import components_of, run_health_checks


class Command(BaseCommand):
    help = "Run every health check (platform, beat, queues, claims, e-mails); exit 1 if any is down."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print the result as JSON (for scripts)")
        parser.add_argument("--no-workers", action="store_true", help="do not ping the workers")
        parser.add_argument("--timeout", type=float, default=2.0, help="seconds to wait for workers to answer")

    def handle(self, *args, **options):
        summary = run_health_checks(
            ping_workers=not options["no_workers"], ping_timeout=options["timeout"], store=False
        )
        components = components_of(summary)
        if options["json"]:
            self.stdout.write(json.dumps({"healthy": summary["healthy"], "components": components}, indent=2))
        else:
            self.stdout.write(self._table(components))
            verdict = "HEALTHY" if summary["healthy"] else "UNHEALTHY"
            style = self.style.SUCCESS if summary["healthy"] else self.style.ERROR
            self.stdout.write(style(verdict))
        if not summary["healthy"]:
            sys.exit(1)

    def _table(self, components: dict) -> str:
        width = max(60, shutil.get_terminal_size((120, 24)).columns) - 32
        name_width = max(len(name) for name in components) + 2
        lines = [f"{'component':<{name_width}}{'status':<8}{'ms':>9}  detail"]
        for name, component in components.items():
            status = "up" if component["ok"] else "DOWN"
            detail = textwrap.wrap(component["detail"], width) or [""]
            lines.append(f"{name:<{name_width}}{status:<8}{component['latency_ms']:>9.1f}  {detail[0]}")
            lines += [f"{'':<{name_width + 19}}{more}" for more in detail[1:]]
        return "\n".join(lines)
