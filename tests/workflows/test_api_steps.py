"""The workflows API's steps (rule W12): the graph in and out, the older `actions` still read
as a straight line, versions, an enrollment's path, the webhook secret shown once; every answer
validated against the OpenAPI schema."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from crm.models import Account, Tier
from segments.models import Segment
from tests.crm.test_api_schema import call
from tests.factories import ContactFactory, UserFactory
from tests.support.receiver import webhook_receiver
from workflows import runner
from workflows.tasks import run_enrollment

URL = "/api/v1/workflows/"
WEBINAR = "84000000001"


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


@pytest.fixture
def professional(db):
    Account.objects.update_or_create(pk=1, defaults={"tier": Tier.PROFESSIONAL})


def example_steps(segment, user):
    """Every step type but the Zoom ones' network parts."""
    return [
        {"id": "wait", "type": "delay", "webinar_id": WEBINAR, "relative_to": "end",
         "offset_seconds": 86400, "next": "check"},
        {"id": "check", "type": "branch", "yes": "stage", "no": "replay",
         "filters": {"or": [{"and": [{"type": "zoom_webinar_attendance", "webinar_id": WEBINAR,
                                      "duration": {"operator": "gte", "value": 1800}}]}]}},
        {"id": "stage", "type": "set_property", "property": "lifecyclestage", "value": "lead",
         "next": "tell"},
        {"id": "tell", "type": "notify", "to": "owner", "message": "Hot lead", "next": "keep"},
        {"id": "keep", "type": "segment.add", "segment_id": segment.pk, "next": None},
        {"id": "replay", "type": "zoom.add_contact_to_webinar", "webinar_id": WEBINAR,
         "next": "drop"},
        {"id": "drop", "type": "segment.remove", "segment_id": str(segment.pk), "next": None},
    ]  # fmt: skip


@pytest.mark.django_db
def test_steps_in_and_out_match_the_schema(schema, professional, marketer_api):
    segment = Segment.objects.create(name="Hot", kind="static")
    steps = example_steps(segment, UserFactory())
    created = call(schema, marketer_api, "POST", URL,
                   {"name": "Why", "steps": steps, "start": "wait"}, status=201)  # fmt: skip
    assert (created["version"], created["start"], created["actions"]) == (1, "wait", None)
    assert [s["id"] for s in created["steps"]] == [s["id"] for s in steps]
    assert created["steps"][1]["yes"] == "stage" and created["steps"][1]["no"] == "replay"
    assert created["steps"][6] == {"id": "drop", "type": "segment.remove",
                                   "segment_id": segment.pk, "next": None}  # fmt: skip
    assert (created["webhook_secret_set"], created["webhook_secret"]) == (False, None)
    got = call(schema, marketer_api, "GET", f"{URL}{created['id']}/", status=200)
    assert got["steps"] == created["steps"]


@pytest.mark.django_db
def test_the_older_actions_are_a_straight_line_of_steps(schema, professional, marketer_api):
    created = call(schema, marketer_api, "POST", URL, {"name": "Old", "actions": [
        {"type": "zoom.add_contact_to_webinar", "webinar_id": WEBINAR},
        {"type": "zoom.cancel_registration", "webinar_id": int(WEBINAR)},
    ]}, status=201)  # fmt: skip
    assert created["start"] == "s1"
    assert created["steps"] == [
        {"id": "s1", "type": "zoom.add_contact_to_webinar", "webinar_id": WEBINAR, "next": "s2"},
        {"id": "s2", "type": "zoom.cancel_registration", "webinar_id": WEBINAR, "next": None},
    ]
    assert created["actions"] == [
        {"type": "zoom.add_contact_to_webinar", "webinar_id": WEBINAR},
        {"type": "zoom.cancel_registration", "webinar_id": WEBINAR},
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body, name, message",
    [
        ({"steps": [{"id": "a", "type": "delay", "seconds": 5}], "actions": []}, "actions",
         "Give either steps or actions, not both"),
        ({"steps": [{"id": "a", "type": "delay", "seconds": 5, "next": "b"}]}, "steps[0].next",
         "'b' is not the id of a step"),
        ({"steps": [{"id": "a", "type": "teleport"}]}, "steps[0].type", "Unknown step type"),
        ({"actions": [{"type": "branch", "filters": {"or": []}}]}, "actions[0].type",
         "a branch needs the steps form"),
        ({"steps": [{"id": "a", "type": "delay", "seconds": 5}], "start": "b"}, "start",
         "'b' is not the id of a step"),
    ],
)  # fmt: skip
def test_bad_steps_are_a_400_naming_the_part(professional, marketer_api, body, name, message):
    response = marketer_api.post(URL, {"name": "Bad", **body}, format="json")
    assert response.status_code == 400, response.json()
    errors = response.json()["errors"]
    assert errors[0]["name"] == name
    assert message in errors[0]["message"]


