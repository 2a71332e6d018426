"""HubSpot-compatible contacts v3: list, create, get, update, archive, restore, auth."""

import pytest

from crm import scopes
from crm.models import Contact, SecondaryEmail, Tombstone
from crm.properties import format_datetime
from tests.factories import ContactFactory, SecondaryEmailFactory

URL = "/crm/v3/objects/contacts"
ERROR_KEYS = {"status", "message", "correlationId", "category"}

pytestmark = pytest.mark.django_db


def _snapshot():
    return sorted(Contact.objects.values_list("id", "email", "first_name", "archived_at")), sorted(
        SecondaryEmail.objects.values_list("email", "contact_id")
    )


def _expected(contact, properties, **extra):
    body = {
        "id": str(contact.pk),
        "properties": properties,
        "createdAt": format_datetime(contact.created_at),
        "updatedAt": format_datetime(contact.updated_at),
        "archived": contact.archived_at is not None,
    }
    if contact.archived_at:
        body["archivedAt"] = format_datetime(contact.archived_at)
    body.update(extra)
    return body


def _always(contact):
    return {
        "createdate": format_datetime(contact.created_at),
        "hs_object_id": str(contact.pk),
        "lastmodifieddate": format_datetime(contact.updated_at),
    }


# --- create ---------------------------------------------------------------------------------


def test_create_returns_201_with_the_properties_set(marketer_api):
    response = marketer_api.post(
        URL,
        {
            "properties": {"email": " Ana@Example.COM ", "firstname": "Ana", "company": "Acme"},
            "associations": [],
        },
        format="json",
    )

    assert response.status_code == 201
    contact = Contact.objects.get()
    assert contact.email == "ana@example.com"  # rule Z8
    assert response.json() == _expected(
        contact,
        {
            "email": "ana@example.com",
            "firstname": "Ana",
            "company": "Acme",
            **_always(contact),
        },
    )


def test_create_duplicate_email_answers_hubspots_exact_409_body(marketer_api):
    existing = ContactFactory(email="ana@example.com")

    response = marketer_api.post(URL, {"properties": {"email": "  ANA@example.com"}}, format="json")

    assert response.status_code == 409
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["status"] == "error"
    assert body["category"] == "CONFLICT"
    assert body["message"] == f"Contact already exists. Existing ID: {existing.pk}"
    assert body["correlationId"]
    assert Contact.objects.count() == 1


def test_create_with_anothers_secondary_email_is_a_409(marketer_api):
    secondary = SecondaryEmailFactory(email="old@example.com")

    response = marketer_api.post(URL, {"properties": {"email": "OLD@example.com"}}, format="json")

    assert response.status_code == 409
    assert response.json()["message"] == (
        f"Contact already exists. Existing ID: {secondary.contact_id}"
    )


@pytest.mark.parametrize(
    ("properties", "named"),
    [
        ({"email": "a@example.com", "favourite_colour": "red"}, "favourite_colour"),
        ({"email": "a@example.com", "hs_object_id": "12"}, "hs_object_id"),
        ({"email": "not-an-email"}, "email"),
        ({"lifecyclestage": "alien"}, "lifecyclestage"),
        ({"hs_additional_emails": "ok@example.com;bad@"}, "hs_additional_emails"),
    ],
)
def test_create_with_a_bad_property_is_a_400_naming_it_and_changes_nothing(
    marketer_api, properties, named
):
    before = _snapshot()

    response = marketer_api.post(URL, {"properties": properties}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "error"
    assert body["category"] == "VALIDATION_ERROR"
    assert [e["context"]["propertyName"] for e in body["errors"]] == [[named]]
    assert _snapshot() == before


@pytest.mark.parametrize(
    "payload",
    [
        [{"properties": {"email": "a@example.com"}}],
        {"properties": ["email", "a@example.com"]},
        {"properties": {"email": {"value": "a@example.com"}}},
        {"properties": {"firstname": ["Ana"]}},
        {},
        {"properties": {"email": "a@example.com"}, "associations": [{"to": {"id": "1"}}]},
    ],
)
def test_create_with_wrong_types_is_a_400_and_changes_nothing(marketer_api, payload):
    response = marketer_api.post(URL, payload, format="json")

    assert response.status_code == 400
    assert response.json()["status"] == "error"
    assert Contact.objects.count() == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", URL),
        ("patch", f"{URL}/1"),
        ("post", f"{URL}/search"),
        ("post", f"{URL}/batch/create"),
    ],
)
def test_malformed_json_is_a_hubspot_400_and_changes_nothing(marketer_api, method, path):
    ContactFactory(pk=1, email="ana@example.com", first_name="Ana")
    before = _snapshot()

    response = getattr(marketer_api, method)(
        path, data='{"properties": {"firstname": "Bob",', content_type="application/json"
    )

    assert response.status_code == 400
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["category"] == "VALIDATION_ERROR"
    assert body["message"].startswith("Invalid input JSON")
    assert _snapshot() == before


