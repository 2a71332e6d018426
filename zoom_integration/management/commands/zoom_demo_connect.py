"""Connects the primary brand to the Zoom sandbox's first account (demo only). Reads the
sandbox's S2S credentials from its control surface over HTTP; idempotent. A sandbox started with
a control token is sent settings.ZOOM_SANDBOX_CONTROL_TOKEN with every control call."""

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from crm.errors import ApplicationError
from crm.models import AuditVia, Brand
from crm.services.audit import audit_channel
from zoom_integration.models import ConnectionStatus, ZoomConnection, ZoomPlan
from zoom_integration.services.connections import (
    connection_create_s2s,
    connection_settings_update,
)

# The sandbox's control-token header (zoom_sandbox/README.md); the CRM imports nothing from it.
CONTROL_TOKEN_HEADER = "X-Sandbox-Control-Token"


def _control_headers() -> dict[str, str]:
    token = settings.ZOOM_SANDBOX_CONTROL_TOKEN
    return {CONTROL_TOKEN_HEADER: token} if token else {}


class Command(BaseCommand):
    help = "Connects the primary brand to the Zoom sandbox's first account (for the demo)."

    def add_arguments(self, parser):
        parser.add_argument("--sandbox-url", default=settings.ZOOM_OAUTH_BASE_URL)

    def handle(self, *args, sandbox_url: str, **options):
        with audit_channel(via=AuditVia.COMMAND):
            self._connect(sandbox_url)

    def _connect(self, sandbox_url: str) -> None:
        brand = Brand.objects.filter(is_primary=True).first()
        if brand is None:
            raise CommandError("No primary brand: run `manage.py seed_demo` first.")
        try:
            response = requests.get(
                f"{sandbox_url.rstrip('/')}/_sandbox/state", headers=_control_headers(), timeout=10
            )
            state = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise CommandError(f"The Zoom sandbox at {sandbox_url} did not answer: {exc}")
        if response.status_code == 401:
            raise CommandError(
                f"The Zoom sandbox at {sandbox_url} refused its control call: set "
                "ZOOM_SANDBOX_CONTROL_TOKEN to the sandbox's control token."
            )
        self._seed_examples(state)
        existing = ZoomConnection.objects.filter(brand=brand).first()
        if existing is not None and existing.status == ConnectionStatus.CONNECTED:
            self._wire_webhooks(sandbox_url, existing)
            self.stdout.write(
                f"{brand.name} is already connected to Zoom account {existing.zoom_account_id}."
            )
            return
        account = next(iter(state.get("accounts") or []), None)
        app = next((a for a in (account or {}).get("apps", []) if a.get("type") == "s2s"), None)
        if app is None:
            raise CommandError("The sandbox has no account with a Server-to-Server app.")
        try:
            with transaction.atomic():
                connection = connection_create_s2s(
                    brand=brand,
                    account_id=account["id"],
                    client_id=app["client_id"],
                    client_secret=app["client_secret"],
                    webhook_secret_token=(account.get("webhook") or {}).get("secret_token", ""),
                )
            if account.get("plan") in ZoomPlan.values:  # the rate limits follow the plan
                connection_settings_update(connection=connection, zoom_plan=account["plan"])
        except ApplicationError as exc:
            raise CommandError(f"Connecting the sandbox failed: {exc.message}")
        self._wire_webhooks(sandbox_url, connection)
        self.stdout.write(
            f"Connected {brand.name} to sandbox Zoom account "
            f"{connection.zoom_account_id} as {connection.connected_user_email}."
        )

    def _wire_webhooks(self, sandbox_url: str, connection: ZoomConnection) -> None:
        """The sandbox sends this account's webhooks to the connection's receiver, signed with
        its secret token: live registrations and attendance reach the CRM within seconds."""
        response = requests.post(
            f"{sandbox_url.rstrip('/')}/_sandbox/accounts/{connection.zoom_account_id}/webhook",
            json={"url": connection.webhook_url, "secret_token": connection.webhook_secret_token},
            headers=_control_headers(),
            timeout=10,
        )
        if response.status_code >= 400:
            raise CommandError(f"The sandbox refused the webhook URL: {response.text[:200]}")
        self.stdout.write(f"Sandbox webhooks go to {connection.webhook_url}")

    def _seed_examples(self, state: dict) -> None:
        """Example segments and a workflow for the demo, created once (by name)."""
        from segments.models import Segment
        from segments.services import segment_create
        from workflows.models import Workflow
        from workflows.services import workflow_create, workflows_allowed

        examples = [
            (
                "Attended a Zoom webinar for 30+ minutes",
                {"or": [{"and": [{"type": "zoom_webinar_attendance",
                                  "duration": {"operator": "gte", "value": 1800}}]}]},
            ),
            (
                "Registered but never attended",
                {"or": [{"and": [{"type": "zoom_webinar_registration"},
                                 {"type": "zoom_webinar_attendance", "negate": True}]}]},
            ),
        ]  # fmt: skip
        for name, filters in examples:
            if not Segment.objects.filter(name=name).exists():
                segment_create(name=name, kind="active", filters=filters, actor=None)
        account = next(iter(state.get("accounts") or []), {})
        upcoming = sorted(
            (w for w in account.get("webinars", []) if w.get("start_time", "") > _now_iso()),
            key=lambda w: w.get("start_time", ""),
        )
        name = "Invite to the next webinar"
        if upcoming and workflows_allowed() and not Workflow.objects.filter(name=name).exists():
            workflow_create(
                name=name,
                trigger={"type": "manual"},
                actions=[
                    {"type": "zoom.add_contact_to_webinar", "webinar_id": str(upcoming[0]["id"])}
                ],
                enabled=True,
                actor=None,
            )


def _now_iso() -> str:
    from django.utils import timezone

    return timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ")
