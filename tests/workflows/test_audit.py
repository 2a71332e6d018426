"""The audit trail (issue 22, item 4) for workflows: created, turned on, turned off, deleted,
through the pages and the API; one entry each, exact before/after values; no entry when a
workflow is switched to the state it is already in."""

import json

import pytest
from django.urls import reverse

from crm.models import Account, AuditEntry, Tier
from workflows.models import Workflow
from workflows.services import workflow_create

pytestmark = pytest.mark.django_db

ACTIONS = [{"type": "zoom.add_contact_to_webinar", "webinar_id": "84000000001"}]


@pytest.fixture
def professional(db):
    Account.objects.update_or_create(pk=1, defaults={"tier": Tier.PROFESSIONAL})


@pytest.fixture
def ui(client, marketer):
    client.force_login(marketer)
    return client


@pytest.fixture
def workflow(professional):
    return workflow_create(
        name="Onboarding", trigger={"type": "manual"}, actions=ACTIONS, actor=None
    )


def _last_id() -> int:
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def test_created_over_the_api_with_its_state(professional, marketer_api, marketer):
    before_id = _last_id()
    response = marketer_api.post(
        "/api/v1/workflows/",
        {"name": "Webinar follow-up", "trigger": {"type": "manual"}, "actions": ACTIONS,
         "enabled": True},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    (entry,) = AuditEntry.objects.filter(pk__gt=before_id)  # one, though it was turned on too
    assert (entry.kind, entry.via, entry.actor_id, entry.token_name) == (
        "workflow.created",
        "api",
        marketer.pk,
        "test",
    )
    assert (entry.target_type, entry.target_id, entry.target_label) == (
        "workflow",
        str(response.json()["id"]),
        "Webinar follow-up",
    )
    assert (entry.before, entry.after) == (
        {},
        {"name": "Webinar follow-up", "trigger": "manual", "enabled": True},
    )


CASES = {
    "turned on (ui)": (
        lambda ui, api, w: ui.post(reverse("workflows:toggle", args=[w.pk]), {"enabled": "1"}),
        "workflow.turned_on", {"enabled": False}, {"enabled": True},
    ),
    "turned on (api)": (
        lambda ui, api, w: api.patch(f"/api/v1/workflows/{w.pk}/", {"enabled": True},
                                     format="json"),
        "workflow.turned_on", {"enabled": False}, {"enabled": True},
    ),
    "turned off (ui)": (
        lambda ui, api, w: (
            Workflow.objects.filter(pk=w.pk).update(enabled=True),
            ui.post(reverse("workflows:toggle", args=[w.pk]), {"enabled": "0"}),
        )[-1],
        "workflow.turned_off", {"enabled": True}, {"enabled": False},
    ),
    "deleted (ui)": (
        lambda ui, api, w: ui.post(reverse("workflows:delete", args=[w.pk])),
        "workflow.deleted",
        {"name": "Onboarding", "trigger": "manual", "enabled": False}, {},
    ),
    "deleted (api)": (
        lambda ui, api, w: api.delete(f"/api/v1/workflows/{w.pk}/"),
        "workflow.deleted",
        {"name": "Onboarding", "trigger": "manual", "enabled": False}, {},
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_each_workflow_action_writes_one_entry(case, workflow, ui, marketer_api, marketer):
    act, kind, old, new = CASES[case]
    before_id = _last_id()
    response = act(ui, marketer_api, workflow)
    assert response.status_code < 400
    (entry,) = AuditEntry.objects.filter(pk__gt=before_id)
    via = "api" if case.endswith("(api)") else "ui"
    assert (entry.kind, entry.via, entry.actor_id) == (kind, via, marketer.pk)
    assert (entry.target_type, entry.target_id, entry.target_label) == (
        "workflow",
        str(workflow.pk),
        "Onboarding",
    )
    assert (entry.before, entry.after) == (old, new)


def test_turning_off_a_workflow_that_is_off_writes_nothing(workflow, marketer_api):
    before_id = _last_id()
    response = marketer_api.patch(
        f"/api/v1/workflows/{workflow.pk}/", {"enabled": False}, format="json"
    )
    assert response.status_code == 200
    assert not AuditEntry.objects.filter(pk__gt=before_id).exists()


NEW_STEPS = [
    {"id": "s1", "type": "zoom.add_contact_to_webinar", "webinar_id": "84000000002", "next": None}
]


def _publish_ui(ui, api, w):
    return ui.post(
        reverse("workflows:edit", args=[w.pk]),
        {"name": "Onboarding", "trigger_type": "manual", "filters": json.dumps({"or": []}),
         "graph": json.dumps({"steps": NEW_STEPS, "start": "s1"})},
    )  # fmt: skip


def _publish_api(ui, api, w):
    return api.patch(
        f"/api/v1/workflows/{w.pk}/", {"steps": NEW_STEPS, "start": "s1"}, format="json"
    )


@pytest.mark.parametrize("via, act", [("ui", _publish_ui), ("api", _publish_api)])
def test_publishing_a_version_writes_one_entry_naming_workflow_and_version(
    via, act, workflow, ui, marketer_api, marketer, admin_user, client
):
    # rule W11: steps saved while version 1 has enrollments publish version 2.
    from tests.factories import ContactFactory
    from workflows.services import workflow_enroll, workflow_set_enabled

    workflow_set_enabled(workflow=workflow, enabled=True)
    workflow_enroll(workflow=workflow, contact_ids=[ContactFactory().pk], actor=None)
    before_id = _last_id()
    response = act(ui, marketer_api, workflow)
    assert response.status_code < 400
    workflow.refresh_from_db()
    assert workflow.version == 2
    (entry,) = AuditEntry.objects.filter(pk__gt=before_id)
    assert (entry.kind, entry.via, entry.actor_id) == ("workflow.version_published", via,
                                                      marketer.pk)  # fmt: skip
    assert (entry.target_type, entry.target_id, entry.target_label) == (
        "workflow", str(workflow.pk), "Onboarding",
    )  # fmt: skip
    assert (entry.before, entry.after) == ({"version": 1}, {"version": 2})
    # Settings > Audit log names the kind and the field in the reader's words.
    client.force_login(admin_user)
    page = client.get(reverse("crm:settings_audit_log"), {"kind": "workflow.version_published"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "Workflow version published" in html and "Onboarding" in html
    assert "Version" in html


def test_saving_steps_without_enrollments_publishes_nothing(workflow, marketer_api):
    before_id = _last_id()
    assert _publish_api(None, marketer_api, workflow).status_code == 200
    workflow.refresh_from_db()
    assert workflow.version == 1
    assert not AuditEntry.objects.filter(pk__gt=before_id).exists()
