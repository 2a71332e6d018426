"""A sync end to end in a real browser, against the sandbox: an admin with a connected Acme
account presses "Sync now" on Settings > Integrations > Zoom, sees the run complete (Celery runs
eagerly in tests, so it completes during the request), opens the run page with its skips per
reason and fix hint (rule Z9), then follows the synced data: the "Ended launch" marketing event
with its chart and participants (rules M1-M3), and a participant's timeline (rule M4).
Screenshots go to screenshots/sync-*.png."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from crm.models import Brand, Role
from marketing_events.rules import FIX_HINTS
from tests.factories import UserFactory
from tests.support.browser import log_in as _log_in
from tests.zoom_integration.scenario import ACME, ENDED_ID, EVENTS_ID, S2S
from zoom_integration.models import SyncRun
from zoom_integration.services.connections import (
    connection_create_s2s,
    connection_settings_update,
)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")  # the sticky top bar stays on top in the shot
    page.screenshot(path=str(SCREENSHOTS / f"sync-{name}.png"), full_page=True)


def test_admin_syncs_and_follows_the_data(
    live_server, page: Page, zoom_sandbox, django_capture_on_commit_callbacks
):
    brand = Brand.objects.create(name="Acme", is_primary=True)
    admin = UserFactory(email="admin@crm.test", role=Role.SUPER_ADMIN, first_name="Ada")
    with django_capture_on_commit_callbacks(execute=True):
        connection = connection_create_s2s(brand=brand, account_id=ACME, actor=admin, **S2S)
    connection_settings_update(connection=connection, sync_webinar_data=True)

    page.set_viewport_size({"width": 1280, "height": 900})
    _log_in(page, live_server, "admin@crm.test")

    # Settings > Integrations > Connected apps > Zoom: no run yet.
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="Connected apps").click()
    page.get_by_test_id("open-zoom").click()
    expect(page.get_by_test_id("connection-status").first).to_have_text("Connected")
    expect(page.get_by_test_id("no-runs")).to_contain_text("No sync has run yet")

    # Sync now: with eager Celery the run is over when the page comes back.
    page.get_by_test_id("sync-now").click()
    run = SyncRun.objects.get(connection=connection)
    expect(page.locator(".flash--success")).to_have_text(f"Sync #{run.pk} started.")
    row = page.locator(f'[data-run="{run.pk}"]')
    expect(row.locator(".run-status")).to_have_text("Succeeded")
    expect(row.get_by_test_id("run-progress")).to_have_attribute("aria-valuenow", "100")
    expect(row.get_by_test_id("run-percent")).to_have_text("100%")
    expect(row).to_contain_text("2 attendance rows")
    expect(row).to_contain_text("1 skipped")
    bar = row.locator(".progress__bar").bounding_box()
    track = row.get_by_test_id("run-progress").bounding_box()
    assert bar and track and bar["width"] == pytest.approx(track["width"], abs=1)
    expect(page.locator("#sync-runs")).not_to_have_attribute("hx-trigger", "every 2s")
    _shot(page, "01-home-after-sync")

    # The run page: status, full progress, counts in words, the Zoom Events skip with its hint.
    row.get_by_test_id("run-link").click()
    expect(page).to_have_url(re.compile(rf"/integrations/zoom/sync-runs/{run.pk}/$"))
    expect(page.get_by_test_id("run-title")).to_have_text(f"Sync run #{run.pk}")
    expect(page.get_by_test_id("run-status")).to_have_text("Succeeded")
    expect(page.get_by_test_id("run-progress")).to_have_attribute("aria-valuenow", "100")
    expect(page.get_by_test_id("run-percent")).to_have_text("100%")
    expect(page.get_by_test_id("run-requested-by")).to_contain_text("admin@crm.test")
    counts = page.get_by_test_id("run-counts")
    expect(counts).to_have_text(
        # The run's refresh lists 3 webinars: the past one was found by the refresh at connect
        # time, and the next refresh looks back only from then (a settings save no longer puts
        # back the stale, empty metadata_refreshed_at that made it look back 6 months again).
        "3 Zoom users, 3 webinars, 0 new webinars, 3 registrations, 2 attendance rows, "
        "3 contacts created, 3 webinars synced, 1 webinar skipped, 5 records read from Zoom."
    )
    expect(page.get_by_test_id("run-live")).not_to_have_attribute("hx-trigger", "every 2s")
    skip_sections = page.get_by_test_id("skip-section")
    expect(skip_sections).to_have_count(1)
    zoom_events = page.locator('[data-reason="zoom_events"]')
    expect(zoom_events.get_by_test_id("skip-title")).to_have_text("Zoom Events webinars")
    expect(zoom_events.get_by_test_id("skip-count")).to_have_text("1")
    expect(zoom_events.get_by_test_id("skip-hint")).to_have_text(
        "How to fix: " + FIX_HINTS["zoom_events"]
    )
    expect(zoom_events.locator("tbody tr")).to_have_count(1)
    expect(zoom_events.locator("tbody tr td").last).to_have_text(str(EVENTS_ID))
    _shot(page, "02-run")

    # Marketing events > Ended launch: counters, the chart drawn as SVG bars, participants.
    page.get_by_role("link", name="Marketing events").click()
    page.get_by_test_id("event-table").get_by_role("link", name="Ended launch").click()
    expect(page.get_by_test_id("event-name")).to_have_text("Ended launch")
    expect(page.locator('[data-counter="attended"] .me-stat__value')).to_have_text("2")
    chart = page.get_by_test_id("histogram-chart")
    expect(chart).to_be_visible()
    expect(chart.locator("rect.me-histogram__bar")).to_have_count(6)
    for bucket in ("15-30", "30-45"):  # 20 and 40 minutes
        bar = chart.locator(f'rect[data-bucket="{bucket}"]')
        expect(bar).to_have_attribute("data-count", "1")
        box = bar.bounding_box()
        assert box is not None and box["height"] > 20  # really drawn
    participants = page.get_by_test_id("participant-table")
    person2 = participants.locator("tbody tr", has_text="person2@example.com")
    expect(person2).to_have_attribute("data-state", "ATTENDED")
    expect(person2).to_contain_text("Attended")
    expect(person2.locator('[data-col="minutes"]')).to_have_text("40")
    expect(person2.locator('[data-col="percent"]')).to_have_text("87.0%")
    _shot(page, "03-event")

    # person2's contact page: the "Attended Ended launch" timeline entry.
    person2.get_by_role("link", name="P2 L2").click()
    expect(page.get_by_test_id("contact-name")).to_have_text("P2 L2")
    timeline = page.get_by_test_id("timeline")
    attended = timeline.locator('[data-kind="zoom_webinar_attended"]')
    expect(attended).to_have_count(1)
    expect(attended).to_contain_text("Attended Ended launch")
    expect(attended).to_contain_text("40 min")
    expect(attended).to_contain_text(str(ENDED_ID))
    _shot(page, "04-contact")


def test_a_running_run_updates_live_and_pages_its_skips(live_server, page: Page):
    """No sandbox needed: the run is written directly, and moved on while the page polls."""
    from django.utils import timezone

    from tests.zoom_integration.test_views import make_connection
    from zoom_integration.models import SyncSkip
    from zoom_integration.views.runs import SKIPS_PER_PAGE

    brand = Brand.objects.create(name="Acme", is_primary=True)
    connection = make_connection(brand, users=1)
    UserFactory(email="viewer@crm.test", role=Role.VIEWER)
    run = SyncRun.objects.create(
        connection=connection,
        trigger="scheduled",
        status="running",
        started_at=timezone.now(),
        progress_done=2,
        progress_total=8,
        counts={"zoom_users": 1, "webinars": 2},
    )
    SyncSkip.objects.bulk_create(
        SyncSkip(run=run, reason="no_email", name=f"Guest {i:02d}", webinar_id="84000000002")
        for i in range(SKIPS_PER_PAGE + 3)
    )
    SyncSkip.objects.create(
        run=run, reason="crm_user", email="staff@acme.test", name="Sam Staff", webinar_id="1"
    )

    page.set_viewport_size({"width": 1280, "height": 900})
    _log_in(page, live_server, "viewer@crm.test")

    # The Home tab's table follows the run (it polls every 2 s while a run is active).
    page.goto(f"{live_server.url}/integrations/zoom/?brand={brand.pk}")
    row = page.locator(f'[data-run="{run.pk}"]')
    expect(row.get_by_test_id("run-percent")).to_have_text("25% · 2 / 8")
    SyncRun.objects.filter(pk=run.pk).update(progress_done=4)
    expect(row.get_by_test_id("run-percent")).to_have_text("50% · 4 / 8", timeout=6000)

    # The run page polls too, and stops once the run is over.
    row.get_by_test_id("run-link").click()
    expect(page.get_by_test_id("run-status")).to_have_text("Running")
    expect(page.get_by_test_id("run-percent")).to_have_text("50%")
    expect(page.get_by_test_id("run-requested-by")).to_contain_text("started automatically")
    expect(page.get_by_test_id("run-live")).to_have_attribute("hx-trigger", "every 2s")
    _shot(page, "05-run-running")
    SyncRun.objects.filter(pk=run.pk).update(progress_done=6)
    expect(page.get_by_test_id("run-percent")).to_have_text("75%", timeout=6000)
    SyncRun.objects.filter(pk=run.pk).update(
        status="succeeded",
        progress_done=8,
        finished_at=timezone.now(),
        counts={"zoom_users": 1, "webinars": 2, "registrations": 5, "webinars_synced": 2},
    )
    expect(page.get_by_test_id("run-status")).to_have_text("Succeeded", timeout=6000)
    expect(page.get_by_test_id("run-percent")).to_have_text("100%")
    expect(page.get_by_test_id("run-counts")).to_have_text(
        "1 Zoom user, 2 webinars, 5 registrations, 2 webinars synced."
    )
    expect(page.get_by_test_id("run-live")).not_to_have_attribute("hx-trigger", "every 2s")

    # Skips: one section per reason, the guests paged over htmx.
    expect(page.get_by_test_id("skip-section")).to_have_count(2)
    guests = page.locator('[data-reason="no_email"]')
    expect(guests.get_by_test_id("skip-count")).to_have_text(str(SKIPS_PER_PAGE + 3))
    expect(guests.get_by_test_id("skip-hint")).to_have_text("How to fix: " + FIX_HINTS["no_email"])
    expect(guests.locator("tbody tr")).to_have_count(SKIPS_PER_PAGE)
    guests.get_by_test_id("skip-pager").get_by_role("link", name="2").click()
    expect(page).to_have_url(re.compile(r"[?&]page_no_email=2"))
    guests = page.locator('[data-reason="no_email"]')
    expect(guests.locator("tbody tr")).to_have_count(3)
    expect(guests.locator("tbody tr").first).to_contain_text(f"Guest {SKIPS_PER_PAGE:02d}")
    expect(page.locator('[data-reason="crm_user"] tbody tr')).to_have_count(1)
    _shot(page, "06-run-skips-page-2")
