"""The Zoom integration's alerts (issue 22, item 3) at the places they come from, against the
sandbox over real HTTP: a connection that needs re-authorization, a failed run, scheduled runs
failing in a row, webhooks refused at a high rate. Each is raised once on the first failure and
e-mailed once to each super admin (in their language, rule L1), a repeat sends nothing new, it
is cleared when the problem ends and raised anew (and e-mailed) when it comes back."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from crm.models import Alert, Brand, Notification, Role
from tests.factories import UserFactory
from tests.zoom_integration.scenario import ACME, S2S, acme_account
from zoom_integration.alerts import check_webhook_refusals
from zoom_integration.client import ZoomAuthError
from zoom_integration.models import SyncRun, SyncTrigger, ZoomConnection
from zoom_integration.services.client import connection_mark_needs_reauth
from zoom_integration.services.connections import (
    connection_create_s2s,
    connection_disconnect,
    connection_settings_update,
)
from zoom_integration.services.sync import sync_run_execute, sync_run_request

pytestmark = pytest.mark.django_db

ADMINS = ["ana@crm.test", "bruno@crm.test"]


@pytest.fixture
def admins(db):
    UserFactory(email="ana@crm.test", role=Role.SUPER_ADMIN)
    UserFactory(email="bruno@crm.test", role=Role.SUPER_ADMIN, language="pt-br")
    UserFactory(email="marketer@crm.test", role=Role.MARKETING)


@pytest.fixture
def acme(admins, zoom_sandbox, django_capture_on_commit_callbacks):
    brand = Brand.objects.create(name="Acme", is_primary=True)
    with django_capture_on_commit_callbacks(execute=True):
        connection = connection_create_s2s(brand=brand, account_id=ACME, **S2S)
    connection_settings_update(connection=connection, sync_webinar_data=True)
    mail.outbox.clear()
    return connection


def sync(connection, capture, trigger=SyncTrigger.MANUAL) -> SyncRun:
    with capture(execute=True):
        run = sync_run_request(
            connection=ZoomConnection.objects.get(pk=connection.pk), trigger=trigger
        )
        return sync_run_execute(run_id=run.pk)


def set_client_secret(zoom_sandbox, settings, secret: str) -> None:
    """Replaces the Acme account's S2S secret at Zoom: its tokens die with it."""
    account = acme_account(settings.PUBLIC_BASE_URL)
    for app in account["apps"]:
        if app["type"] == "s2s":
            app["client_secret"] = secret
    zoom_sandbox.post("/_sandbox/accounts", json=account).raise_for_status()


def open_alerts() -> list[tuple[str, str]]:
    return sorted(Alert.objects.filter(resolved_at__isnull=True).values_list("key", "kind"))


def sent() -> list[tuple[str, str]]:
    """(recipient, subject) of the e-mails sent so far, then forgets them."""
    rows = sorted((m.to[0], m.subject) for m in mail.outbox)
    mail.outbox.clear()
    return rows


