"""The OpenAPI schema describes what the API really sends and takes (DESIGN "Production safety":
the schema is the truth). Real answers of the test client are validated against their
operation's documented response, and the bodies sent against its documented request: a filter
the service accepts that the schema refuses, or a field the schema types wrongly, fails here.

The schema is OpenAPI 3.0; `json_schema` turns it into JSON Schema for `jsonschema`
(`nullable` → a null alternative, component references → `$defs`)."""

from __future__ import annotations

import datetime as dt
import re

import jsonschema
import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from crm.contact_filters import REGISTRY as FILTER_TYPES
from crm.models import Account, Brand, Contact, Tier, TimelineEntry
from marketing_events.models import MarketingEvent, Participation
from tests.factories import ContactFactory
from tests.zoom_integration.scenario import ACME, S2S, UPCOMING_ID
from workflows.actions import REGISTRY as ACTION_TYPES
from zoom_integration.legacy import P3
from zoom_integration.models import SyncRun, SyncStatus

pytestmark = pytest.mark.django_db

REF_PREFIX = "#/components/schemas/"
FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value) -> bool:
    if not isinstance(value, str):
        return True
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.tzinfo is not None


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def json_schema(node):
    """An OpenAPI 3.0 schema object as JSON Schema (2020-12)."""
    if isinstance(node, list):
        return [json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in ("nullable", "discriminator"):
            continue
        if key == "properties":
            out[key] = {name: json_schema(prop) for name, prop in value.items()}
        elif key == "$ref":
            out[key] = value.replace(REF_PREFIX, "#/$defs/")
        else:
            out[key] = json_schema(value)
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


def _operation(schema: dict, path: str, method: str) -> dict:
    """The operation of `method` on the path template `path` matches, literal parts first
    (`/segments/preview/` before `/segments/{segment_id}/`)."""
    path = path.split("?")[0]
    for template in sorted(schema["paths"], key=lambda t: t.count("{")):
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path):
            return schema["paths"][template][method.lower()]
    raise AssertionError(f"{path} is not in the schema")


def _validate(schema: dict, body, target: dict, what: str) -> None:
    document = {
        "$defs": {name: json_schema(s) for name, s in schema["components"]["schemas"].items()},
        **json_schema(target),
    }
    validator = jsonschema.Draft202012Validator(document, format_checker=FORMATS)
    error = jsonschema.exceptions.best_match(validator.iter_errors(body))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path)
        raise AssertionError(f"{what} does not match the schema at {where!r}: {error.message}")


def assert_request_documented(schema: dict, method: str, path: str, body) -> None:
    content = _operation(schema, path, method)["requestBody"]["content"]["application/json"]
    _validate(schema, body, content["schema"], f"The body sent to {method} {path}")


def assert_response_documented(schema: dict, method: str, path: str, response) -> dict:
    """The answer's status is documented, and its JSON matches the documented body."""
    responses = _operation(schema, path, method)["responses"]
    status = str(response.status_code)
    assert status in responses, f"{method} {path} answered an undocumented {status}"
    body = response.json()
    content = responses[status]["content"]["application/json"]
    _validate(schema, body, content["schema"], f"The answer of {method} {path} ({status})")
    return body


def call(schema, api, method: str, path: str, body=None, *, status: int):
    """Sends `body` (checked against the documented request first), checks the answer."""
    if body is not None:
        assert_request_documented(schema, method, path, body)
    response = getattr(api, method.lower())(path, body, format="json")
    assert response.status_code == status, response.content
    return assert_response_documented(schema, method, path, response)


def tree(*filters) -> dict:
    return {"or": [{"and": [node]} for node in filters]}


@pytest.fixture
def event(db):
    return MarketingEvent.objects.create(
        source="zoom", external_account_id=ACME, external_event_id=str(UPCOMING_ID), name="Launch"
    )