# --- get ------------------------------------------------------------------------------------


def test_get_by_id_returns_the_default_properties(viewer_api):
    contact = ContactFactory(email="ana@example.com", first_name="Ana", last_name="Silva")

    response = viewer_api.get(f"{URL}/{contact.pk}")

    assert response.status_code == 200
    assert response.json() == _expected(
        contact,
        {"email": "ana@example.com", "firstname": "Ana", "lastname": "Silva", **_always(contact)},
    )


def test_get_by_email_ignores_case_and_spaces(viewer_api):
    contact = ContactFactory(email="ana@example.com")

    response = viewer_api.get(f"{URL}/%20ANA@Example.com%20", {"idProperty": "email"})

    assert response.status_code == 200
    assert response.json()["id"] == str(contact.pk)


def test_get_properties_comma_separated_and_repeated(viewer_api):
    contact = ContactFactory(email="ana@example.com", company="Acme", phone="", city="Porto")
    SecondaryEmailFactory(contact=contact, email="b@example.org")
    SecondaryEmailFactory(contact=contact, email="a@example.org")

    response = viewer_api.get(
        f"{URL}/{contact.pk}?properties=company,phone&properties=hs_additional_emails"
        "&properties=no_such_property"
    )

    assert response.json()["properties"] == {
        "company": "Acme",
        "phone": None,
        "hs_additional_emails": "a@example.org;b@example.org",
        **_always(contact),
    }


def test_get_unknown_contact_is_a_hubspot_404(viewer_api):
    response = viewer_api.get(f"{URL}/999999")

    assert response.status_code == 404
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["category"] == "OBJECT_NOT_FOUND"


def test_get_archived_contact_only_with_archived_true(viewer_api):
    contact = ContactFactory(email="gone@example.com")
    Contact.objects.filter(pk=contact.pk).update(archived_at=contact.created_at)
    contact.refresh_from_db()

    assert viewer_api.get(f"{URL}/{contact.pk}").status_code == 404
    response = viewer_api.get(f"{URL}/{contact.pk}", {"archived": "true"})

    assert response.status_code == 200
    body = response.json()
    assert body["archived"] is True
    assert body["archivedAt"] == format_datetime(contact.archived_at)


def test_get_by_unsupported_id_property_is_a_400(viewer_api):
    contact = ContactFactory()

    response = viewer_api.get(f"{URL}/{contact.pk}", {"idProperty": "phone"})

    assert response.status_code == 400
    assert "idProperty" in response.json()["message"]


# --- update ---------------------------------------------------------------------------------


