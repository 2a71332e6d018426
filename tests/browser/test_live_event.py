"""Live updates in a real browser (rule B4): a marketer keeps a live webinar's page open while
people join (written with `plan_apply`, as the webhooks write them) and sees the counters and
participants change without reloading, with the participants' filter kept across refreshes;
once the webinar is over the page stops polling. And the Zoom Home tab's webhook panel loads,
then shows deliveries as they arrive. Screenshots go to screenshots/live-*.png."""

import datetime as dt
import json
import re
import time
from pathlib import Path

import httpx
import pytest
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import Page, expect

from crm.models import Brand, Role
from marketing_events.models import MarketingEvent, Participation
from tests.factories import UserFactory
from tests.marketing_events.test_live_event import join, live_event
from tests.support.browser import log_in as _log_in
from tests.zoom_integration.test_webhooks import SECRET, independent_signature
from zoom_integration.models import ConnectionStatus, ZoomConnection

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
UPDATE_TIMEOUT = 10_000  # ms: the page polls every 3 s, the panel every 5 s

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / f"live-{name}.png"), full_page=True)


def _counter(page: Page, name: str):
    return page.locator(f'[data-counter="{name}"] .me-stat__value')


def test_live_event_page_updates_without_reloading(live_server, page: Page):
    UserFactory(email="marketer@crm.test", role=Role.MARKETING, first_name="Mia")
    event = live_event()
    join(event, "ana", registered=("bruno",))

    page.set_viewport_size({"width": 1280, "height": 900})
    _log_in(page, live_server, "marketer@crm.test")
    page.goto(f"{live_server.url}/marketing-events/{event.pk}/")
    expect(page.get_by_test_id("event-name")).to_have_text("Live launch")
    expect(page.get_by_test_id("live-indicator")).to_contain_text("Live")
    expect(page.get_by_test_id("badge-live-now")).to_be_visible()
    expect(page.locator("#event-live")).to_have_attribute("hx-trigger", "every 3s")
    expect(_counter(page, "registered")).to_have_text("2")
    expect(_counter(page, "attended")).to_have_text("1")
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads
    _shot(page, "01-event-live")

    # Carla joins while the page is open: the counter follows within a poll or two.
    join(event, "carla")
    expect(_counter(page, "attended")).to_have_text("2", timeout=UPDATE_TIMEOUT)
    expect(_counter(page, "registered")).to_have_text("3")
    table = page.get_by_test_id("participant-table")
    expect(table).to_contain_text("Carla Live")
    expect(page.locator('[data-step="attended"]')).to_have_attribute("data-count", "2")
    assert page.evaluate("window.__sameDocument") is True
    _shot(page, "02-event-updated")

    # Filter the participants to attendees; a refresh keeps the filter.
    page.get_by_test_id("participants").locator('[data-state="ATTENDED"].me-tabs__tab').click()
    expect(page).to_have_url(re.compile(r"[?&]state=ATTENDED"))
    expect(table.locator("tbody tr")).to_have_count(2)
    join(event, "davi")
    expect(_counter(page, "attended")).to_have_text("3", timeout=UPDATE_TIMEOUT)
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(table.locator('tbody tr[data-state="ATTENDED"]')).to_have_count(3)
    expect(page.locator('.me-tabs__tab.is-active[data-state="ATTENDED"]')).to_be_visible()
    expect(page).to_have_url(re.compile(r"[?&]state=ATTENDED"))
    assert page.evaluate("window.__sameDocument") is True

    # The webinar ends and its durations become final: the page says so and stops polling.
    Participation.objects.filter(event=event).update(provisional=False)
    MarketingEvent.objects.filter(pk=event.pk).update(
        ends_at=timezone.now() - dt.timedelta(seconds=1)
    )
    expect(page.get_by_test_id("live-indicator")).to_have_count(0, timeout=UPDATE_TIMEOUT)
    expect(page.locator("#event-live")).not_to_have_attribute("hx-trigger", "every 3s")
    expect(page.get_by_test_id("badge-ended")).to_be_visible()  # the header follows (OOB)
    expect(page.get_by_test_id("badge-live-now")).to_have_count(0)
    expect(table).not_to_contain_text("provisional")
    assert page.evaluate("window.__sameDocument") is True
    _shot(page, "03-event-ended")


def _post_webhook(live_server, connection, envelope, *, secret=SECRET) -> int:
    body = json.dumps(envelope, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    response = httpx.post(
        f"{live_server.url}/integrations/zoom/webhooks/{connection.pk}/",
        content=body,
        headers={
            "content-type": "application/json",
            "x-zm-request-timestamp": timestamp,
            "x-zm-signature": independent_signature(secret, timestamp, body),
        },
        trust_env=False,
    )
    return response.status_code


def test_webhook_health_panel_shows_deliveries_as_they_arrive(live_server, page: Page):
    cache.clear()  # refused deliveries are kept in the (process-wide) cache
    UserFactory(email="viewer@crm.test", role=Role.VIEWER, first_name="Vic")
    connection = ZoomConnection.objects.create(
        brand=Brand.objects.create(name="Acme", is_primary=True),
        kind="s2s",
        status=ConnectionStatus.CONNECTED,
        zoom_account_id="acct-live",
        client_id="cid",
        client_secret="secret",
        webhook_secret_token=SECRET,
        connected_user_email="owner@acme.test",
        connected_at=timezone.now() - dt.timedelta(days=1),
        # S1 off: accepted deliveries are stored as ignored and nothing calls Zoom.
        sync_webinar_data=False,
    )

    page.set_viewport_size({"width": 1280, "height": 900})
    _log_in(page, live_server, "viewer@crm.test")
    page.goto(f"{live_server.url}/integrations/zoom/?brand={connection.brand_id}&tab=home")
    panel = page.get_by_test_id("webhook-health")
    expect(panel.get_by_test_id("webhook-health-empty")).to_contain_text(
        "No webhook received yet — in your Zoom app's Feature > Event subscriptions"
    )

    event = {
        "event": "webinar.participant_joined",
        "event_ts": 1,
        "payload": {"account_id": "acct-live", "object": {}},  # rule Z10: its own account
    }
    assert _post_webhook(live_server, connection, event) == 200
    assert _post_webhook(live_server, connection, {**event, "event_ts": 2}, secret="bad") == 401
    expect(panel.get_by_test_id("webhook-last-event")).to_have_text(
        "webinar.participant_joined", timeout=UPDATE_TIMEOUT
    )
    expect(panel.get_by_test_id("webhook-last-status")).to_have_text("Ignored")
    expect(panel.get_by_test_id("webhook-last-outcome")).to_have_text(
        "Ignored: Sync webinar data is off"
    )
    expect(panel.get_by_test_id("webhook-rejections")).to_contain_text(
        "Bad signature (wrong secret token)"
    )
    expect(
        panel.locator('[data-event="webinar.participant_joined"] [data-col="total"]')
    ).to_have_text("1")
    _shot(page, "04-webhook-health")
