"""The webhook health panel of the Zoom Home tab (rule B4): last event, counts by type over 24 h
and in total, deliveries waiting or failed, refused deliveries with their reason; an empty state
that says what to do; read-only for every role; a constant number of queries. Webhooks are
posted signed through the real receiver, as Zoom would (the `post()` helper of
test_webhooks.py); accepted ones are not applied here (no commit), so they stay `received`
unless a test sets the outcome processing would have given them."""

import datetime as dt
import html as html_lib
import json
import re
import time

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from crm.models import Brand, Role
from tests.factories import UserFactory
from tests.zoom_integration.test_webhooks import SECRET, post
from zoom_integration.models import ConnectionStatus, WebhookDelivery, ZoomConnection

pytestmark = pytest.mark.django_db

EMPTY_TEXT = (
    "No webhook received yet — in your Zoom app's Feature > Event subscriptions, set this URL "
    "and the secret token; Zoom validates it at once."
)


@pytest.fixture(autouse=True)
def _no_cached_rejections():
    # Refused deliveries live in the cache (locmem in tests), not in the rolled-back database.
    cache.clear()
    yield
    cache.clear()


def make_connection(name="Acme", primary=True, account="acct-health"):
    return ZoomConnection.objects.create(
        brand=Brand.objects.create(name=name, is_primary=primary),
        kind="s2s",
        status=ConnectionStatus.CONNECTED,
        zoom_account_id=account,
        client_id="cid",
        client_secret="secret",
        webhook_secret_token=SECRET,
        connected_user_email="owner@acme.test",
        connected_at=timezone.now() - dt.timedelta(days=1),
        sync_webinar_data=True,
    )


@pytest.fixture
def connection(db):
    return make_connection()


@pytest.fixture
def viewer_client(client):
    client.force_login(UserFactory(role=Role.VIEWER))
    return client


def envelope(event: str, n: int, account: str = "acct-health") -> dict:
    return {
        "event": event,
        "event_ts": 1_700_000_000_000 + n,
        "payload": {"account_id": account, "object": {"id": str(84_000_000_000 + n)}},
    }


def fragment_url(connection) -> str:
    return reverse("zoom_integration:webhook_health", args=[connection.pk])


def text_of(response) -> str:
    assert response.status_code == 200
    return html_lib.unescape(response.content.decode())


def counts_by_type(html: str) -> dict[str, tuple[int, int]]:
    rows = re.findall(
        r'<tr data-event="([^"]+)">.*?data-col="recent">(\d+)<.*?data-col="total">(\d+)<',
        html,
        re.S,
    )
    return {event: (int(recent), int(total)) for event, recent, total in rows}


def deliver(client, connection, events: list[str]) -> None:
    for n, event in enumerate(events):
        response = post(client, connection, envelope(event, n, connection.zoom_account_id))
        assert response.status_code == 200 and response.json() == {"status": "accepted"}


