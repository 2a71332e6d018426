import time

from django.core.management.base import BaseCommand

from marketing_events.activity import activity_rebuild


class Command(BaseCommand):
    help = (
        "Recomputes every contact's event rollups (events registered, attended, cancelled, "
        "seconds attended, first and last attended, last registered) from its participations "
        "and reports the contacts whose stored values had drifted. --check only reports; the "
        "exit status is 1 when it finds drift."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--check", action="store_true", help="report drift without repairing it"
        )
        parser.add_argument("--batch-size", type=int, default=50_000)

    def handle(self, *args, check, batch_size, **options):
        started = time.monotonic()
        drift = activity_rebuild(fix=not check, batch_size=batch_size)
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"{drift.checked} contacts checked in {elapsed:.1f} s, {drift.drifted} drifted"
            + (" (not repaired: --check)" if check and drift.drifted else "")
            + (" (repaired)" if not check and drift.drifted else "")
        )
        for name, count in sorted(drift.by_field.items()):
            self.stdout.write(f"  {name}: {count}")
        if drift.examples:
            self.stdout.write("  e.g. contacts " + ", ".join(map(str, drift.examples)))
        if check and drift.drifted:
            raise SystemExit(1)