def every_filter_type(event) -> dict:
    """A tree with every filter type, each in a form its `clean` accepts but does not send back
    as is (ids as strings or integers, numbers as text, null parts, relative dates)."""
    return {
        "or": [
            {
                "and": [
                    {"type": "property", "property": "company", "operator": "eq", "value": 42},
                    {"type": "property", "property": "email", "operator": "is_known",
                     "value": None},
                    {"type": "property", "property": "hs_object_id", "operator": "between",
                     "value": ["1", 10]},
                    {"type": "property", "property": "createdate", "operator": "gte",
                     "value": {"days_ago": 30}},
                    {"type": "property", "property": "createdate", "operator": "lt",
                     "value": 1_900_000_000_000},
                    {"type": "property", "property": "lifecyclestage", "operator": "in",
                     "value": ["lead", "customer"]},
                ]
            },
            {
                "and": [
                    {"type": "event_registered", "event_id": f" {event.pk} "},
                    {"type": "event_cancelled", "event_id": None, "negate": True},
                    {"type": "event_attended", "event_id": event.pk},
                    {"type": "event_attendance_duration", "event_id": str(event.pk),
                     "operator": "between", "value": [60, "3600"]},
                ]
            },
            {
                "and": [
                    {"type": "zoom_webinar_attendance", "webinar_id": UPCOMING_ID,
                     "webinar_name": {"operator": "contains", "value": "launch"},
                     "duration": {"operator": "gte", "value": "600"},
                     "duration_percent": {"operator": "between", "value": [50, 100]}},
                    {"type": "zoom_webinar_registration", "webinar_id": f"{UPCOMING_ID}",
                     "webinar_name": None, "negate": False},
                    {"type": "zoom_recording_available",
                     "topic": {"operator": "is_unknown", "value": None, "note": "ignored"},
                     "start_time": {"operator": "between",
                                    "value": ["2025-01-01", {"days_ahead": 7}]},
                     "recording_url": {"operator": "starts_with", "value": "https://"}},
                ]
            },
            {
                # Engagement filters (rules E6-E8).
                "and": [
                    {"type": "zoom_poll_answer", "webinar_id": UPCOMING_ID,
                     "question": {"operator": "contains", "value": "buy"},
                     "answer": {"operator": "in", "value": ["This quarter", 2]}},
                    {"type": "zoom_survey_answer", "webinar_id": None, "question": None,
                     "answer": {"operator": "eq", "value": "5"}, "negate": True},
                    {"type": "zoom_asked_question", "webinar_id": f"{UPCOMING_ID}"},
                    {"type": "zoom_recording_viewed",
                     "duration": {"operator": "gte", "value": "600"}},
                    {"type": "zoom_engagement_score", "operator": "between",
                     "value": [40, "90"]},
                ]
            },
            {
                "and": [  # rules E1, E4, E5
                    {"type": "zoom_registration_answer", "webinar_id": UPCOMING_ID,
                     "question": "Company size", "operator": "in", "value": ["1-10", "100+"]},
                    {"type": "registration_source", "event_id": str(event.pk),
                     "field": "utm_source", "operator": "eq", "value": "newsletter"},
                ]
            },
        ]
    }  # fmt: skip


def test_every_filter_and_action_type_describes_its_json():
    for name, filter_type in FILTER_TYPES.items():
        assert filter_type.schema is not None, f"filter type {name} has no schema"
        for direction in ("request", "response"):
            node = filter_type.schema(direction)
            assert node["properties"]["type"]["enum"] == [name]
            assert node["additionalProperties"] is False  # expect_keys refuses other keys
    for name, action_type in ACTION_TYPES.items():
        assert action_type.schema is not None, f"action type {name} has no schema"


def test_segment_answers_match_the_schema(schema, admin_api, event):  # rules G1, G2, B9
    url = "/api/v1/segments/"
    created = call(
        schema,
        admin_api,
        "POST",
        url,
        {"name": "Everyone", "filters": every_filter_type(event)},
        status=201,
    )
    # The service normalized the tree: what the response schema describes, not the input.
    nodes = [node for group in created["filters"]["or"] for node in group["and"]]
    assert len(nodes) == 20 and {n["type"] for n in nodes} == set(FILTER_TYPES)
    assert nodes[0]["value"] == "42" and nodes[6]["event_id"] == event.pk
    assert nodes[10]["webinar_id"] == str(UPCOMING_ID)
    segment = f"{url}{created['id']}/"
    call(schema, admin_api, "GET", segment, status=200)
    call(schema, admin_api, "GET", url, status=200)
    call(schema, admin_api, "PATCH", segment, {"filters": tree(nodes[6])}, status=200)
    call(schema, admin_api, "GET", f"{segment}count/", status=200)
    call(schema, admin_api, "GET", f"{segment}members/", status=200)
    static = call(schema, admin_api, "POST", f"{segment}snapshot/", {"name": "Frozen"}, status=201)
    assert static["kind"] == "static"
    preview = {"filters": every_filter_type(event)}
    call(schema, admin_api, "POST", f"{url}preview/", preview, status=200)
    legacy = tree(
        {"type": "property", "property": P3, "operator": "gte", "value": 1},
        {"type": "property", "property": P3, "operator": "gt", "value": 5},
    )
    converted = call(
        schema, admin_api, "POST", f"{url}convert-legacy/", {"filters": legacy}, status=200
    )
    assert (converted["converted"], converted["kept"]) == (1, 1)


@pytest.mark.parametrize(
    "node",
    [
        {"type": "nope"},
        {"type": "property", "property": "email", "operator": "like", "value": "x"},
        {"type": "property", "property": "email", "operator": "eq", "value": "x", "extra": 1},
        {"type": "event_attended", "event_id": "12-3"},
        {"type": "event_attended", "event_id": None, "negate": "yes"},
        {"type": "event_attendance_duration", "operator": "is_known"},
        {"type": "zoom_webinar_attendance", "webinar_id": -5},
        {"type": "zoom_webinar_attendance", "duration_percent": {"operator": "gt", "value": 101}},
        {"type": "zoom_recording_available", "webinar_id": "84000000001"},
    ],
)
def test_filters_the_schema_refuses_are_refused(schema, admin_api, event, node):  # rule G2
    body = {"name": "Refused", "filters": tree(node)}
    with pytest.raises(AssertionError, match="does not match the schema"):
        assert_request_documented(schema, "POST", "/api/v1/segments/", body)
    response = admin_api.post("/api/v1/segments/", body, format="json")
    assert response.status_code == 400
    assert_response_documented(schema, "POST", "/api/v1/segments/", response)