def test_panel_shows_last_event_counts_by_type_and_refusals(client, connection, viewer_client):
    deliver(
        client,
        connection,
        [
            "webinar.registration_created",
            "webinar.registration_created",
            "webinar.participant_joined",
            "webinar.participant_joined",
            "webinar.participant_joined",
            "webinar.participant_left",
            "webinar.started",
        ],
    )
    # One join arrived two days ago: it counts in the total, not in the last 24 hours.
    oldest_join = WebhookDelivery.objects.filter(event="webinar.participant_joined").earliest("id")
    WebhookDelivery.objects.filter(pk=oldest_join.pk).update(
        received_at=timezone.now() - dt.timedelta(days=2)
    )
    # Refused deliveries: a wrong secret token, a stale timestamp, a body that is not an event.
    assert (
        post(client, connection, envelope("webinar.ended", 90), secret="wrong").status_code == 401
    )
    stale = str(int(time.time()) - 600)
    assert (
        post(client, connection, envelope("webinar.ended", 91), timestamp=stale).status_code == 401
    )
    assert post(client, connection, None, raw=b"{not json").status_code == 400
    assert WebhookDelivery.objects.count() == 7  # refused ones stored nothing

    html = text_of(viewer_client.get(fragment_url(connection)))

    assert counts_by_type(html) == {
        "webinar.participant_joined": (2, 3),
        "webinar.registration_created": (2, 2),
        "webinar.participant_left": (1, 1),
        "webinar.started": (1, 1),
    }
    totals = re.search(r'data-testid="webhook-totals">\s*(.*?)\s*</dd>', html, re.S).group(1)
    assert totals == "6 in the last 24 hours · 7 in total"
    assert re.search(r'data-testid="webhook-last-event">webinar\.started<', html)
    assert re.search(r'data-testid="webhook-last-status">Received<', html)
    # Refusals, newest first, with the reason in plain words and the HTTP status answered.
    refused = re.findall(
        r'<tr data-reason="(\w+)">.*?<td>([^<]+)</td>.*?data-col="status">(\d+)<', html, re.S
    )
    assert refused == [
        ("malformed_body", "Malformed body", "400"),
        ("stale_timestamp", "Stale timestamp (older than 5 minutes)", "401"),
        ("bad_signature", "Bad signature (wrong secret token)", "401"),
    ]
    assert "Bad signature (wrong secret token): 1" in html
    assert "3 refused recently" in html
    assert 'data-testid="webhook-health-empty"' not in html
    assert "None" in re.search(r'data-testid="webhook-problem-counts">(.*?)</dd>', html, re.S)[1]


def test_waiting_and_failed_deliveries_show_their_outcome(client, connection, viewer_client):
    deliver(
        client,
        connection,
        ["webinar.participant_joined", "webinar.participant_left", "webinar.ended"],
    )
    joined, left, ended = WebhookDelivery.objects.order_by("id")
    WebhookDelivery.objects.filter(pk=joined.pk).update(status="applied")
    WebhookDelivery.objects.filter(pk=left.pk).update(
        status="waiting", outcome="waiting for the participant's join"
    )
    WebhookDelivery.objects.filter(pk=ended.pk).update(
        status="failed", outcome="Zoom answered 503 while fetching the webinar"
    )

    html = text_of(viewer_client.get(fragment_url(connection)))

    assert "1 waiting for an earlier event" in html and "1 failed" in html
    rows = re.findall(
        r'<tr data-delivery="\d+" data-status="(\w+)">.*?class="mono">([\w.]+)<.*?'
        r'<td class="small">([^<]+)</td>',
        html,
        re.S,
    )
    assert rows == [
        ("failed", "webinar.ended", "Zoom answered 503 while fetching the webinar"),
        ("waiting", "webinar.participant_left", "waiting for the participant's join"),
    ]
    assert re.search(r'data-testid="webhook-last-status">Failed<', html)
    assert (
        "Zoom answered 503 while fetching the webinar"
        in re.search(r'data-testid="webhook-last">(.*?)</dd>', html, re.S)[1]
    )
    assert 'data-testid="webhook-no-rejections"' in html


def test_empty_state_says_what_to_do(connection, viewer_client):
    html = text_of(viewer_client.get(fragment_url(connection)))
    assert 'data-testid="webhook-health-empty"' in html
    assert EMPTY_TEXT in html
    assert connection.webhook_url in html
    assert 'data-testid="webhook-counts"' not in html


def test_only_refused_deliveries_are_not_the_empty_state(client, connection, viewer_client):
    post(client, connection, envelope("webinar.started", 1), secret="wrong")
    html = text_of(viewer_client.get(fragment_url(connection)))
    assert 'data-testid="webhook-health-empty"' not in html
    assert "None accepted yet" in html
    assert "Bad signature (wrong secret token)" in html
    assert "0 in the last 24 hours · 0 in total" in html


def test_refusals_of_another_connection_are_not_shown(client, connection, viewer_client):
    other = make_connection("Beta", primary=False, account="acct-beta")
    post(client, other, envelope("webinar.started", 1), secret="wrong")
    deliver(client, other, ["webinar.started"])
    html = text_of(viewer_client.get(fragment_url(connection)))
    assert EMPTY_TEXT in html