def test_update_sets_and_clears_values(marketer_api):
    contact = ContactFactory(email="ana@example.com", first_name="Ana", company="Acme")

    response = marketer_api.patch(
        f"{URL}/{contact.pk}",
        {"properties": {"firstname": "Ana Maria", "company": "", "city": "Porto"}},
        format="json",
    )

    assert response.status_code == 200
    contact.refresh_from_db()
    assert (contact.first_name, contact.company, contact.city) == ("Ana Maria", "", "Porto")
    assert response.json()["properties"] == {
        "email": "ana@example.com",
        "firstname": "Ana Maria",
        "lastname": contact.last_name,
        "company": None,
        "city": "Porto",
        **_always(contact),
    }


def test_update_by_email_and_secondary_emails(marketer_api):
    contact = ContactFactory(email="ana@example.com")

    response = marketer_api.patch(
        f"{URL}/ANA@example.com?idProperty=email",
        {"properties": {"hs_additional_emails": "X@example.org; y@example.org"}},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["properties"]["hs_additional_emails"] == "x@example.org;y@example.org"
    assert sorted(contact.secondary_emails.values_list("email", flat=True)) == [
        "x@example.org",
        "y@example.org",
    ]


@pytest.mark.parametrize(
    ("properties", "named"),
    [
        ({"firstname": "Bob", "no_such": "x"}, "no_such"),
        ({"firstname": "Bob", "createdate": "2020-01-01"}, "createdate"),
        ({"firstname": "Bob", "email": "bad email"}, "email"),
    ],
)
def test_update_with_a_bad_property_is_a_400_and_changes_nothing(marketer_api, properties, named):
    contact = ContactFactory(email="ana@example.com", first_name="Ana")
    before = _snapshot()

    response = marketer_api.patch(f"{URL}/{contact.pk}", {"properties": properties}, format="json")

    assert response.status_code == 400
    assert [e["context"]["propertyName"] for e in response.json()["errors"]] == [[named]]
    assert _snapshot() == before


def test_update_to_an_email_in_use_is_a_409(marketer_api):
    other = ContactFactory(email="taken@example.com")
    contact = ContactFactory(email="ana@example.com")

    response = marketer_api.patch(
        f"{URL}/{contact.pk}", {"properties": {"email": "Taken@example.com"}}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["message"] == f"Contact already exists. Existing ID: {other.pk}"
    contact.refresh_from_db()
    assert contact.email == "ana@example.com"


def test_update_of_archived_or_unknown_contact_is_a_404(marketer_api):
    contact = ContactFactory()
    Contact.objects.filter(pk=contact.pk).update(archived_at=contact.created_at)

    archived = marketer_api.patch(f"{URL}/{contact.pk}", {"properties": {}}, format="json")
    unknown = marketer_api.patch(f"{URL}/999999", {"properties": {}}, format="json")

    assert (archived.status_code, unknown.status_code) == (404, 404)


# --- archive and restore --------------------------------------------------------------------


def test_delete_archives_and_leaves_a_tombstone(marketer_api):
    contact = ContactFactory(email="ana@example.com")

    response = marketer_api.delete(f"{URL}/{contact.pk}")

    assert response.status_code == 204
    contact.refresh_from_db()
    assert contact.archived_at is not None
    assert Tombstone.objects.get().email == "ana@example.com"  # rule Z6
    assert marketer_api.get(f"{URL}/{contact.pk}").status_code == 404
    # Archiving again is idempotent; an unknown id is a 404.
    assert marketer_api.delete(f"{URL}/{contact.pk}").status_code == 204
    assert marketer_api.delete(f"{URL}/999999").status_code == 404


def test_restore_brings_the_contact_back_and_lifts_the_tombstone(marketer_api):
    contact = ContactFactory(email="ana@example.com", first_name="Ana")
    marketer_api.delete(f"{URL}/{contact.pk}")

    response = marketer_api.post(f"{URL}/{contact.pk}/restore")  # rule B6

    assert response.status_code == 200
    contact.refresh_from_db()
    assert contact.archived_at is None
    assert response.json() == _expected(
        contact,
        {
            "email": "ana@example.com",
            "firstname": "Ana",
            "lastname": contact.last_name,
            **_always(contact),
        },
    )
    assert not Tombstone.objects.exists()


def test_restore_is_a_409_when_a_live_contact_has_the_email(marketer_api):
    contact = ContactFactory(email="ana@example.com")
    marketer_api.delete(f"{URL}/{contact.pk}")
    newer = marketer_api.post(URL, {"properties": {"email": "ana@example.com"}}, format="json")

    response = marketer_api.post(f"{URL}/{contact.pk}/restore")

    assert response.status_code == 409
    body = response.json()
    assert body["category"] == "CONFLICT"
    assert newer.json()["id"] in body["message"]
    contact.refresh_from_db()
    assert contact.archived_at is not None


def test_restore_of_unknown_contact_is_a_404(marketer_api):
    assert marketer_api.post(f"{URL}/999999/restore").status_code == 404


# --- list -----------------------------------------------------------------------------------


def test_list_pages_by_id_and_leaves_paging_out_on_the_last_page(viewer_api):
    contacts = [ContactFactory() for _ in range(25)]
    ids, after, pages = [], None, 0

    while True:
        params = {"limit": 10, **({"after": after} if after else {})}
        body = viewer_api.get(URL, params).json()
        pages += 1
        ids.extend(int(r["id"]) for r in body["results"])
        if "paging" not in body:
            break
        after = body["paging"]["next"]["after"]
        assert body["paging"]["next"]["link"].endswith(f"after={after}")
        assert "limit=10" in body["paging"]["next"]["link"]

    assert pages == 3
    assert ids == [c.pk for c in contacts]
    assert len(body["results"]) == 5


def test_list_defaults_to_ten_and_the_default_properties(viewer_api):
    contacts = [ContactFactory() for _ in range(11)]

    body = viewer_api.get(URL).json()

    assert len(body["results"]) == 10
    assert body["paging"]["next"]["after"] == str(contacts[9].pk)
    first = contacts[0]
    assert body["results"][0] == _expected(
        first,
        {
            "email": first.email,
            "firstname": first.first_name,
            "lastname": first.last_name,
            **_always(first),
        },
    )


def test_list_archived_true_lists_only_archived(viewer_api):
    live, gone = ContactFactory(), ContactFactory()
    Contact.objects.filter(pk=gone.pk).update(archived_at=gone.created_at)

    live_ids = [r["id"] for r in viewer_api.get(URL).json()["results"]]
    archived = viewer_api.get(URL, {"archived": "true"}).json()["results"]

    assert live_ids == [str(live.pk)]
    assert [(r["id"], r["archived"]) for r in archived] == [(str(gone.pk), True)]


@pytest.mark.parametrize(
    "params",
    [{"limit": 101}, {"limit": 0}, {"limit": "ten"}, {"after": "abc"}, {"archived": "maybe"}],
)
def test_list_with_bad_paging_parameters_is_a_400(viewer_api, params):
    response = viewer_api.get(URL, params)

    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("count", [5, 50])
def test_list_page_costs_a_constant_number_of_queries(
    viewer_api, django_assert_max_num_queries, count
):
    for _ in range(count):
        SecondaryEmailFactory()
    viewer_api.get(URL)  # the token's last-use time is written on first use

    # token, custom property specs, contacts, secondary e-mails
    with django_assert_max_num_queries(4):
        response = viewer_api.get(URL, {"limit": 100, "properties": "email,hs_additional_emails"})

    assert len(response.json()["results"]) == count


# --- auth -----------------------------------------------------------------------------------


def test_no_token_is_a_hubspot_401(client):
    response = client.get(URL)

    assert response.status_code == 401
    assert response.json()["category"] == "INVALID_AUTHENTICATION"


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("post", URL, {"properties": {"email": "new@example.com"}}),
        ("patch", f"{URL}/{{id}}", {"properties": {"firstname": "X"}}),
        ("delete", f"{URL}/{{id}}", None),
        ("post", f"{URL}/{{id}}/restore", None),
    ],
)
def test_viewer_token_may_not_write(viewer_api, method, path, payload):
    contact = ContactFactory(email="ana@example.com", first_name="Ana")
    before = _snapshot()

    response = getattr(viewer_api, method)(path.format(id=contact.pk), payload, format="json")

    assert response.status_code == 403
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["category"] == "MISSING_SCOPES"
    assert _snapshot() == before


