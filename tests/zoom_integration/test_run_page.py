"""The sync-run page (Settings > Integrations > Zoom > Sync run #N): status, progress, counts in
plain words, errors, and the skips per reason with their fix hints and the skipped people,
paginated (rule Z9). Read-only for every signed-in user; polls while the run works."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import Brand
from crm.stored_text import stored_text
from marketing_events.rules import FIX_HINTS
from tests.factories import UserFactory
from tests.zoom_integration.test_views import make_connection, page_url
from zoom_integration.models import SyncRun, SyncSkip
from zoom_integration.views.runs import SKIPS_PER_PAGE

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection(db):
    return make_connection(Brand.objects.create(name="Acme", is_primary=True), users=1)


def run_url(run) -> str:
    return reverse("zoom_integration:sync_run", args=[run.pk])


def html_of(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def make_run(connection, *, status="succeeded", **fields) -> SyncRun:
    now = timezone.now()
    defaults = {
        "trigger": "manual",
        "status": status,
        "started_at": now - dt.timedelta(seconds=95),
        "finished_at": now if status not in ("queued", "running") else None,
    }
    return SyncRun.objects.create(connection=connection, **{**defaults, **fields})


def add_skips(run, reason, n, *, webinar_id="84000000002", prefix="guest"):
    SyncSkip.objects.bulk_create(
        SyncSkip(
            run=run,
            reason=reason,
            email=f"{prefix}{i:03d}@example.com" if reason != "no_email" else "",
            name=f"Guest {i:03d}",
            webinar_id=webinar_id,
        )
        for i in range(n)
    )


def sections(html: str) -> list[tuple[str, str, str]]:
    """(reason, title, count) of each skip section, in page order."""
    return re.findall(
        r'data-reason="([a-z_]+)" data-testid="skip-section">\s*<h3[^>]*>'
        r'<span data-testid="skip-title">([^<]+)</span> '
        r'<span class="badge badge--warn" data-testid="skip-count">(\d+)</span>',
        html,
    )


def section_html(html: str, reason: str) -> str:
    start = html.index(f'data-reason="{reason}"')
    end = html.find('data-testid="skip-section"', start + 40)
    return html[start : end if end != -1 else len(html)]


def rows_of(section: str) -> list[tuple[str, ...]]:
    return [
        tuple(
            re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", r)
        )
        for r in re.findall(r"<tr data-skip=\"\d+\">(.*?)</tr>", section, re.S)
    ]


# Access ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["super_admin", "marketing", "viewer"])
def test_the_run_page_renders_for_every_role_without_write_actions(client, connection, role):
    admin = UserFactory(email="ada@crm.test", first_name="Ada", last_name="Admin")
    run = make_run(
        connection,
        requested_by=admin,
        counts={"registrations": 3, "attendance_rows": 2, "webinars_skipped": 1},
    )
    client.force_login(UserFactory(role=role))
    html = html_of(client.get(run_url(run)))
    assert f"Sync run #{run.pk}" in html
    assert '<span class="run-badge run-badge--succeeded" data-testid="run-status">Succeeded' in html
    assert "Ada Admin" in html and "ada@crm.test" in html
    assert '<dd data-testid="run-trigger">Sync now</dd>' in html
    assert '<dd data-testid="run-duration">1 min 35 s' in html
    # No write actions on this page, for anyone.
    assert "<form" not in html.split('class="settings-content"')[1]
    assert 'data-testid="sync-now"' not in html


def test_anonymous_is_sent_to_log_in_and_unknown_runs_are_404(client, connection, viewer):
    run = make_run(connection)
    response = client.get(run_url(run))
    assert response.status_code == 302 and "/login/" in response["Location"]
    client.force_login(viewer)
    assert client.get(reverse("zoom_integration:sync_run", args=[run.pk + 1])).status_code == 404


# What it shows ---------------------------------------------------------------------------------


def test_counts_are_plain_words_in_a_fixed_order(client, connection, viewer):
    run = make_run(
        connection,
        counts={
            "webinars_skipped": 1,
            "contacts_created": 2,
            "registrations": 3,
            "attendance_rows": 2,
            "webinars_synced": 3,
            "zoom_users": 1,
            "recordings": 0,
        },
    )
    client.force_login(viewer)
    html = html_of(client.get(run_url(run)))
    assert (
        '<p class="run-counts" data-testid="run-counts">1 Zoom user, 3 registrations, '
        "2 attendance rows, 2 contacts created, 3 webinars synced, 1 webinar skipped, "
        "0 recordings.</p>"
    ) in html


def test_skip_sections_per_reason_with_hints_and_people(client, connection, viewer):  # rule Z9
    run = make_run(connection, skips={"zoom_events": 1, "no_email": 2, "deleted_contact": 1})
    SyncSkip.objects.create(
        run=run, reason="zoom_events", name="Events launch", webinar_id="84000000004"
    )
    SyncSkip.objects.create(run=run, reason="no_email", name="Guest B", webinar_id="84000000002")
    SyncSkip.objects.create(run=run, reason="no_email", name="Guest A", webinar_id="84000000002")
    SyncSkip.objects.create(
        run=run,
        reason="deleted_contact",
        email="person3@example.com",
        name="P3 L3",
        webinar_id="84000000002",
    )
    client.force_login(viewer)
    html = html_of(client.get(run_url(run)))
    # One section per reason, in the rules' order, with its count.
    assert sections(html) == [
        ("no_email", "No e-mail address (guests)", "2"),
        ("zoom_events", "Zoom Events webinars", "1"),
        ("deleted_contact", "Deleted contacts", "1"),
    ]
    assert '<span class="badge badge--warn" data-testid="skip-total">4 skipped</span>' in html
    for reason in ("no_email", "zoom_events", "deleted_contact"):
        hint = section_html(html, reason)
        assert (
            '<p class="skip-section__hint" data-testid="skip-hint"><strong>How to fix:</strong> '
            f"{FIX_HINTS[reason]}</p>"
        ) in hint.replace("&#x27;", "'")
    # Guests have no e-mail: their rows show the name Zoom gave.
    assert rows_of(section_html(html, "no_email")) == [
        ("Guest A", "84000000002"),
        ("Guest B", "84000000002"),
    ]
    # A whole-webinar reason names the webinar.
    assert rows_of(section_html(html, "zoom_events")) == [("Events launch", "84000000004")]
    assert rows_of(section_html(html, "deleted_contact")) == [
        ("person3@example.com", "P3 L3", "84000000002")
    ]
    assert 'data-testid="no-skips"' not in html


def test_skips_are_paginated_per_reason(client, connection, viewer):
    run = make_run(connection)
    add_skips(run, "crm_user", SKIPS_PER_PAGE + 5)
    add_skips(run, "secondary_email", 3, prefix="alias")
    client.force_login(viewer)
    first = html_of(client.get(run_url(run)))
    assert sections(first) == [
        ("crm_user", "CRM users", str(SKIPS_PER_PAGE + 5)),
        ("secondary_email", "Secondary e-mails of contacts", "3"),
    ]
    crm_users = section_html(first, "crm_user")
    assert [r[0] for r in rows_of(crm_users)] == [
        f"guest{i:03d}@example.com" for i in range(SKIPS_PER_PAGE)
    ]
    assert 'data-testid="skip-pager"' in crm_users
    assert f'href="{run_url(run)}?page_crm_user=2#skips-crm_user"' in crm_users
    assert 'hx-select="#skips-crm_user"' in crm_users  # a finished run pages over htmx
    assert 'data-testid="skip-pager"' not in section_html(first, "secondary_email")

    second = html_of(client.get(run_url(run), {"page_crm_user": 2}))
    assert [r[0] for r in rows_of(section_html(second, "crm_user"))] == [
        f"guest{i:03d}@example.com" for i in range(SKIPS_PER_PAGE, SKIPS_PER_PAGE + 5)
    ]
    # The other reason stays on its first page.
    assert len(rows_of(section_html(second, "secondary_email"))) == 3
    # htmx paging gets only the live block, which holds the section to swap.
    fragment = html_of(client.get(run_url(run), {"page_crm_user": 2}, HTTP_HX_REQUEST="true"))
    assert "<html" not in fragment and '<div id="run-live"' in fragment
    assert 'id="skips-crm_user"' in fragment and "guest029@example.com" in fragment


def test_nothing_skipped_is_an_empty_state(client, connection, viewer):
    run = make_run(connection, counts={"registrations": 1})
    client.force_login(viewer)
    html = html_of(client.get(run_url(run)))
    assert sections(html) == []
    assert "<h3>Nothing was skipped</h3>" in html
    assert "press “Sync now” again" in html


def test_errors_are_shown_in_plain_words(client, connection, viewer):
    skipped = make_run(connection, status="skipped", errors=["sync_disabled"])
    failed = make_run(
        connection,
        status="failed",
        errors=["Zoom refused the connection's credentials (401). Reconnect Zoom."],
        progress_done=2,
        progress_total=8,
    )
    client.force_login(viewer)
    html = html_of(client.get(run_url(skipped)))
    assert "Sync webinar data is off, so only users and webinars were refreshed." in html
    assert "Turn on Sync webinar data in Global settings" in html
    html = html_of(client.get(run_url(failed)))
    assert "Why it failed" in html and "Reconnect Zoom." in html.replace("&#x27;", "'")
    assert 'data-testid="run-percent">25%</span>' in html
    assert "2 of 8 steps done" in html


@pytest.mark.parametrize(
    "language, expected",
    [
        ("pt-br", "O Zoom respondeu com um erro: Invalid access token (HTTP 401)."),
        ("fr", "Zoom a répondu par une erreur : Invalid access token (HTTP 401)."),
    ],
)
def test_a_workers_error_is_read_in_the_readers_language_and_english_in_the_api(
    client, connection, viewer, admin_api, language, expected
):
    # rules L1, L2: the worker stored a message id and its parameters, not its own English
    error = stored_text(
        "Zoom answered with an error: %(error)s. Transient errors were retried; run the sync "
        "again later, or check the connection in Settings > Integrations > Zoom.",
        error="Invalid access token (HTTP 401)",
    )
    failed = make_run(connection, status="failed", errors=[error])
    viewer.language = language
    viewer.save(update_fields=["language"])
    client.force_login(viewer)
    html = html_of(client.get(run_url(failed))).replace("\xa0", " ")
    assert expected in html
    assert "Zoom answered" not in html
    body = admin_api.get(f"/api/v1/zoom/sync-runs/{failed.pk}/").json()
    assert body["errors"] == [
        "Zoom answered with an error: Invalid access token (HTTP 401). Transient errors were "
        "retried; run the sync again later, or check the connection in Settings > Integrations "
        "> Zoom."
    ]


# Live progress ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["queued", "running"])
def test_an_active_run_polls_every_2s_and_stops_when_finished(client, connection, viewer, status):
    run = make_run(connection, status=status, progress_done=3, progress_total=12)
    client.force_login(viewer)
    url = run_url(run)
    poll = f'hx-get="{url}" hx-trigger="every 2s" hx-target="this" hx-swap="outerHTML"'
    html = html_of(client.get(url))
    assert poll in html
    assert "Updating live" in html and "Nothing skipped so far" in html
    if status == "running":
        assert 'aria-valuenow="25"' in html and 'data-testid="run-percent">25%</span>' in html

    # The poll answers with the live block only, with the progress as it now stands.
    SyncRun.objects.filter(pk=run.pk).update(status="running", progress_done=9)
    fragment = html_of(client.get(url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="run-live"))
    assert "<html" not in fragment and poll in fragment
    assert 'data-testid="run-percent">75%</span>' in fragment

    SyncRun.objects.filter(pk=run.pk).update(
        status="succeeded", progress_done=12, finished_at=timezone.now()
    )
    fragment = html_of(client.get(url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="run-live"))
    assert 'data-status="succeeded"' in fragment
    assert "hx-trigger" not in fragment and "Updating live" not in fragment
    assert 'data-testid="run-percent">100%</span>' in fragment
    assert "hx-trigger" not in html_of(client.get(url))


def test_the_home_tab_links_each_run_and_its_progress_updates_live(client, connection, viewer):
    done = make_run(connection, skips={"no_email": 2})
    active = make_run(connection, status="running", progress_done=1, progress_total=4)
    client.force_login(viewer)
    home = html_of(client.get(page_url(connection.brand)))
    for run in (done, active):
        row = home[home.index(f'data-run="{run.pk}"') :][:3000]
        assert f'<a href="{run_url(run)}" data-testid="run-link"' in row
    done_row = home[home.index(f'data-run="{done.pk}"') :][:3000]
    assert f'href="{run_url(done)}#skips">2 skipped</a>' in done_row
    assert 'data-testid="run-percent">100%' in done_row
    fragment_url = reverse("zoom_integration:sync_runs", args=[connection.pk])
    assert f'hx-get="{fragment_url}" hx-trigger="every 2s"' in home
    assert 'data-testid="run-percent">25% · 1 / 4' in home

    SyncRun.objects.filter(pk=active.pk).update(progress_done=3)
    fragment = html_of(client.get(fragment_url, HTTP_HX_REQUEST="true"))
    assert 'aria-valuenow="75"' in fragment and "75% · 3 / 4" in fragment
    SyncRun.objects.filter(pk=active.pk).update(status="succeeded", finished_at=timezone.now())
    fragment = html_of(client.get(fragment_url, HTTP_HX_REQUEST="true"))
    assert "hx-trigger" not in fragment


# Query counts ----------------------------------------------------------------------------------


@pytest.mark.parametrize("per_reason", [1, 20])
def test_query_count_does_not_grow_with_skips(
    client, connection, viewer, per_reason, django_assert_num_queries
):
    """3 vs 60 skips over the same three reasons: the same queries (session, user, run,
    grouped counts, one page per reason)."""
    run = make_run(connection)
    for reason in ("no_email", "crm_user", "deleted_contact"):
        add_skips(run, reason, per_reason, prefix=reason)
    assert SyncSkip.objects.filter(run=run).count() == 3 * per_reason
    client.force_login(viewer)
    with django_assert_num_queries(8):  # + 1: the bell's unread count in the top bar
        html = html_of(client.get(run_url(run)))
    assert len(sections(html)) == 3