@pytest.mark.parametrize("role", [Role.SUPER_ADMIN, Role.MARKETING, Role.VIEWER])
def test_home_tab_loads_the_panel_for_every_role(client, connection, role):
    client.force_login(UserFactory(role=role))
    url = reverse("zoom_integration:settings") + f"?brand={connection.brand_id}&tab=home"
    html = text_of(client.get(url))
    panel = html[html.index('id="webhook-health"') :]
    panel = panel[: panel.index("</section>")]
    # An empty shell that loads the fragment at once, then every 5 s.
    assert f'hx-get="{fragment_url(connection)}"' in panel
    assert 'hx-trigger="load, every 5s"' in panel and 'hx-swap="outerHTML"' in panel
    assert 'data-testid="webhook-health-loading"' in panel
    # Below the connection details, which still show the webhook URL.
    assert html.index('data-testid="connection-card"') < html.index('id="webhook-health"')
    assert f'value="{connection.webhook_url}"' in html
    # Read-only: nothing in the panel writes.
    assert "hx-post" not in panel and "<form" not in panel and "<button" not in panel


def test_fragment_keeps_polling_every_5_seconds(client, connection, viewer_client):
    deliver(client, connection, ["webinar.started"])
    response = viewer_client.get(fragment_url(connection), HTTP_HX_REQUEST="true")
    html = text_of(response)
    assert html.lstrip().startswith("<section") and "<html" not in html
    assert 'hx-trigger="every 5s"' in html and 'hx-swap="outerHTML"' in html
    assert f'hx-get="{fragment_url(connection)}"' in html
    assert 'data-testid="webhook-health-loading"' not in html


def test_fragment_access(client, connection):
    assert client.get(fragment_url(connection)).status_code == 302  # to the login form
    client.force_login(UserFactory(role=Role.VIEWER))
    missing = reverse("zoom_integration:webhook_health", args=[connection.pk + 100])
    assert client.get(missing).status_code == 404


@pytest.mark.parametrize("deliveries", [3, 120])
def test_query_count_does_not_grow_with_deliveries(
    client, connection, viewer_client, deliveries, django_assert_num_queries
):
    now = timezone.now()
    kinds = ["webinar.participant_joined", "webinar.participant_left", "webinar.started"]
    statuses = ["applied", "waiting", "failed", "received"]
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            connection=connection,
            delivery_key=f"key-{n}",
            event=kinds[n % len(kinds)],
            event_ts=n,
            payload={"object": {"id": str(n)}, "padding": "x" * 200},
            received_at=now - dt.timedelta(hours=n),
            status=statuses[n % len(statuses)],
            outcome=f"outcome {n}",
        )
        for n in range(deliveries)
    )
    for n in range(min(deliveries, 60)):
        post(client, connection, None, raw=json.dumps({"n": n}).encode(), secret="wrong")
    # Session, user, connection, grouped counts, last delivery, waiting/failed rows.
    with django_assert_num_queries(6):
        html = text_of(viewer_client.get(fragment_url(connection)))
    assert sum(total for _recent, total in counts_by_type(html).values()) == deliveries
    shown = len(re.findall(r'<tr data-reason="bad_signature">', html))
    assert shown == min(deliveries, 10)  # the newest ten refusals are listed


def test_ignored_delivery_outcome_is_in_plain_words(client, connection, viewer_client):
    ZoomConnection.objects.filter(pk=connection.pk).update(sync_webinar_data=False)  # rule S1
    response = post(client, connection, envelope("webinar.participant_joined", 1))
    assert response.json() == {"status": "ignored", "reason": "sync_disabled"}
    html = text_of(viewer_client.get(fragment_url(connection)))
    assert re.search(r'data-testid="webhook-last-status">Ignored<', html)
    assert re.search(r'data-testid="webhook-last-outcome">Ignored: Sync webinar data is off<', html)
