"""Connects the primary brand to the Zoom sandbox's first account (demo only). Reads the
sandbox's S2S credentials from its control surface over HTTP; idempotent."""

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from crm.errors import ApplicationError
from crm.models import Brand
from zoom_integration.models import ConnectionStatus, ZoomConnection
from zoom_integration.services.connections import connection_create_s2s


class Command(BaseCommand):
    help = "Connects the primary brand to the Zoom sandbox's first account (for the demo)."

    def add_arguments(self, parser):
        parser.add_argument("--sandbox-url", default=settings.ZOOM_OAUTH_BASE_URL)

    def handle(self, *args, sandbox_url: str, **options):
        brand = Brand.objects.filter(is_primary=True).first()
        if brand is None:
            raise CommandError("No primary brand: run `manage.py seed_demo` first.")
        try:
            state = requests.get(f"{sandbox_url.rstrip('/')}/_sandbox/state", timeout=10).json()
        except (requests.RequestException, ValueError) as exc:
            raise CommandError(f"The Zoom sandbox at {sandbox_url} did not answer: {exc}")
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
            timeout=10,
        )
        if response.status_code >= 400:
            raise CommandError(f"The sandbox refused the webhook URL: {response.text[:200]}")
        self.stdout.write(f"Sandbox webhooks go to {connection.webhook_url}")
