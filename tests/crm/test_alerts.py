"""Alerts and their notifications (issue 22, item 3): one open alert per key, one notification
per super admin and one e-mail per super admin who wants it when it opens, nothing new while it
stays open, resolved by a clear, opened anew after one. Texts are written in the reader's
language when shown (rule L1)."""

import threading

import pytest
from django.core import mail
from django.db import connection as db_connection
from django.db import connections
from django.utils import translation

from crm.alerts import alert_text
from crm.models import Alert, Notification, Role
from crm.services import alerts as alert_services
from crm.services.alerts import (
    alert_clear,
    alert_raise,
    notification_create,
    notification_mark_read,
    notifications_mark_all_read,
)
from tests.factories import UserFactory
from zoom_integration.alerts import NEEDS_REAUTH, SYNC_FAILED

pytestmark = pytest.mark.django_db

KEY = "connection:7:needs_reauth"
PARAMS = {"brand": "Acme", "reason": "Invalid client_id or client_secret"}


@pytest.fixture
def admins(db):
    return [
        UserFactory(email="ana@crm.test", role=Role.SUPER_ADMIN),
        UserFactory(email="bruno@crm.test", role=Role.SUPER_ADMIN, language="pt-br"),
    ]


@pytest.fixture
def others(db):
    return [
        UserFactory(email="marketer@crm.test", role=Role.MARKETING),
        UserFactory(email="viewer@crm.test", role=Role.VIEWER),
        UserFactory(email="gone@crm.test", role=Role.SUPER_ADMIN, is_active=False),
    ]


def raise_it(capture, **overrides):
    values = {"key": KEY, "kind": NEEDS_REAUTH, "params": PARAMS, "link": "/integrations/zoom/"}
    with capture(execute=True):
        return alert_raise(**{**values, **overrides})


def test_first_raise_opens_notifies_and_emails_each_super_admin_once(
    admins, others, django_capture_on_commit_callbacks
):
    alert, opened = raise_it(django_capture_on_commit_callbacks)

    assert opened is True
    assert (alert.key, alert.kind, alert.params, alert.occurrences) == (
        KEY,
        NEEDS_REAUTH,
        PARAMS,
        1,
    )
    assert alert.resolved_at is None
    assert sorted(Notification.objects.values_list("recipient__email", "alert_id", "read_at")) == [
        ("ana@crm.test", alert.pk, None),
        ("bruno@crm.test", alert.pk, None),
    ]
    assert sorted(m.to[0] for m in mail.outbox) == ["ana@crm.test", "bruno@crm.test"]
    by_recipient = {m.to[0]: m for m in mail.outbox}
    # Each in the recipient's language (rule L1): Ana follows the default, Bruno pt-BR.
    assert by_recipient["ana@crm.test"].subject == (
        "[CRM alert] Zoom connection of Acme needs re-authorization"
    )
    assert by_recipient["bruno@crm.test"].subject == (
        "[Alerta do CRM] A conexão Zoom de Acme precisa de nova autorização"
    )
    body = by_recipient["ana@crm.test"].body
    assert "Zoom refused the connection's credentials (Invalid client_id or client_secret)" in body
    assert "How to fix: Open Settings > Integrations > Zoom for this brand" in body
    assert "Since: " in body
    assert "http://127.0.0.1:8000/integrations/zoom/" in body


def test_a_raise_while_open_only_counts_it(admins, django_capture_on_commit_callbacks):
    first, _ = raise_it(django_capture_on_commit_callbacks)
    mail.outbox.clear()

    again, opened = raise_it(
        django_capture_on_commit_callbacks, params={**PARAMS, "reason": "Still refused"}
    )

    assert opened is False
    assert again.pk == first.pk
    assert again.occurrences == 2
    assert again.params["reason"] == "Still refused"
    assert again.last_seen_at > first.last_seen_at
    assert again.first_seen_at == first.first_seen_at
    assert Alert.objects.count() == 1
    assert Notification.objects.count() == 2
    assert mail.outbox == []


