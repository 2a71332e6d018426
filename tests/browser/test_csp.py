"""The main pages under the Content-Security-Policy in a real browser: each renders with no
violation (tests/browser/conftest.py collects them), and the behaviours that used to be inline
handlers work from static/js/ui.js: confirmations, copy buttons, and the progress and funnel
bars, now drawn in SVG."""

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from crm.models import Account, Brand, Role, Tier
from segments.services import segment_create
from tests.factories import ContactFactory, UserFactory
from tests.marketing_events.test_live_event import join, live_event
from tests.support.browser import log_in as _log_in
from tests.zoom_integration.test_webhook_health import make_connection
from workflows.services import workflow_create
from zoom_integration.models import SyncRun

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_watch_sees_a_violation(live_server, page: Page, csp_violations):
    # The check below cannot pass by looking away: an inline script is reported.
    page.goto(live_server.url + "/accounts/login/")
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.ran = 1'; document.body.append(s); }"
    )
    page.wait_for_timeout(200)
    assert page.evaluate("() => window.ran") is None
    assert any("script-src" in v for v in csp_violations), csp_violations
    csp_violations.clear()


def test_main_pages_break_no_rule_of_the_policy(live_server, page: Page, csp_violations):
    Account.objects.update_or_create(pk=1, defaults={"tier": Tier.PROFESSIONAL})
    admin = UserFactory(email="admin@crm.test", role=Role.SUPER_ADMIN)
    contact = ContactFactory(email="grace@example.com", first_name="Grace", last_name="Hopper")
    event = live_event()
    join(event, "ana", registered=("bruno",))
    segment = segment_create(
        name="Everyone",
        kind="active",
        filters={
            "or": [{"and": [{"type": "property", "property": "email", "operator": "is_known"}]}]
        },
        actor=admin,
    )
    workflow = workflow_create(name="Welcome", trigger={"type": "manual"}, actions=[], actor=admin)
    connection = make_connection()
    run = SyncRun.objects.create(
        connection=connection,
        trigger="manual",
        status="running",
        progress_done=1,
        progress_total=4,
        started_at=timezone.now(),
    )

    page.set_viewport_size({"width": 1280, "height": 900})
    _log_in(page, live_server, "admin@crm.test")
    pages = [
        ("/contacts/", "contact-table"),
        (f"/contacts/{contact.pk}/", "contact-name"),
        ("/contacts/new/", None),
        ("/marketing-events/", None),
        (f"/marketing-events/{event.pk}/", "event-name"),
        ("/segments/", None),
        ("/segments/new/", None),
        (f"/segments/{segment.pk}/", None),
        ("/workflows/", None),
        ("/workflows/new/", None),
        (f"/workflows/{workflow.pk}/", None),
        ("/settings/account/", None),
        ("/settings/users/", None),
        ("/settings/brands/", None),
        ("/settings/api-tokens/", None),
        ("/integrations/zoom/", "connection-status"),
        ("/integrations/zoom/?tab=settings", None),
        (f"/integrations/zoom/sync-runs/{run.pk}/", "run-title"),
        ("/api/docs/", None),
    ]
    for path, test_id in pages:
        response = page.goto(live_server.url + path)
        assert response is not None and response.ok, path
        assert "content-security-policy" in response.headers, path
        if test_id:
            expect(page.get_by_test_id(test_id).first).to_be_visible()
        page.wait_for_load_state("networkidle")
        assert csp_violations == [], path

    # The bars are drawn at their widths without inline styles.
    page.goto(f"{live_server.url}/integrations/zoom/sync-runs/{run.pk}/")
    bar = page.locator(".progress__bar").bounding_box()
    track = page.get_by_test_id("run-progress").bounding_box()
    assert bar and track and bar["width"] == pytest.approx(track["width"] * 0.25, abs=1)
    page.goto(f"{live_server.url}/marketing-events/{event.pk}/")
    registered = page.locator('[data-step="registered"] .me-funnel__bar').bounding_box()
    attended = page.locator('[data-step="attended"] .me-funnel__bar').bounding_box()
    assert registered and attended and attended["width"] < registered["width"]
    assert csp_violations == []


def test_confirmations_and_copy_buttons_work_without_inline_handlers(
    live_server, page: Page, csp_violations
):
    UserFactory(email="admin@crm.test", role=Role.SUPER_ADMIN)
    Brand.objects.create(name="Main", is_primary=True)
    spare = Brand.objects.create(name="Spare", is_primary=False)
    _log_in(page, live_server, "admin@crm.test")

    # A confirmation that is dismissed submits nothing; accepted, it goes through.
    page.goto(live_server.url + "/settings/brands/")
    questions = []

    def answer(dialog, accept):
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, accept=False))
    row = page.locator("tr", has_text="Spare")
    row.get_by_role("button", name="Delete").click()
    page.wait_for_timeout(300)
    assert questions == ["Delete the brand Spare?"]
    assert Brand.objects.filter(pk=spare.pk).exists()
    page.once("dialog", lambda dialog: answer(dialog, accept=True))
    row.get_by_role("button", name="Delete").click()
    expect(page.locator("tr", has_text="Spare")).to_have_count(0)
    assert not Brand.objects.filter(pk=spare.pk).exists()

    # A new API token: its field selects itself, the copy button copies and says so.
    page.goto(live_server.url + "/settings/api-tokens/")
    form = page.get_by_test_id("token-form")
    form.get_by_label("Name").fill("CI")
    form.locator('input[type="checkbox"]').first.check()
    form.get_by_role("button", name="Create token").click()
    token = page.locator("#clear-token")
    expect(token).to_be_visible()
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    selected = page.evaluate(
        "() => { const i = document.getElementById('clear-token');"
        " return i.value.substring(i.selectionStart, i.selectionEnd); }"
    )
    assert selected and selected == token.input_value()
    assert csp_violations == []