def test_token_without_contacts_scopes_is_refused(token_client, admin_user):
    contact = ContactFactory()
    api = token_client(admin_user, scopes=[scopes.ACCOUNT_READ])

    assert api.get(URL).status_code == 403
    assert api.get(f"{URL}/{contact.pk}").status_code == 403
    assert api.post(f"{URL}/search", {}, format="json").status_code == 403


def test_read_only_token_may_read_but_not_write(token_client, marketer):
    api = token_client(marketer, scopes=[scopes.CONTACTS_READ])

    assert api.get(URL).status_code == 200
    response = api.post(URL, {"properties": {"email": "a@example.com"}}, format="json")

    assert response.status_code == 403
    assert scopes.CONTACTS_WRITE in response.json()["message"]
    assert not Contact.objects.exists()


def test_session_login_works_too(client, marketer):
    client.force_login(marketer)

    response = client.post(
        URL, {"properties": {"email": "a@example.com"}}, content_type="application/json"
    )

    assert response.status_code == 201


def test_a_null_character_in_a_property_value_is_a_400(marketer_api):
    response = marketer_api.post(
        URL, {"properties": {"email": "nul@example.com", "company": "a\x00b"}}, format="json"
    )
    assert response.status_code == 400
    assert "null characters" in response.json()["message"]
    assert not Contact.objects.exists()