def test_clear_resolves_it_and_a_later_raise_is_a_new_alert(
    admins, django_capture_on_commit_callbacks
):
    first, _ = raise_it(django_capture_on_commit_callbacks)
    assert alert_clear(key=KEY) is True
    assert alert_clear(key=KEY) is False  # idempotent
    first.refresh_from_db()
    assert first.resolved_at is not None
    # The notifications stay, pointing at the resolved alert.
    assert set(Notification.objects.values_list("alert_id", flat=True)) == {first.pk}
    mail.outbox.clear()

    second, opened = raise_it(django_capture_on_commit_callbacks)

    assert opened is True
    assert second.pk != first.pk
    assert Notification.objects.filter(alert=second).count() == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["ana@crm.test", "bruno@crm.test"]


def test_e_mail_off_keeps_the_notification_and_sends_nothing(
    admins, django_capture_on_commit_callbacks
):
    ana, bruno = admins
    ana.alert_emails = False
    ana.save()

    alert, _ = raise_it(django_capture_on_commit_callbacks)

    assert [m.to for m in mail.outbox] == [["bruno@crm.test"]]
    assert Notification.objects.filter(recipient=ana, alert=alert).count() == 1


def test_nothing_is_sent_when_no_super_admin_exists(others, django_capture_on_commit_callbacks):
    alert, opened = raise_it(django_capture_on_commit_callbacks)
    assert opened is True
    assert Notification.objects.count() == 0
    assert mail.outbox == []


def test_texts_are_written_in_the_readers_language():  # rule L1
    params = {"brand": "Acme", "run": 12, "error": "boom", "cause": "auth"}
    with translation.override("fr"):
        text = alert_text(SYNC_FAILED, params)
    assert text.title == "Une synchronisation Zoom de Acme a échoué"
    assert text.description == "La synchronisation nº 12 a échoué\u00a0: boom"
    assert text.hint.startswith("Ouvrez Paramètres > Intégrations > Zoom")
    with translation.override("en"):
        assert alert_text(SYNC_FAILED, params).hint.startswith("Open Settings > Integrations")
    # A param the stored alert lacks reads "?"; an unknown kind still shows.
    assert alert_text(SYNC_FAILED, {}).description == "Sync run ? failed: ?"
    assert alert_text("gone.kind", {}).title == "Alert gone.kind"


def test_marking_read(admins, django_capture_on_commit_callbacks):
    ana, bruno = admins
    raise_it(django_capture_on_commit_callbacks)
    other = notification_create(recipient=ana, title="Call Maria", link="/contacts/1/")
    mine = Notification.objects.filter(recipient=ana).exclude(pk=other.pk).get()
    brunos = Notification.objects.get(recipient=bruno)

    assert notification_mark_read(recipient=ana, notification_id=brunos.pk) is False
    assert notification_mark_read(recipient=ana, notification_id=mine.pk) is True
    mine.refresh_from_db()
    first_read = mine.read_at
    assert first_read is not None
    assert notification_mark_read(recipient=ana, notification_id=mine.pk) is True
    mine.refresh_from_db()
    assert mine.read_at == first_read
    assert notifications_mark_all_read(recipient=ana) == 1
    assert Notification.objects.filter(recipient=ana, read_at__isnull=True).count() == 0
    assert Notification.objects.get(recipient=bruno).read_at is None


@pytest.mark.django_db(transaction=True)
def test_two_workers_raising_at_once_open_one_alert(admins, monkeypatch):
    """PostgreSQL: both transactions find no open alert, both insert; the partial unique
    constraint makes the second wait for the first, then count itself on its row."""
    if db_connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")
    barrier = threading.Barrier(2)
    results, errors = [], []
    seen = threading.local()
    original = alert_services._bump

    def bump_then_wait(*args):
        # Both look for an open alert and find none before either inserts.
        found = original(*args)
        if not getattr(seen, "waited", False):
            seen.waited = True
            barrier.wait(timeout=10)
        return found

    monkeypatch.setattr(alert_services, "_bump", bump_then_wait)

    def worker():
        try:
            results.append(alert_raise(key=KEY, kind=NEEDS_REAUTH, params=PARAMS)[1])
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert sorted(results) == [False, True]
    alert = Alert.objects.get()
    assert alert.occurrences == 2
    assert Notification.objects.count() == 2
