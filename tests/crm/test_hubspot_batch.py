"""HubSpot-compatible contacts v3 batch endpoints: read, create, update, upsert, archive.

Isolation (crm.hubspot.batch): each input runs in its own savepoint, so a failing input is
reported in a 207 and the others are kept; a malformed or oversize batch changes nothing."""

import pytest

from crm.models import Contact, SecondaryEmail, Tombstone
from crm.properties import format_datetime
from tests.factories import ContactFactory

URL = "/crm/v3/objects/contacts/batch"

pytestmark = pytest.mark.django_db


def _state():
    return sorted(
        Contact.objects.values_list("id", "email", "first_name", "company", "archived_at")
    ), sorted(SecondaryEmail.objects.values_list("email", "contact_id"))


def _always(contact):
    return {
        "createdate": format_datetime(contact.created_at),
        "hs_object_id": str(contact.pk),
        "lastmodifieddate": format_datetime(contact.updated_at),
    }


# --- read -----------------------------------------------------------------------------------


def test_batch_read_by_id(viewer_api):
    ana = ContactFactory(email="ana@x.com", first_name="Ana", last_name="Silva", company="Acme")
    bob = ContactFactory(email="bob@x.com")

    response = viewer_api.post(
        f"{URL}/read",
        {"inputs": [{"id": str(ana.pk)}, {"id": bob.pk}], "properties": ["company"]},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status", "results", "startedAt", "completedAt"}
    assert body["status"] == "COMPLETE"
    assert [r["id"] for r in body["results"]] == [str(ana.pk), str(bob.pk)]
    assert body["results"][0]["properties"] == {"company": "Acme", **_always(ana)}


def test_batch_read_by_email_reports_missing_ids_in_a_207(viewer_api):
    ana = ContactFactory(email="ana@x.com")

    response = viewer_api.post(
        f"{URL}/read",
        {"idProperty": "email", "inputs": [{"id": " ANA@x.com"}, {"id": "nobody@x.com"}]},
        format="json",
    )

    assert response.status_code == 207
    body = response.json()
    assert [r["id"] for r in body["results"]] == [str(ana.pk)]
    assert body["numErrors"] == 1
    assert body["errors"] == [
        {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "message": "Could not get some CONTACT objects, they may be deleted or not exist. "
            "Check that ids are valid.",
            "context": {"ids": ["nobody@x.com"]},
        }
    ]


def test_batch_read_archived(viewer_api):
    gone = ContactFactory()
    Contact.objects.filter(pk=gone.pk).update(archived_at=gone.created_at)

    live = viewer_api.post(f"{URL}/read", {"inputs": [{"id": gone.pk}]}, format="json")
    archived = viewer_api.post(
        f"{URL}/read?archived=true", {"inputs": [{"id": gone.pk}]}, format="json"
    )

    assert live.status_code == 207
    assert archived.status_code == 200
    assert archived.json()["results"][0]["archived"] is True


# --- create ---------------------------------------------------------------------------------


def test_batch_create_all_ok_is_a_201(marketer_api):
    response = marketer_api.post(
        f"{URL}/create",
        {
            "inputs": [
                {"properties": {"email": "A@x.com", "firstname": "Ana"}, "associations": []},
                {"properties": {"email": "b@x.com", "hs_additional_emails": "b2@x.com"}},
            ]
        },
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert "errors" not in body and "numErrors" not in body
    ana, bob = Contact.objects.order_by("pk")
    assert [r["id"] for r in body["results"]] == [str(ana.pk), str(bob.pk)]
    assert body["results"][1]["properties"] == {
        "email": "b@x.com",
        "firstname": bob.first_name or None,
        "lastname": None,
        "hs_additional_emails": "b2@x.com",
        **_always(bob),
    }


def test_batch_create_isolates_failing_inputs_in_a_207(marketer_api):
    existing = ContactFactory(email="taken@x.com")

    response = marketer_api.post(
        f"{URL}/create",
        {
            "inputs": [
                {"properties": {"email": "new1@x.com"}},
                {"properties": {"email": "TAKEN@x.com"}},
                {"properties": {"email": "bad@", "firstname": "X"}},
                {"properties": {"email": "new2@x.com", "nope": "1"}},
                {"properties": {"email": "new1@x.com"}},
                {"properties": {"email": "new3@x.com"}},
            ]
        },
        format="json",
    )

    assert response.status_code == 207
    body = response.json()
    created = dict(Contact.objects.exclude(pk=existing.pk).values_list("email", "pk"))
    assert sorted(created) == ["new1@x.com", "new3@x.com"]
    assert [r["properties"]["email"] for r in body["results"]] == ["new1@x.com", "new3@x.com"]
    assert body["numErrors"] == 4
    conflict, invalid, unknown, duplicate = body["errors"]
    assert conflict == {
        "status": "error",
        "category": "CONFLICT",
        "message": f"Contact already exists. Existing ID: {existing.pk}",
        "context": {"index": ["1"], "existingId": [str(existing.pk)]},
    }
    assert (invalid["category"], invalid["context"]["index"]) == ("VALIDATION_ERROR", ["2"])
    assert invalid["errors"][0]["context"] == {"propertyName": ["email"]}
    assert unknown["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST"
    assert duplicate["message"] == f"Contact already exists. Existing ID: {created['new1@x.com']}"


@pytest.mark.parametrize(
    "payload",
    [
        {"inputs": [{"properties": {"email": f"p{i}@x.com"}} for i in range(101)]},
        {"inputs": []},
        {},
        {"inputs": {"properties": {"email": "a@x.com"}}},
        {"inputs": [{"properties": {"email": "a@x.com"}}, {"properties": "email=b@x.com"}]},
        {"inputs": [{"properties": {"email": "a@x.com"}}, {"email": "b@x.com"}]},
    ],
    ids=["101-inputs", "empty", "missing", "not-a-list", "wrong-type", "no-properties"],
)
def test_malformed_or_oversize_batch_create_is_a_400_and_changes_nothing(marketer_api, payload):
    response = marketer_api.post(f"{URL}/create", payload, format="json")

    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"
    assert not Contact.objects.exists()


def test_oversize_batch_message_names_the_limit(marketer_api):
    payload = {"inputs": [{"properties": {"email": f"p{i}@x.com"}} for i in range(101)]}

    response = marketer_api.post(f"{URL}/create", payload, format="json")

    assert "At most 100 inputs per batch; got 101." in response.json()["message"]


# --- update ---------------------------------------------------------------------------------


def test_batch_update_by_id_and_email(marketer_api):
    ana = ContactFactory(email="ana@x.com", company="Old")
    bob = ContactFactory(email="bob@x.com", company="Old")

    response = marketer_api.post(
        f"{URL}/update",
        {
            "inputs": [
                {"id": str(ana.pk), "properties": {"company": "Acme"}},
                {"id": "BOB@x.com", "idProperty": "email", "properties": {"company": ""}},
            ]
        },
        format="json",
    )

    assert response.status_code == 200
    ana.refresh_from_db()
    bob.refresh_from_db()
    assert (ana.company, bob.company) == ("Acme", "")
    assert [r["properties"]["company"] for r in response.json()["results"]] == ["Acme", None]


def test_batch_update_reports_unknown_ids_and_bad_values_in_a_207(marketer_api):
    ana = ContactFactory(email="ana@x.com", company="Old")
    bob = ContactFactory(email="bob@x.com", company="Old")

    response = marketer_api.post(
        f"{URL}/update",
        {
            "inputs": [
                {"id": str(ana.pk), "properties": {"company": "Acme"}},
                {"id": "999999", "properties": {"company": "X"}},
                {"id": str(bob.pk), "properties": {"company": "New", "nope": "1"}},
            ]
        },
        format="json",
    )

    assert response.status_code == 207
    body = response.json()
    assert [r["id"] for r in body["results"]] == [str(ana.pk)]
    assert [(e["category"], e["context"]["ids"]) for e in body["errors"]] == [
        ("OBJECT_NOT_FOUND", ["999999"]),
        ("VALIDATION_ERROR", [str(bob.pk)]),
    ]
    bob.refresh_from_db()
    assert bob.company == "Old"


@pytest.mark.parametrize(
    "inputs",
    [
        [{"id": "1", "properties": {"company": "A"}}, {"id": "1", "properties": {"company": "B"}}],
        [{"id": "1", "idProperty": "phone", "properties": {"company": "A"}}],
        [{"id": str(i), "properties": {"company": "A"}} for i in range(1, 102)],
        [{"id": {"x": 1}, "properties": {}}],
    ],
    ids=["duplicate-ids", "bad-id-property", "101-inputs", "id-not-a-string"],
)
def test_malformed_batch_update_is_a_400_and_changes_nothing(marketer_api, inputs):
    ContactFactory(pk=1, company="Old")
    before = _state()

    response = marketer_api.post(f"{URL}/update", {"inputs": inputs}, format="json")

    assert response.status_code == 400
    assert _state() == before


# --- upsert ---------------------------------------------------------------------------------


def test_batch_upsert_creates_and_updates_by_email(marketer_api):
    ana = ContactFactory(email="ana@x.com", first_name="Ana", company="Old")

    response = marketer_api.post(
        f"{URL}/upsert",
        {
            "inputs": [
                {"id": "Ana@X.com", "idProperty": "email", "properties": {"company": "Acme"}},
                {"id": "new@x.com", "idProperty": "email", "properties": {"firstname": "Neo"}},
            ]
        },
        format="json",
    )

    assert response.status_code == 200
    results = response.json()["results"]
    new = Contact.objects.get(email="new@x.com")
    ana.refresh_from_db()
    assert ana.company == "Acme"
    assert new.first_name == "Neo"
    assert [(r["id"], r["new"]) for r in results] == [(str(ana.pk), False), (str(new.pk), True)]
    assert results[1]["properties"]["email"] == "new@x.com"


def test_batch_upsert_reports_bad_inputs_in_a_207(marketer_api):
    response = marketer_api.post(
        f"{URL}/upsert",
        {
            "inputs": [
                {"id": "ok@x.com", "idProperty": "email", "properties": {}},
                {"id": "not-an-email", "idProperty": "email", "properties": {}},
            ]
        },
        format="json",
    )

    assert response.status_code == 207
    assert response.json()["errors"][0]["context"]["ids"] == ["not-an-email"]
    assert list(Contact.objects.values_list("email", flat=True)) == ["ok@x.com"]


@pytest.mark.parametrize(
    "inputs",
    [
        [{"id": "a@x.com", "properties": {}}],
        [{"id": "1", "idProperty": "hs_object_id", "properties": {}}],
        [
            {"id": "a@x.com", "idProperty": "email", "properties": {}},
            {"id": " A@x.com", "idProperty": "email", "properties": {}},
        ],
        [{"id": f"p{i}@x.com", "idProperty": "email", "properties": {}} for i in range(101)],
    ],
    ids=["no-id-property", "not-email", "duplicates", "101-inputs"],
)
def test_malformed_batch_upsert_is_a_400_and_changes_nothing(marketer_api, inputs):
    response = marketer_api.post(f"{URL}/upsert", {"inputs": inputs}, format="json")

    assert response.status_code == 400
    assert not Contact.objects.exists()


# --- archive --------------------------------------------------------------------------------


def test_batch_archive_archives_and_ignores_unknown_ids(marketer_api):
    ana, bob, carl = ContactFactory(), ContactFactory(), ContactFactory()

    response = marketer_api.post(
        f"{URL}/archive",
        {"inputs": [{"id": str(ana.pk)}, {"id": bob.pk}, {"id": "999999"}]},
        format="json",
    )

    assert response.status_code == 204
    assert list(Contact.objects.filter(archived_at__isnull=True).values_list("pk", flat=True)) == [
        carl.pk
    ]
    assert sorted(Tombstone.objects.values_list("email", flat=True)) == sorted(
        [ana.email, bob.email]
    )  # rule Z6


def test_oversize_batch_archive_is_a_400_and_changes_nothing(marketer_api):
    contacts = [ContactFactory() for _ in range(101)]

    response = marketer_api.post(
        f"{URL}/archive", {"inputs": [{"id": c.pk} for c in contacts]}, format="json"
    )

    assert response.status_code == 400
    assert not Contact.objects.filter(archived_at__isnull=False).exists()


# --- permissions ----------------------------------------------------------------------------


@pytest.mark.parametrize("operation", ["create", "update", "upsert", "archive"])
def test_viewer_may_not_batch_write(viewer_api, operation):
    contact = ContactFactory(email="ana@x.com", company="Old")
    before = _state()
    item = {"id": "ana@x.com", "idProperty": "email", "properties": {"company": "New"}}
    if operation == "create":
        item = {"properties": {"email": "new@x.com"}}
    elif operation == "archive":
        item = {"id": contact.pk}

    response = viewer_api.post(f"{URL}/{operation}", {"inputs": [item]}, format="json")

    assert response.status_code == 403
    assert response.json()["category"] == "MISSING_SCOPES"
    assert _state() == before
