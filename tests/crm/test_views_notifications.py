"""The bell and the notifications page (issue 22, item 3): the unread count in the top bar
(none when 0, an accessible label) at one indexed query per page, the list newest first with
unread ones highlighted, mark one or all read, the unread filter, pages, the empty state, each
item linking to what it is about; and the profile's "E-mail me about alerts" (super admins)."""

import pytest
from django.urls import reverse

from crm.models import Alert, Notification, Role
from crm.services.alerts import alert_clear, alert_raise, notification_create
from tests.factories import ContactFactory, UserFactory
from zoom_integration.alerts import NEEDS_REAUTH, SYNC_FAILED

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def raise_reauth(capture):
    with capture(execute=True):
        alert_raise(
            key="connection:3:needs_reauth",
            kind=NEEDS_REAUTH,
            params={"brand": "Acme", "reason": "Invalid client secret"},
            link="/integrations/zoom/?brand=3",
        )


def test_the_bell_has_no_count_at_zero_then_shows_the_unread(
    admin_client, admin_user, django_capture_on_commit_callbacks
):
    page = admin_client.get(reverse("crm:contact_list")).content.decode()
    assert 'data-testid="bell"' in page
    assert 'aria-label="Notifications"' in page
    assert 'data-testid="bell-count"' not in page

    raise_reauth(django_capture_on_commit_callbacks)
    notification_create(recipient=admin_user, title="Call Maria")

    page = admin_client.get(reverse("crm:contact_list")).content.decode()
    assert 'aria-label="Notifications: 2 unread"' in page
    assert 'data-testid="bell-count" aria-hidden="true">2</span>' in page


def test_the_bell_costs_one_query_per_page(
    admin_client, admin_user, django_assert_num_queries, django_capture_on_commit_callbacks
):
    ContactFactory.create_batch(3)
    url = reverse("crm:contact_list")
    admin_client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as before:
        admin_client.get(url)
    raise_reauth(django_capture_on_commit_callbacks)
    for n in range(5):
        notification_create(recipient=admin_user, title=f"n{n}")
    with CaptureQueriesContext(connection) as after:
        admin_client.get(url)
    bell = [q["sql"] for q in after.captured_queries if "crm_notification" in q["sql"]]
    assert len(bell) == 1
    assert len(after.captured_queries) == len(before.captured_queries)
    assert "COUNT(*)" in bell[0] and '"read_at" IS NULL' in bell[0]


def test_the_list_newest_first_unread_highlighted_with_links_and_hint(
    admin_client, admin_user, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    raise_reauth(django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        alert_raise(
            key="connection:3:sync_failed",
            kind=SYNC_FAILED,
            params={"brand": "Acme", "run": 9, "error": "Invalid token", "cause": "auth"},
            link="/integrations/zoom/sync-runs/9/",
        )
    alert_clear(key="connection:3:sync_failed")
    Notification.objects.filter(alert__key="connection:3:sync_failed").update(
        read_at=Alert.objects.get(key="connection:3:sync_failed").first_seen_at
    )

    with django_assert_max_num_queries(8):
        response = admin_client.get(reverse("crm:notifications"))
    page = response.content.decode()
    first = page.index("A Zoom sync of Acme failed")
    second = page.index("Zoom connection of Acme needs re-authorization")
    assert first < second  # newest first
    assert page.count("notification--unread") == 1
    assert 'href="/integrations/zoom/?brand=3"' in page
    assert 'href="/integrations/zoom/sync-runs/9/"' in page
    assert "Open Settings &gt; Integrations &gt; Zoom for this brand" in page  # the open one's hint
    assert page.count('data-testid="alert-hint"') == 1  # a resolved alert shows no hint
    assert "Resolved " in page
    assert "Since " in page


def test_mark_one_and_all_read_and_the_unread_filter(admin_client, admin_user, marketer):
    mine = [notification_create(recipient=admin_user, title=f"Mine {n}") for n in range(3)]
    theirs = notification_create(recipient=marketer, title="Theirs")

    response = admin_client.post(reverse("crm:notification_read", args=[mine[0].pk]))
    assert response.status_code == 302
    mine[0].refresh_from_db()
    assert mine[0].read_at is not None
    assert admin_client.post(reverse("crm:notification_read", args=[theirs.pk])).status_code == 404
    assert admin_client.get(reverse("crm:notification_read", args=[mine[1].pk])).status_code == 405

    page = admin_client.get(reverse("crm:notifications") + "?unread=1").content.decode()
    assert "Mine 1" in page and "Mine 2" in page
    assert "Mine 0" not in page and "Theirs" not in page

    admin_client.post(reverse("crm:notifications_read_all"))
    assert Notification.objects.filter(recipient=admin_user, read_at__isnull=True).count() == 0
    assert Notification.objects.get(pk=theirs.pk).read_at is None
    page = admin_client.get(reverse("crm:notifications") + "?unread=1").content.decode()
    assert "Nothing unread" in page


def test_pages_and_empty_state(admin_client, admin_user):
    page = admin_client.get(reverse("crm:notifications")).content.decode()
    assert "No notifications yet" in page
    for n in range(30):
        notification_create(recipient=admin_user, title=f"Item {n:02d}")
    first = admin_client.get(reverse("crm:notifications")).content.decode()
    second = admin_client.get(reverse("crm:notifications") + "?page=2").content.decode()
    assert first.count('data-testid="notification"') == 25
    assert second.count('data-testid="notification"') == 5
    assert "Item 29" in first and "Item 04" in second and "Item 05" in first


def test_only_super_admins_receive_alerts(client, django_capture_on_commit_callbacks):
    marketer = UserFactory(email="m@crm.test", role=Role.MARKETING)
    UserFactory(email="a@crm.test", role=Role.SUPER_ADMIN)
    raise_reauth(django_capture_on_commit_callbacks)
    client.force_login(marketer)
    page = client.get(reverse("crm:notifications")).content.decode()
    assert "No notifications yet" in page
    assert 'data-testid="bell-count"' not in page


def test_profile_turns_alert_e_mails_off(admin_client, admin_user, client, marketer):
    page = admin_client.get(reverse("crm:settings_profile")).content.decode()
    assert "E-mail me about alerts" in page
    assert 'name="alert_emails"' in page and "checked" in page
    response = admin_client.post(reverse("crm:settings_profile"), {"language": ""})
    assert response.status_code == 302
    admin_user.refresh_from_db()
    assert admin_user.alert_emails is False
    admin_client.post(reverse("crm:settings_profile"), {"language": "", "alert_emails": "on"})
    admin_user.refresh_from_db()
    assert admin_user.alert_emails is True

    # Others receive no alerts: no such setting for them.
    client.force_login(marketer)
    assert "alert_emails" not in client.get(reverse("crm:settings_profile")).content.decode()
