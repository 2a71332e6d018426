"""A fuzzer found `PATCH /marketing/v3/marketing-events/{id}` answering 500 for a huge number
in the body (JSON's `1e400` reads as infinity, which no timestamp is). Every number field of
every marketing-events write body, given numbers past the 64-bit range (and past a float's):
a 400 in HubSpot's error shape and nothing changed, never a 500. The OpenAPI schema states the
bounds (`test_api_contract.py` fuzzes them)."""

import json

import pytest

from marketing_events.models import MarketingEvent, Participation
from tests.marketing_events.test_hubspot_events import ACCOUNT, M, body

pytestmark = pytest.mark.django_db

HUGE = ["9223372036854775808", "-9223372036854775809", "18446744073709551616", "1" + "0" * 30,
        "1e400", "-1e400", "1.5e308"]  # fmt: skip
EVENT = "84512345678"
V = "@VALUE@"


def _cases(object_id):
    """(method, path, body with V where the number goes)."""
    ext = f"{M}/events/{EVENT}"
    q = f"?externalAccountId={ACCOUNT}"
    att_email = {"inputs": [{"email": "ana@example.com", "interactionDateTime": V}]}
    joined = {"inputs": [{"email": "ana@example.com", "interactionDateTime": 1757516400000,
                          "properties": {"joinedAt": V}}]}  # fmt: skip
    by_vid = {"inputs": [{"vid": V, "interactionDateTime": 1757516400000}]}
    out = []
    for field in ("startDateTime", "endDateTime"):
        out += [
            ("patch", f"{M}/{object_id}", {field: V}),
            ("patch", ext + q, {field: V}),
            ("put", ext, {**body(EVENT), field: V}),
            ("post", f"{M}/events", {**body("84599999999"), field: V}),
            ("post", f"{M}/events/upsert", {"inputs": [{**body(EVENT), field: V}]}),
            ("post", f"{ext}/complete{q}",
             {"startDateTime": 1757516400000, "endDateTime": 1757520000000, field: V}),
        ]  # fmt: skip
    out += [
        ("post", f"{M}/events", {**body("84599999999"), "externalEventId": V}),
        ("post", f"{M}/events", {**body("84599999999"), "externalAccountId": V}),
        ("post", f"{M}/events/upsert", {"inputs": [{**body(EVENT), "externalEventId": V}]}),
        ("put", ext, {**body(EVENT), "externalAccountId": V}),
        ("post", f"{M}/events/delete",
         {"inputs": [{"externalAccountId": ACCOUNT, "externalEventId": EVENT, "appId": V}]}),
        ("post", f"{M}/events/delete",
         {"inputs": [{"externalAccountId": ACCOUNT, "externalEventId": V}]}),
        ("post", f"{M}/attendance/{EVENT}/attended/email-create{q}", att_email),
        ("post", f"{M}/attendance/{EVENT}/attended/email-create{q}", joined),
        ("post", f"{M}/attendance/{EVENT}/attended/create{q}", by_vid),
        ("post", f"{M}/{object_id}/attendance/attended/email-create", att_email),
        ("post", f"{M}/{object_id}/attendance/attended/create", by_vid),
    ]  # fmt: skip
    return out


def _raw(data, value: str) -> str:
    return json.dumps(data).replace(json.dumps(V), value)


@pytest.mark.parametrize("value", HUGE)
def test_huge_numbers_in_every_write_body_get_a_400_and_change_nothing(admin_api, value):
    response = admin_api.post(f"{M}/events", body(EVENT), format="json")
    assert response.status_code == 200, response.content
    object_id = response.json()["objectId"]
    before = list(MarketingEvent.objects.order_by("pk").values())
    wrong = []
    for method, path, data in _cases(object_id):
        response = admin_api.generic(method.upper(), path, _raw(data, value),
                                     content_type="application/json")  # fmt: skip
        if response.status_code != 400 or response.json().get("category") != "VALIDATION_ERROR":
            wrong.append((method, path, _raw(data, value)[:120], response.status_code))
    assert wrong == []
    assert list(MarketingEvent.objects.order_by("pk").values()) == before
    assert not Participation.objects.exists()


def test_a_huge_custom_property_value_is_kept_as_text_and_infinity_refused(admin_api):
    object_id = admin_api.post(f"{M}/events", body(EVENT), format="json").json()["objectId"]
    prop = '{"customProperties": [{"name": "zoom_webinar_uuid", "value": %s}]}'
    response = admin_api.generic("PATCH", f"{M}/{object_id}", prop % "18446744073709551616",
                                 content_type="application/json")  # fmt: skip
    assert response.status_code == 200, response.content
    assert {"name": "zoom_webinar_uuid", "value": "18446744073709551616"} in (
        MarketingEvent.objects.get(pk=object_id).custom_properties
    )
    response = admin_api.generic("PATCH", f"{M}/{object_id}", prop % "1e400",
                                 content_type="application/json")  # fmt: skip
    assert response.status_code == 400, response.content


def test_the_schema_bounds_every_number_of_those_bodies(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    lenient = schema["components"]["schemas"]["EventCreateInputRequest"]["properties"][
        "externalEventId"
    ]
    (number,) = [s for s in lenient["anyOf"] if s["type"] == "integer"]
    assert (number["minimum"], number["maximum"]) == (-(2**63), 2**63 - 1)