@pytest.mark.parametrize(
    ("query", "bound"),
    [
        ("properties=" + ",".join(f"p{i}" for i in range(61)), "60 property names"),
        ("&".join(f"properties=p{i}" for i in range(61)), "60 values"),
        ("properties=email," + "p" * 101, "100 characters"),
        ("properties=email,caf%C3%A9", "letters, digits and underscores"),
    ],
)
@pytest.mark.parametrize("path", ["", "/{id}"])
def test_properties_beyond_their_bounds_are_a_400_naming_them(viewer_api, query, bound, path):
    contact = ContactFactory()

    response = viewer_api.get(f"{URL}{path.format(id=contact.pk)}?{query}")

    assert response.status_code == 400
    assert response.json()["message"].startswith("properties: ")
    assert bound in response.json()["message"]
    assert response.json()["errors"][0]["context"] == {"propertyName": ["properties"]}


def test_sixty_properties_of_a_hundred_characters_are_accepted(viewer_api):
    # The longest list an address may carry: it fits gunicorn's 8,190-byte request line.
    contact = ContactFactory(email="ana@example.com")
    names = ["email", *(f"p{i:03d}" + "p" * 96 for i in range(59))]

    response = viewer_api.get(f"{URL}/{contact.pk}", {"properties": ",".join(names)})

    assert response.status_code == 200
    assert response.json()["properties"]["email"] == "ana@example.com"


@pytest.mark.parametrize("params", [{"after": "9" * 5000}, {"limit": "9" * 5000}, {"limit": "²"}])
def test_list_with_oversized_or_unicode_numbers_is_a_400(viewer_api, params):
    response = viewer_api.get(URL, params)

    assert response.status_code == 400
    assert len(response.json()["message"]) < 200


def test_the_schema_states_the_properties_bounds():
    from tests.support.openapi import parameter

    for path in (URL, URL + "/{contact_id}"):
        schema = parameter(path, "get", "properties")
        assert schema["maxItems"] == 60
        assert schema["items"] == {
            "type": "string",
            "maxLength": 100,
            "pattern": "^[A-Za-z0-9_]*$",
        }