def test_needs_reauthorization_and_a_failed_run(
    acme, zoom_sandbox, settings, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    set_client_secret(zoom_sandbox, settings, "rotated-by-someone")

    run = sync(acme, capture)

    assert run.status == "failed"
    assert ZoomConnection.objects.get(pk=acme.pk).status == "needs_reauth"
    reauth, failed = f"connection:{acme.pk}:needs_reauth", f"connection:{acme.pk}:sync_failed"
    assert open_alerts() == [
        (reauth, "zoom.connection_needs_reauth"),
        (failed, "zoom.sync_failed"),
    ]
    assert sent() == [
        ("ana@crm.test", "[CRM alert] A Zoom sync of Acme failed"),
        ("ana@crm.test", "[CRM alert] Zoom connection of Acme needs re-authorization"),
        ("bruno@crm.test", "[Alerta do CRM] A conexão Zoom de Acme precisa de nova autorização"),
        ("bruno@crm.test", "[Alerta do CRM] Uma sincronização do Zoom de Acme falhou"),
    ]
    alert = Alert.objects.get(key=failed)
    assert alert.params["cause"] == "auth"
    assert alert.link == f"/integrations/zoom/sync-runs/{run.pk}/"
    assert Notification.objects.filter(recipient__email="marketer@crm.test").count() == 0

    # Seen again while open: counted, nothing sent.
    with capture(execute=True):
        connection_mark_needs_reauth(
            connection_id=acme.pk, failure=ZoomAuthError("refused again", reason="invalid_client")
        )
    assert Alert.objects.get(key=reauth).occurrences == 2
    assert sent() == []
    assert Notification.objects.count() == 4

    # Re-authorized with the new secret: the first is cleared; the next good run clears the other.
    with capture(execute=True):
        connection_create_s2s(
            brand=acme.brand, account_id=ACME, client_id=S2S["client_id"],
            client_secret="rotated-by-someone",
        )  # fmt: skip
    assert open_alerts() == [(failed, "zoom.sync_failed")]
    assert sync(acme, capture).status == "succeeded"
    assert open_alerts() == []
    assert sent() == []

    # It comes back: new alerts, new e-mails.
    set_client_secret(zoom_sandbox, settings, "rotated-again")
    assert sync(acme, capture).status == "failed"
    assert len(open_alerts()) == 2
    assert Alert.objects.filter(key=reauth).count() == 2
    assert len(sent()) == 4


def test_scheduled_runs_failing_in_a_row(
    acme, zoom_sandbox, settings, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    settings.ALERT_FAILED_RUNS_IN_A_ROW = 3
    failing, failed = f"connection:{acme.pk}:sync_failing", f"connection:{acme.pk}:sync_failed"
    rule = {"path": "^/v2/users", "status": 400, "times": 10_000}
    zoom_sandbox.post("/_sandbox/faults", json={"rules": [rule]}).raise_for_status()

    runs = [sync(acme, capture, SyncTrigger.SCHEDULED) for _ in range(2)]
    assert [run.status for run in runs] == ["failed", "failed"]
    assert open_alerts() == [(failed, "zoom.sync_failed")]
    assert len(sent()) == 2  # the failed run's alert, to each super admin, once

    # A manual run in between does not count as a scheduled one.
    assert sync(acme, capture).status == "failed"
    assert open_alerts() == [(failed, "zoom.sync_failed")]

    third = sync(acme, capture, SyncTrigger.SCHEDULED)
    assert open_alerts() == [
        (failed, "zoom.sync_failed"),
        (failing, "zoom.sync_failing_repeatedly"),
    ]
    assert sent() == [
        ("ana@crm.test", "[CRM alert] Scheduled Zoom syncs of Acme keep failing"),
        (
            "bruno@crm.test",
            "[Alerta do CRM] As sincronizações agendadas do Zoom de Acme continuam falhando",
        ),
    ]
    alert = Alert.objects.get(key=failing)
    assert (alert.params["count"], alert.params["run"], alert.params["cause"]) == (
        3,
        third.pk,
        "zoom",
    )

    sync(acme, capture, SyncTrigger.SCHEDULED)
    assert Alert.objects.get(key=failing).occurrences == 2
    assert sent() == []

    zoom_sandbox.delete("/_sandbox/faults").raise_for_status()
    assert sync(acme, capture, SyncTrigger.SCHEDULED).status == "succeeded"
    assert open_alerts() == []

    zoom_sandbox.post("/_sandbox/faults", json={"rules": [rule]}).raise_for_status()
    for _ in range(3):
        sync(acme, capture, SyncTrigger.SCHEDULED)
    assert Alert.objects.filter(key=failing).count() == 2
    assert len(sent()) == 4  # failed again + failing again, to each


def refuse(client, connection_id: int, n: int) -> None:
    for _ in range(n):
        response = client.post(
            f"/integrations/zoom/webhooks/{connection_id}/",
            data=b'{"event": "webinar.registration_created", "payload": {}}',
            content_type="application/json",
            HTTP_X_ZM_SIGNATURE="v0=forged",
            HTTP_X_ZM_REQUEST_TIMESTAMP=str(int(timezone.now().timestamp())),
        )
        assert response.status_code == 401


def test_webhooks_refused_at_a_high_rate(
    acme, client, settings, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    settings.ALERT_WEBHOOK_REFUSALS = 20
    key = f"connection:{acme.pk}:webhook_refusals"
    refuse(client, acme.pk, 19)
    with capture(execute=True):
        assert check_webhook_refusals() == []
    assert open_alerts() == []

    refuse(client, acme.pk, 1)
    with capture(execute=True):
        assert check_webhook_refusals() == [acme.pk]
    assert open_alerts() == [(key, "zoom.webhook_refusals")]
    assert "The secret token in your Zoom app's Feature > Event subscriptions differs" in next(
        m.body for m in mail.outbox if m.to == ["ana@crm.test"]
    )
    assert sent() == [
        ("ana@crm.test", "[CRM alert] Zoom webhooks of Acme are being refused"),
        ("bruno@crm.test", "[Alerta do CRM] Os webhooks do Zoom de Acme estão sendo recusados"),
    ]
    alert = Alert.objects.get(key=key)
    assert (alert.params["count"], alert.params["reason"]) == (20, "bad_signature")

    with capture(execute=True):
        check_webhook_refusals()
    assert Alert.objects.get(key=key).occurrences == 2
    assert sent() == []

    # Ten minutes later the rate has dropped: cleared.
    with capture(execute=True):
        check_webhook_refusals(now=timezone.now() + dt.timedelta(minutes=11))
    assert open_alerts() == []

    # Still refused: the latest 20 are within the window again, so it is back.
    refuse(client, acme.pk, 20)
    with capture(execute=True):
        check_webhook_refusals()
    assert Alert.objects.filter(key=key).count() == 2
    assert len(sent()) == 2


def test_disconnecting_clears_the_connections_alerts(
    acme, zoom_sandbox, settings, django_capture_on_commit_callbacks
):
    set_client_secret(zoom_sandbox, settings, "rotated-by-someone")
    sync(acme, django_capture_on_commit_callbacks)
    assert len(open_alerts()) == 2
    connection_disconnect(connection=ZoomConnection.objects.get(pk=acme.pk))
    assert open_alerts() == []


def test_a_refusal_reads_in_the_readers_language_around_zooms_own_words(
    acme, zoom_sandbox, settings, client, django_capture_on_commit_callbacks
):
    # rule L1: the worker stores message ids; Zoom's reason is quoted as Zoom gave it
    reader = UserFactory(email="claire@crm.test", role=Role.SUPER_ADMIN, language="fr")
    set_client_secret(zoom_sandbox, settings, "rotated")
    run = sync(acme, django_capture_on_commit_callbacks)
    assert run.status == "failed"
    client.force_login(reader)
    page = client.get("/notifications/").content.decode().replace("\xa0", " ")
    assert "Zoom a refusé les identifiants : Invalid client_id or client_secret" in page
    assert "Zoom refused" not in page
    run_page = client.get(f"/integrations/zoom/sync-runs/{run.pk}/").content.decode()
    assert "Zoom refused" not in run_page