@pytest.mark.django_db
def test_turning_on_an_invalid_workflow_is_a_400_saying_why(professional, marketer_api):
    segment = Segment.objects.create(name="Gone soon", kind="static")
    keep = {"id": "keep", "type": "segment.add", "segment_id": segment.pk}
    created = marketer_api.post(URL, {"name": "Keep", "steps": [keep]}, format="json").json()
    segment.delete()
    response = marketer_api.patch(f"{URL}{created['id']}/", {"enabled": True}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["name"] == "steps[0].segment_id"
    assert "The workflow cannot be turned on" in response.json()["detail"]


@pytest.mark.django_db
def test_versions_and_the_enrollment_path(
    schema,
    professional,
    marketer_api,
    django_capture_on_commit_callbacks,
):
    # rules W11, W12
    segment = Segment.objects.create(name="Waited", kind="static")
    steps = [{"id": "wait", "type": "delay", "seconds": 60, "next": "keep"},
             {"id": "keep", "type": "segment.add", "segment_id": segment.pk}]  # fmt: skip
    created = marketer_api.post(URL, {"name": "W", "steps": steps, "enabled": True},
                                format="json").json()  # fmt: skip
    workflow = f"{URL}{created['id']}/"
    contact = ContactFactory()
    with django_capture_on_commit_callbacks(execute=True):
        enrolled = call(schema, marketer_api, "POST", f"{workflow}enroll/",
                        {"contact_ids": [contact.pk]}, status=200)["enrolled"]  # fmt: skip
    enrollment_url = f"{workflow}enrollments/{enrolled[0]['id']}/"
    waiting = call(schema, marketer_api, "GET", enrollment_url, status=200)
    assert (waiting["status"], waiting["version"], waiting["current_step"]) == (
        "waiting",
        1,
        "wait",
    )
    assert [(p["step"], p["type"], p["status"]) for p in waiting["path"]] == [
        ("wait", "delay", "waiting")]  # fmt: skip
    steps[0]["seconds"] = 120
    changed = call(schema, marketer_api, "PATCH", workflow, {"steps": steps}, status=200)
    assert changed["version"] == 2
    listed = call(schema, marketer_api, "GET", f"{workflow}enrollments/", status=200)
    assert [(e["id"], e["version"]) for e in listed["results"]] == [(enrolled[0]["id"], 1)]
    with django_capture_on_commit_callbacks(execute=True):
        ids = runner.tick(now=waiting_due(enrolled[0]["id"]))
    for enrollment_id in ids:
        run_enrollment(enrollment_id)
    done = call(schema, marketer_api, "GET", enrollment_url, status=200)
    assert (done["status"], done["current_step"], done["version"]) == ("completed", None, 1)
    assert [(p["step"], p["status"], p["attempts"]) for p in done["path"]] == [
        ("wait", "succeeded", 1), ("keep", "succeeded", 1)]  # fmt: skip
    assert all(p["started_at"] and p["finished_at"] for p in done["path"])
    assert marketer_api.get(f"{workflow}enrollments/999999/").status_code == 404
    assert marketer_api.get(f"{workflow}enrollments/?status=lost").status_code == 400


def waiting_due(enrollment_id):
    from workflows.models import Enrollment

    return Enrollment.objects.get(pk=enrollment_id).due_at


@pytest.mark.django_db
def test_the_webhook_secret_is_shown_once_and_rotates(
    schema,
    professional,
    marketer_api,
    viewer_api,
    settings,
):
    with webhook_receiver() as receiver:
        settings.WORKFLOW_WEBHOOK_TEST_HOSTS = ["127.0.0.1"]
        created = call(schema, marketer_api, "POST", URL, {"name": "Hook", "steps": [
            {"id": "hook", "type": "webhook", "url": receiver.url}]}, status=201)  # fmt: skip
    assert created["webhook_secret"].startswith("whsec_") and created["webhook_secret_set"]
    workflow = f"{URL}{created['id']}/"
    again = call(schema, marketer_api, "GET", workflow, status=200)
    assert (again["webhook_secret"], again["webhook_secret_set"]) == (None, True)
    rotated = call(schema, marketer_api, "POST", f"{workflow}webhook-secret/", status=200)
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["webhook_secret"]
    assert viewer_api.post(f"{workflow}webhook-secret/").status_code == 403
