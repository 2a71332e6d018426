"""Drafts (issue 23's finish): an incomplete workflow (a step missing its required settings, an
exit naming a step not there yet) is saved as it is with `draft`, through the API and the
editor: off, nobody can be enrolled, its problems listed; turning it on validates fully. Without
`draft` the same body is refused as before (rules W11, W12)."""

import json

import pytest
from django.urls import reverse

from crm.models import Account, Tier
from tests.factories import ContactFactory, UserFactory
from workflows.models import Enrollment, Workflow, WorkflowVersion

pytestmark = pytest.mark.django_db
URL = "/api/v1/workflows/"


@pytest.fixture
def professional(db):
    Account.objects.update_or_create(pk=1, defaults={"tier": Tier.PROFESSIONAL})


def incomplete():
    return [
        {"id": "tell", "type": "notify", "to": "owner", "next": "later"},  # no message
        {"id": "later", "type": "delay", "next": None},  # no duration
    ]


def test_an_incomplete_workflow_is_saved_as_a_draft_with_its_problems(professional, marketer_api):
    refused = marketer_api.post(URL, {"name": "Half done", "steps": incomplete()}, format="json")
    assert refused.status_code == 400
    assert not Workflow.objects.exists()

    response = marketer_api.post(
        URL, {"name": "Half done", "steps": incomplete(), "draft": True}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["enabled"], body["draft"]) == (False, True)
    assert [p["path"] for p in body["problems"]] == ["steps[0].message", "steps[1].seconds"]
    assert body["problems"][0]["message"] == "Write the message to send"
    assert body["steps"] == incomplete()  # kept as given
    assert marketer_api.get(f"{URL}{body['id']}/").json()["problems"] == body["problems"]


def test_a_draft_cannot_be_enrolled_into_nor_turned_on_until_complete(professional, marketer_api):
    created = marketer_api.post(
        URL, {"name": "Half done", "steps": incomplete(), "draft": True}, format="json"
    ).json()
    contact = ContactFactory()
    enroll = marketer_api.post(f"{URL}{created['id']}/enroll/", {"contact_ids": [contact.pk]},
                               format="json")  # fmt: skip
    assert enroll.status_code == 409
    assert "draft" in enroll.json()["detail"]
    turn_on = marketer_api.patch(f"{URL}{created['id']}/", {"enabled": True}, format="json")
    assert turn_on.status_code == 400
    paths = [e["path"] for e in turn_on.json()["errors"]]
    assert paths == ["steps[0].message", "steps[1].seconds"]
    assert not Workflow.objects.get(pk=created["id"]).enabled
    # Turned on together with a draft save: validated fully, nothing saved.
    both = marketer_api.post(URL, {"name": "Other", "steps": incomplete(), "draft": True,
                                   "enabled": True}, format="json")  # fmt: skip
    assert both.status_code == 400
    assert not Workflow.objects.filter(name="Other").exists()

    complete = incomplete()
    complete[0]["message"] = "Call them"
    complete[1]["seconds"] = "3600"
    body = {"steps": complete, "draft": True, "enabled": True}
    response = marketer_api.patch(f"{URL}{created['id']}/", body, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["enabled"], body["draft"], body["problems"]) == (True, False, [])
    assert body["steps"][1]["seconds"] == 3600  # cleaned as any complete workflow
    assert WorkflowVersion.objects.get(workflow_id=created["id"]).steps == body["steps"]
    enroll = marketer_api.post(f"{URL}{created['id']}/enroll/", {"contact_ids": [contact.pk]},
                               format="json")  # fmt: skip
    assert enroll.status_code == 200
    assert Enrollment.objects.filter(workflow_id=created["id"]).count() == 1


def test_a_workflow_that_is_on_is_not_saved_as_a_draft(professional, marketer_api):
    steps = [{"id": "wait", "type": "delay", "seconds": 60, "next": None}]
    created = marketer_api.post(URL, {"name": "Live", "steps": steps, "enabled": True},
                                format="json").json()  # fmt: skip
    body = {"steps": incomplete(), "draft": True}
    response = marketer_api.patch(f"{URL}{created['id']}/", body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "draft"
    assert Workflow.objects.get(pk=created["id"]).steps == steps


@pytest.mark.parametrize(
    "steps, path",
    [
        ([{"id": "a b", "type": "delay"}], "steps[0].id"),
        ([{"id": "a", "type": "delay"}, {"id": "a", "type": "delay"}], "steps[1].id"),
        (["delay"], "steps"),
    ],
)
def test_a_draft_still_needs_steps_it_can_draw(professional, marketer_api, steps, path):
    response = marketer_api.post(URL, {"name": "Bad", "steps": steps, "draft": True},
                                 format="json")  # fmt: skip
    assert response.status_code == 400
    assert response.json()["errors"][0]["name"] == path, response.json()


def test_the_editor_saves_a_draft_and_its_page_lists_what_is_left(professional, client):
    marketer = UserFactory(role="marketing")
    client.force_login(marketer)
    data = {"name": "Half done", "trigger_type": "manual", "filters": json.dumps({"or": []}),
            "graph": json.dumps({"steps": incomplete(), "start": "tell"})}  # fmt: skip
    assert client.post(reverse("workflows:create"), data).status_code == 400
    response = client.post(reverse("workflows:create"), {**data, "draft": "1"})
    workflow = Workflow.objects.get()
    assert response.status_code == 302
    assert (workflow.draft, workflow.enabled) == (True, False)
    page = client.get(reverse("workflows:detail", args=[workflow.pk]))
    html = page.content.decode()
    assert 'data-testid="workflow-draft"' in html
    assert "saved as a draft" in html
    assert "<code>steps[0].message</code>: Write the message to send" in html
    assert "Incomplete: Write the message to send" in html
    editor = client.get(reverse("workflows:edit", args=[workflow.pk])).content.decode()
    assert 'data-testid="save-draft"' in editor
