"""The own API under /api/v1/: account, brands, users, tokens, timelines (rule A1)."""

import pytest

from crm.models import ApiToken, Brand, Role, TimelineEvent, User
from crm.services.contacts import contact_create
from crm.services.tokens import api_token_create, hash_token

pytestmark = pytest.mark.django_db


def test_account_read_and_update_by_super_admin(admin_api):
    assert admin_api.get("/api/v1/account/").json() == {
        "name": "My company",
        "tier": "free",
        "registration_consent_text": "",
    }
    response = admin_api.patch(
        "/api/v1/account/", {"name": "Acme", "tier": "professional"}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == {
        "name": "Acme",
        "tier": "professional",
        "registration_consent_text": "",
    }


def test_account_bad_tier_is_400_and_changes_nothing(admin_api):
    response = admin_api.patch("/api/v1/account/", {"tier": "platinum"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["name"] == "tier"
    assert admin_api.get("/api/v1/account/").json()["tier"] == "free"


@pytest.mark.parametrize("client_fixture", ["marketer_api", "viewer_api"])
def test_only_super_admins_change_the_account(request, client_fixture):
    client = request.getfixturevalue(client_fixture)
    assert client.get("/api/v1/account/").status_code == 200
    response = client.patch("/api/v1/account/", {"tier": "enterprise"}, format="json")
    assert response.status_code == 403


def test_first_brand_is_primary_and_primary_moves_in_one_step(admin_api):
    first = admin_api.post("/api/v1/brands/", {"name": "Acme"}, format="json")
    assert first.status_code == 201
    assert first.json() == {"id": first.json()["id"], "name": "Acme", "is_primary": True}
    second = admin_api.post(
        "/api/v1/brands/", {"name": "Beta", "is_primary": True}, format="json"
    ).json()
    listing = admin_api.get("/api/v1/brands/").json()
    assert listing["next"] is None
    assert [(b["name"], b["is_primary"]) for b in listing["results"]] == [
        ("Acme", False),
        ("Beta", True),
    ]
    # The primary brand cannot be deleted nor un-primaried: there is always exactly one.
    assert admin_api.delete(f"/api/v1/brands/{second['id']}/").status_code == 409
    response = admin_api.patch(
        f"/api/v1/brands/{second['id']}/", {"is_primary": False}, format="json"
    )
    assert response.status_code == 400
    assert Brand.objects.filter(is_primary=True).count() == 1


def test_database_refuses_two_primary_brands(db):
    from django.db import IntegrityError, transaction

    Brand.objects.create(name="A", is_primary=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        Brand.objects.create(name="B", is_primary=True)


def test_users_create_list_and_role_change(admin_api, admin_user):
    response = admin_api.post(
        "/api/v1/users/",
        {
            "email": " New.Person@Example.com ",
            "first_name": "New",
            "last_name": "Person",
            "role": "marketing",
            "password": "Tide-pool-harbor-42",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body == {
        "id": body["id"],
        "email": "new.person@example.com",
        "first_name": "New",
        "last_name": "Person",
        "role": "marketing",
        "is_active": True,
    }
    assert User.objects.get(pk=body["id"]).check_password("Tide-pool-harbor-42")
    patched = admin_api.patch(f"/api/v1/users/{body['id']}/", {"role": "viewer"}, format="json")
    assert patched.json()["role"] == "viewer"
    duplicate = admin_api.post("/api/v1/users/", {"email": "new.person@example.com"}, format="json")
    assert duplicate.status_code == 409


WEAK_PASSWORDS = [
    ("Short-1", "This password is too short. It must contain at least 10 characters."),
    ("password123", "This password is too common."),
    ("20250101123456", "This password is entirely numeric."),
    ("nia.harbor.example", "The password is too similar to the e-mail."),
]


@pytest.mark.parametrize(("password", "message"), WEAK_PASSWORDS)
def test_weak_password_on_create_is_a_clear_400(admin_api, password, message):
    # DESIGN "Production safety": passwords follow Django's validators.
    response = admin_api.post(
        "/api/v1/users/",
        {"email": "nia.harbor@example.com", "first_name": "Nia", "password": password},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert {"name": "password", "message": message} in body["errors"]
    assert {e["name"] for e in body["errors"]} == {"password"}
    assert message in body["detail"]
    assert not User.objects.filter(email="nia.harbor@example.com").exists()


@pytest.mark.parametrize(("password", "message"), WEAK_PASSWORDS)
def test_weak_password_on_update_is_a_clear_400(admin_api, password, message):
    user = User.objects.create_user(
        "nia.harbor@example.com", "Tide-pool-harbor-42", first_name="Nia"
    )
    response = admin_api.patch(
        f"/api/v1/users/{user.pk}/", {"password": password, "first_name": "N"}, format="json"
    )
    assert response.status_code == 400
    assert {"name": "password", "message": message} in response.json()["errors"]
    user.refresh_from_db()
    assert user.check_password("Tide-pool-harbor-42")
    assert user.first_name == "Nia"


def test_bad_role_is_a_clear_400(admin_api):
    response = admin_api.post(
        "/api/v1/users/", {"email": "x@example.com", "role": "god"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["name"] == "role"
    assert not User.objects.filter(email="x@example.com").exists()


def test_last_super_admin_cannot_be_demoted(admin_api, admin_user):
    response = admin_api.patch(f"/api/v1/users/{admin_user.pk}/", {"role": "viewer"}, format="json")
    assert response.status_code == 409
    admin_user.refresh_from_db()
    assert admin_user.role == Role.SUPER_ADMIN


def test_marketer_cannot_manage_users(marketer_api):
    response = marketer_api.post("/api/v1/users/", {"email": "x@example.com"}, format="json")
    assert response.status_code == 403
    assert "cannot change settings" in response.json()["detail"]


def test_unauthenticated_and_bad_tokens_are_401(client, db):
    assert client.get("/api/v1/account/").status_code in (401, 403)
    response = client.get("/api/v1/account/", HTTP_AUTHORIZATION="Bearer nope")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_token_scopes_limit_what_it_may_do(token_client, admin_user):
    client = token_client(admin_user, scopes=["crm.objects.contacts.read"])
    response = client.get("/api/v1/account/")
    assert response.status_code == 403
    assert response.json()["detail"] == "This token lacks the scope account.read."


def test_tokens_are_hashed_at_rest(admin_api):
    token = ApiToken.objects.get()
    assert token.token_hash == hash_token(admin_api.token)
    assert admin_api.token not in str(ApiToken.objects.values_list().get())


def test_revoked_token_is_refused(admin_api):
    ApiToken.objects.update(revoked_at="2026-01-01T00:00:00Z")
    assert admin_api.get("/api/v1/account/").status_code == 401


def test_viewer_cannot_get_write_scopes(token_client, viewer):
    from crm.errors import ValidationFailed

    with pytest.raises(ValidationFailed, match="cannot hold"):
        token_client(viewer, scopes=["crm.objects.contacts.write"])


def test_tokens_are_created_by_a_logged_in_person_not_by_a_token(client, admin_user, admin_api):
    client.force_login(admin_user)
    response = client.post(
        "/api/v1/tokens/",
        {"name": "zapier", "scopes": ["crm.objects.contacts.read"]},
        content_type="application/json",
    )
    assert response.status_code == 201
    clear = response.json()["token"]
    assert clear.startswith("crm_")
    assert ApiToken.objects.get(name="zapier").token_hash == hash_token(clear)
    assert admin_api.post("/api/v1/tokens/", {"name": "x"}, format="json").status_code == 403


def test_a_tokens_url_only_revokes_it(client, admin_user):
    # It used to inherit the list's GET and POST: a second "list" and "create" in the schema.
    client.force_login(admin_user)
    token, _clear = api_token_create(user=admin_user, name="old")
    url = f"/api/v1/tokens/{token.pk}/"
    assert client.get(url).status_code == 405
    assert client.post(url, {"name": "x"}, content_type="application/json").status_code == 405
    assert ApiToken.objects.count() == 1
    assert client.delete(url).status_code == 204
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_timeline_is_paged_newest_first(admin_api, django_assert_max_num_queries):
    contact = contact_create(properties={"email": "ana@example.com"})
    for day in range(1, 8):
        TimelineEvent.objects.create(
            contact=contact, kind="note", occurred_at=f"2026-01-0{day}T10:00:00Z", data={"n": day}
        )
    with django_assert_max_num_queries(5):
        page = admin_api.get(f"/api/v1/contacts/{contact.pk}/timeline/?limit=3").json()
    assert [e["data"].get("n") for e in page["results"]] == [None, 7, 6]  # contact_created is now
    second = admin_api.get(page["next"]).json()
    assert [e["data"]["n"] for e in second["results"]] == [5, 4, 3]
    assert admin_api.get("/api/v1/contacts/999999/timeline/").status_code == 404


def test_schema_and_docs_need_no_login(client, db):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/brands/" in schema.content
    assert client.get("/api/docs/").status_code == 200


def test_create_api_token_command_prints_the_token_alone_on_the_last_line(admin_user):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command(
        "create_api_token",
        "ADMIN@crm.test",
        "--scopes",
        "crm.objects.contacts.read",
        stdout=out,
        stderr=StringIO(),
    )
    clear = out.getvalue().strip().splitlines()[-1]
    token = ApiToken.objects.get(token_hash=hash_token(clear))
    assert token.scopes == ["crm.objects.contacts.read"]


def test_create_api_token_command_unknown_user_is_a_clear_error(db):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="No CRM user has the e-mail"):
        call_command("create_api_token", "nobody@example.com")


@pytest.mark.parametrize(
    "url",
    [
        "/marketing/v3/marketing-events/events/0/cancel?externalAccountId=a%00b",
        "/api/v1/zoom/connections/1/webinars/?q=%00",
        "/crm/v3/objects/contacts/a%00b",
    ],
)
def test_a_null_character_in_the_address_is_a_400(admin_api, url):
    """Found by the API fuzzer: a lookup with a NUL character was a 500 on PostgreSQL."""
    response = admin_api.post(url) if "cancel" in url else admin_api.get(url)
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json"


def test_a_null_character_in_a_page_address_is_a_400(admin_user, client):
    client.force_login(admin_user)
    assert client.get("/contacts/?q=%00").status_code == 400


def _brand_with_data(name="Labs", *, events=3, zoom=True):
    from marketing_events.models import MarketingEvent
    from zoom_integration.models import ZoomConnection

    Brand.objects.get_or_create(name="Acme", defaults={"is_primary": True})
    brand = Brand.objects.create(name=name)
    if zoom:
        ZoomConnection.objects.create(brand=brand, kind="s2s", zoom_account_id="acct-labs")
    for i in range(events):
        MarketingEvent.objects.create(
            brand=brand, external_account_id="acct-labs", external_event_id=str(i), name=f"E{i}"
        )
    return brand


@pytest.mark.parametrize(
    ("events", "zoom", "held"),
    [
        (3, True, "3 marketing events and 1 Zoom connection"),
        (1, False, "1 marketing event"),
        (0, True, "1 Zoom connection"),
    ],
)
def test_deleting_a_brand_that_still_has_data_is_a_409_saying_what_holds_it(
    admin_api, events, zoom, held
):
    brand = _brand_with_data(events=events, zoom=zoom)

    response = admin_api.delete(f"/api/v1/brands/{brand.pk}/")

    assert response.status_code == 409
    assert response.json() == {
        "detail": f"The brand “Labs” cannot be deleted: it still has {held}.",
        "code": "conflict",
    }
    assert Brand.objects.filter(pk=brand.pk).exists()


def test_a_brand_without_data_is_deleted(admin_api):
    brand = _brand_with_data(events=0, zoom=False)

    assert admin_api.delete(f"/api/v1/brands/{brand.pk}/").status_code == 204
    assert not Brand.objects.filter(pk=brand.pk).exists()


def test_the_schema_documents_the_409_of_brand_delete():
    from tests.support.openapi import resolve, response

    conflict = response("/api/v1/brands/{brand_id}/", "delete", 409)
    assert "still has data" in conflict["description"]
    schema = resolve(conflict["content"]["application/json"]["schema"])
    assert set(schema["properties"]) == {"detail", "code", "errors"}
