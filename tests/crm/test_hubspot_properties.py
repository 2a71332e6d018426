"""HubSpot-compatible contact property definitions: list, read, create (custom)."""

import pytest

from crm import scopes
from crm.models import Contact, PropertyDefinition
from crm.properties import STANDARD_PROPERTIES, format_datetime
from crm.services.properties import property_definition_create

URL = "/crm/v3/properties/contacts"
PROPERTY_KEYS = {
    "name",
    "label",
    "type",
    "fieldType",
    "groupName",
    "description",
    "options",
    "displayOrder",
    "hidden",
    "formField",
    "calculated",
    "externalOptions",
    "hasUniqueValue",
    "modificationMetadata",
    "archived",
    "hubspotDefined",
}

pytestmark = pytest.mark.django_db


def _create_body(**overrides):
    return {
        "name": "favourite_colour",
        "label": "Favourite colour",
        "type": "enumeration",
        "fieldType": "select",
        "groupName": "contactinformation",
        "options": [{"label": "Red", "value": "red"}, {"label": "Blue", "value": "blue"}],
        **overrides,
    }


def test_list_has_standard_and_custom_properties(viewer_api):
    custom = property_definition_create(
        name="score", label="Score", type="number", field_type="number", group_name="zoom"
    )

    response = viewer_api.get(URL)

    assert response.status_code == 200
    results = response.json()["results"]
    assert [p["name"] for p in results] == [s.name for s in STANDARD_PROPERTIES] + ["score"]
    assert all(set(p) >= PROPERTY_KEYS for p in results)
    email = results[0]
    assert (email["type"], email["fieldType"], email["hasUniqueValue"]) == ("string", "text", True)
    assert email["modificationMetadata"] == {
        "archivable": False,
        "readOnlyDefinition": True,
        "readOnlyValue": False,
    }
    created = {p["name"]: p for p in results}["createdate"]
    assert created["modificationMetadata"]["readOnlyValue"] is True
    score = results[-1]
    assert score["createdAt"] == format_datetime(custom.created_at)
    assert (score["groupName"], score["hubspotDefined"]) == ("zoom", False)


def test_read_one_standard_enumeration_with_its_options(viewer_api):
    response = viewer_api.get(f"{URL}/lifecyclestage")

    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "enumeration"
    assert body["options"][0] == {
        "label": "Subscriber",
        "value": "subscriber",
        "displayOrder": 0,
        "hidden": False,
    }


def test_read_unknown_property_is_a_hubspot_404(viewer_api):
    response = viewer_api.get(f"{URL}/no_such")

    assert response.status_code == 404
    assert response.json()["category"] == "OBJECT_NOT_FOUND"


def test_create_a_custom_property_and_use_it_on_a_contact(marketer_api):
    response = marketer_api.post(URL, _create_body(description="Asked at sign-up"), format="json")

    assert response.status_code == 201
    definition = PropertyDefinition.objects.get()
    assert response.json() == {
        "name": "favourite_colour",
        "label": "Favourite colour",
        "type": "enumeration",
        "fieldType": "select",
        "groupName": "contactinformation",
        "description": "Asked at sign-up",
        "options": [
            {"label": "Red", "value": "red", "displayOrder": 0, "hidden": False},
            {"label": "Blue", "value": "blue", "displayOrder": 1, "hidden": False},
        ],
        "displayOrder": -1,
        "hidden": False,
        "formField": True,
        "calculated": False,
        "externalOptions": False,
        "hasUniqueValue": False,
        "modificationMetadata": {
            "archivable": True,
            "readOnlyDefinition": False,
            "readOnlyValue": False,
        },
        "archived": False,
        "hubspotDefined": False,
        "createdAt": format_datetime(definition.created_at),
        "updatedAt": format_datetime(definition.updated_at),
    }
    assert marketer_api.get(f"{URL}/favourite_colour").json()["name"] == "favourite_colour"
    contacts = "/crm/v3/objects/contacts"
    ok = marketer_api.post(contacts, {"properties": {"favourite_colour": "red"}}, format="json")
    bad = marketer_api.post(contacts, {"properties": {"favourite_colour": "green"}}, format="json")
    assert ok.status_code == 201
    assert ok.json()["properties"]["favourite_colour"] == "red"
    assert bad.status_code == 400
    assert Contact.objects.get().properties == {"favourite_colour": "red"}


def test_bool_property_gets_yes_no_options(marketer_api):
    response = marketer_api.post(
        URL,
        _create_body(name="vip", type="bool", fieldType="booleancheckbox", options=[]),
        format="json",
    )

    assert response.status_code == 201
    assert [o["value"] for o in response.json()["options"]] == ["true", "false"]


@pytest.mark.parametrize("name", ["email", "hs_object_id", "score"])
def test_a_name_already_used_is_a_409(marketer_api, name):
    property_definition_create(
        name="score", label="Score", type="number", field_type="number", group_name="g"
    )

    response = marketer_api.post(URL, _create_body(name=name), format="json")

    assert response.status_code == 409
    assert response.json()["category"] == "CONFLICT"
    assert response.json()["message"] == f"Property named '{name}' already exists."
    assert PropertyDefinition.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"name": "Favourite"}, "name"),
        ({"name": "1st_colour"}, "name"),
        ({"name": "favourite-colour"}, "name"),
        ({"name": "hs_colour"}, "name"),
        ({"type": "colour"}, "type"),
        ({"fieldType": "text"}, "fieldType"),
        ({"type": "number", "fieldType": "select", "options": []}, "fieldType"),
        ({"options": []}, "options"),
        (
            {"options": [{"label": "Red", "value": "red"}, {"label": "Rouge", "value": "red"}]},
            "options",
        ),
        ({"type": "string", "fieldType": "text"}, "options"),
    ],
)
def test_bad_definitions_are_400s_and_create_nothing(marketer_api, overrides, named):
    response = marketer_api.post(URL, _create_body(**overrides), format="json")

    assert response.status_code == 400
    assert [e["context"]["propertyName"] for e in response.json()["errors"]] == [[named]]
    assert not PropertyDefinition.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"label": "No name", "type": "string", "fieldType": "text", "groupName": "g"},
        {**_create_body(), "options": "red,blue"},
        ["favourite_colour"],
    ],
)
def test_malformed_bodies_are_400s(marketer_api, body):
    response = marketer_api.post(URL, body, format="json")

    assert response.status_code == 400
    assert not PropertyDefinition.objects.exists()


def test_schema_scopes_are_required(token_client, marketer, viewer_api):
    contacts_only = token_client(marketer, scopes=[scopes.CONTACTS_READ, scopes.CONTACTS_WRITE])

    assert contacts_only.get(URL).status_code == 403
    assert contacts_only.post(URL, _create_body(), format="json").status_code == 403
    assert viewer_api.get(URL).status_code == 200
    refused = viewer_api.post(URL, _create_body(), format="json")
    assert refused.status_code == 403
    assert refused.json()["category"] == "MISSING_SCOPES"
    assert not PropertyDefinition.objects.exists()