@pytest.mark.parametrize(
    "filters",
    [{"and": []}, {"or": [{"and": []}]}, {"or": [{"and": [{"type": "event_attended"}]}] * 26}],
)
def test_trees_the_schema_refuses_are_refused(schema, admin_api, filters):
    body = {"name": "Refused", "filters": filters}
    with pytest.raises(AssertionError, match="does not match the schema"):
        assert_request_documented(schema, "POST", "/api/v1/segments/", body)
    assert admin_api.post("/api/v1/segments/", body, format="json").status_code == 400


def test_workflow_answers_match_the_schema(
    schema, admin_api, event, django_capture_on_commit_callbacks
):
    Account.objects.update_or_create(pk=1, defaults={"tier": Tier.PROFESSIONAL})
    url = "/api/v1/workflows/"
    body = {
        "name": "Register attendees",
        "trigger": {"type": "filters", "filters": tree({"type": "event_attended"})},
        "actions": [
            {"type": "zoom.add_contact_to_webinar", "webinar_id": UPCOMING_ID},
            {"type": "zoom.add_contact_to_webinar", "webinar_id": "",
             "webinar_id_property": "zip"},
        ],
    }  # fmt: skip
    created = call(schema, admin_api, "POST", url, body, status=201)
    assert created["trigger"]["filters"]["or"][0]["and"][0]["event_id"] is None
    assert created["actions"][0] == {
        "type": "zoom.add_contact_to_webinar",
        "webinar_id": str(UPCOMING_ID),
    }
    workflow = f"{url}{created['id']}/"
    call(schema, admin_api, "GET", workflow, status=200)
    manual = {"trigger": {"type": "manual"}, "enabled": True}
    call(schema, admin_api, "PATCH", workflow, manual, status=200)
    call(schema, admin_api, "GET", url, status=200)
    contact = ContactFactory()
    # No Zoom connection: the action fails and is logged, which is all this test needs.
    enroll = {"contact_ids": [contact.pk]}
    with django_capture_on_commit_callbacks(execute=True):
        call(schema, admin_api, "POST", f"{workflow}enroll/", enroll, status=200)
    executions = call(schema, admin_api, "GET", f"{workflow}executions/", status=200)
    assert executions["results"], "the enrollment ran no action"


def test_token_answers_match_the_schema(schema, admin_user):
    # Tokens are managed in a session, not with a token.
    browser = APIClient()
    browser.force_login(admin_user)
    created = call(schema, browser, "POST", "/api/v1/tokens/", {"name": "Reports"}, status=201)
    assert created["scopes"]
    call(schema, browser, "GET", "/api/v1/tokens/", status=200)


def test_zoom_answers_match_the_schema(
    schema, admin_api, zoom_sandbox, django_capture_on_commit_callbacks
):
    brand = Brand.objects.create(name="Acme", is_primary=True)
    body = {"brand": brand.pk, "kind": "s2s", "account_id": ACME, **S2S}
    with django_capture_on_commit_callbacks(execute=True):
        connection = call(schema, admin_api, "POST", "/api/v1/zoom/connections/", body, status=201)
    base = f"/api/v1/zoom/connections/{connection['id']}/"
    call(schema, admin_api, "GET", base, status=200)
    call(schema, admin_api, "GET", "/api/v1/zoom/connections/", status=200)
    call(schema, admin_api, "PATCH", f"{base}settings/", {"sync_webinar_data": True}, status=200)
    call(schema, admin_api, "GET", f"{base}users/", status=200)
    call(schema, admin_api, "GET", f"{base}webinars/", status=200)
    with django_capture_on_commit_callbacks(execute=True):
        requested = call(schema, admin_api, "POST", f"{base}sync/", status=202)

    run = call(schema, admin_api, "GET", f"/api/v1/zoom/sync-runs/{requested['id']}/", status=200)
    stored = SyncRun.objects.get(pk=requested["id"])
    assert run["status"] == stored.status == SyncStatus.SUCCEEDED, run["errors"]
    assert run["progress"] == {"done": stored.progress_done, "total": stored.progress_total}
    assert run["counts"]["webinars"] > 0 and run["skips"], "the scenario skips someone"  # Z9
    call(schema, admin_api, "GET", f"{base}sync-runs/", status=200)
    skips = f"/api/v1/zoom/sync-runs/{run['id']}/skips/"
    assert call(schema, admin_api, "GET", skips, status=200)["results"]

    synced = Participation.objects.values_list("contact_id", flat=True).first()
    assert TimelineEntry.objects.filter(contact_id=synced).exists()
    assert Contact.objects.filter(pk=synced).exists()
    call(schema, admin_api, "GET", f"/api/v1/contacts/{synced}/timeline/", status=200)
    call(schema, admin_api, "DELETE", base, status=200)
