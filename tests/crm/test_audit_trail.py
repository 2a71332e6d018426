"""The audit trail (issue 22, item 4) for the CRM's own settings, users, brands, API tokens and
contacts: every audited action, through the page or API endpoint people use, writes exactly one
entry with its actor, channel, kind, target and the changed fields (exact dicts); a save that
changes nothing writes none; secrets never appear."""

import json
import re
from dataclasses import dataclass

import pytest
from django.db import transaction
from django.urls import reverse

from crm.models import ApiToken, AuditEntry, Brand, Contact, Role, User
from crm.services.accounts import account_update, brand_create
from crm.services.audit import audit_changes, audit_channel, audit_record
from crm.services.tokens import api_token_create
from tests.factories import ContactFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "Tr1cky-Horse-Battery"  # set by some actions below; must never appear in a row


@dataclass
class World:
    ui: object  # Django test client, logged in as the admin
    api: object  # APIClient with the admin's bearer token "test"
    admin: User
    brand: Brand
    other: User
    contact: Contact

    @property
    def token(self) -> ApiToken:
        return ApiToken.objects.get(user=self.admin, name="test")


@pytest.fixture
def world(client, admin_user, admin_api):
    client.force_login(admin_user)
    brand = brand_create(name="Acme")  # primary: the first brand
    other = UserFactory(email="mia@crm.test", role=Role.MARKETING, first_name="Mia", last_name="")
    contact = ContactFactory(email="ana@example.com")
    return World(client, admin_api, admin_user, brand, other, contact)


def _new_entries(since_id: int) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(pk__gt=since_id).order_by("pk"))


def _last_id() -> int:
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


# Each case: what a person does (through the UI or the API), then the one entry expected:
# (via, kind, target type, target id, target label, before, after). Target ids are computed.
CASES = {
    "account changed (ui)": (
        lambda w: w.ui.post(
            reverse("crm:settings_account_update"), {"name": "Acme Inc", "tier": "enterprise"}
        ),
        lambda w: ("ui", "account.changed", "account", "1", "Acme Inc",
                   {"name": "My company", "tier": "free"},
                   {"name": "Acme Inc", "tier": "enterprise"}),
    ),
    "account changed (api)": (
        lambda w: w.api.patch("/api/v1/account/", {"tier": "starter"}, format="json"),
        lambda w: ("api", "account.changed", "account", "1", "My company",
                   {"tier": "free"}, {"tier": "starter"}),
    ),
    "brand created (ui)": (
        lambda w: w.ui.post(reverse("crm:settings_brand_create"), {"name": "Beta"}),
        lambda w: ("ui", "brand.created", "brand", str(Brand.objects.get(name="Beta").pk), "Beta",
                   {}, {"name": "Beta", "is_primary": False}),
    ),
    "brand created (api)": (
        lambda w: w.api.post("/api/v1/brands/", {"name": "Beta", "is_primary": False},
                             format="json"),
        lambda w: ("api", "brand.created", "brand", str(Brand.objects.get(name="Beta").pk),
                   "Beta", {}, {"name": "Beta", "is_primary": False}),
    ),
    "brand renamed (ui)": (
        lambda w: w.ui.post(reverse("crm:settings_brand_edit", args=[w.brand.pk]),
                            {"name": "Acme Corp"}),
        lambda w: ("ui", "brand.changed", "brand", str(w.brand.pk), "Acme Corp",
                   {"name": "Acme"}, {"name": "Acme Corp"}),
    ),
    "brand made primary (ui)": (
        lambda w: w.ui.post(reverse("crm:settings_brand_make_primary", args=[w.remembered.pk])),
        lambda w: ("ui", "brand.made_primary", "brand", str(Brand.objects.get(name="Beta").pk),
                   "Beta", {"is_primary": False}, {"is_primary": True}),
    ),
    "brand made primary (api)": (
        lambda w: w.api.patch(f"/api/v1/brands/{w.remembered.pk}/", {"is_primary": True},
                              format="json"),
        lambda w: ("api", "brand.made_primary", "brand", str(Brand.objects.get(name="Beta").pk),
                   "Beta", {"is_primary": False}, {"is_primary": True}),
    ),
    "brand deleted (ui)": (
        lambda w: w.ui.post(reverse("crm:settings_brand_delete", args=[w.remembered.pk])),
        lambda w: ("ui", "brand.deleted", "brand", str(w.remembered.pk), "Beta",
                   {"name": "Beta", "is_primary": False}, {}),
    ),
    "brand deleted (api)": (
        lambda w: w.api.delete(f"/api/v1/brands/{w.remembered.pk}/"),
        lambda w: ("api", "brand.deleted", "brand", str(w.remembered.pk), "Beta",
                   {"name": "Beta", "is_primary": False}, {}),
    ),
    "user created (ui)": (
        lambda w: w.ui.post(reverse("crm:settings_user_create"),
                            {"email": "Leo@CRM.test", "first_name": "Leo", "last_name": "",
                             "role": "viewer", "password": PASSWORD}),
        lambda w: ("ui", "user.created", "user", str(User.objects.get(email="leo@crm.test").pk),
                   "leo@crm.test", {},
                   {"email": "leo@crm.test", "first_name": "Leo", "role": "viewer",
                    "is_active": True, "password": "(changed)"}),
    ),
    "user created (api)": (
        lambda w: w.api.post("/api/v1/users/", {"email": "leo@crm.test", "role": "marketing"},
                             format="json"),
        lambda w: ("api", "user.created", "user", str(User.objects.get(email="leo@crm.test").pk),
                   "leo@crm.test", {},
                   {"email": "leo@crm.test", "role": "marketing", "is_active": True}),
    ),
    "user edited with a new password (ui)": (
        lambda w: w.ui.post(reverse("crm:settings_user_edit", args=[w.other.pk]),
                            {"first_name": "Mia", "last_name": "Lopes", "role": "marketing",
                             "is_active": "on", "password": PASSWORD}),
        lambda w: ("ui", "user.changed", "user", str(w.other.pk), "mia@crm.test",
                   {"last_name": "", "password": "(set)"},
                   {"last_name": "Lopes", "password": "(changed)"}),
    ),
    "user role changed (api)": (
        lambda w: w.api.patch(f"/api/v1/users/{w.other.pk}/", {"role": "viewer"}, format="json"),
        lambda w: ("api", "user.role_changed", "user", str(w.other.pk), "mia@crm.test",
                   {"role": "marketing"}, {"role": "viewer"}),
    ),
    "user deactivated (ui)": (
        lambda w: w.ui.post(reverse("crm:settings_user_set_active", args=[w.other.pk]),
                            {"active": "0"}),
        lambda w: ("ui", "user.deactivated", "user", str(w.other.pk), "mia@crm.test",
                   {"is_active": True}, {"is_active": False}),
    ),
    "user activated (api)": (
        lambda w: (User.objects.filter(pk=w.other.pk).update(is_active=False),
                   w.api.patch(f"/api/v1/users/{w.other.pk}/", {"is_active": True},
                               format="json")),
        lambda w: ("api", "user.activated", "user", str(w.other.pk), "mia@crm.test",
                   {"is_active": False}, {"is_active": True}),
    ),
    "API token created (ui)": (
        lambda w: w.ui.post(reverse("crm:settings_token_create"),
                            {"name": "Reports", "scopes": ["crm.objects.contacts.read"]}),
        lambda w: ("ui", "api_token.created", "api_token",
                   str(ApiToken.objects.get(name="Reports").pk), "Reports", {},
                   {"user": "admin@crm.test", "scopes": ["crm.objects.contacts.read"]}),
    ),
    "API token revoked (ui)": (
        lambda w: w.ui.post(reverse("crm:settings_token_revoke", args=[w.token.pk])),
        lambda w: ("ui", "api_token.revoked", "api_token", str(w.token.pk), "test",
                   {"revoked": False}, {"revoked": True}),
    ),
    "contact deleted (ui)": (
        lambda w: w.ui.post(reverse("crm:contact_delete", args=[w.contact.pk])),
        lambda w: ("ui", "contact.deleted", "contact", str(w.contact.pk), "ana@example.com",
                   {"archived": False}, {"archived": True}),
    ),
    "contact deleted (HubSpot API)": (
        lambda w: w.api.delete(f"/crm/v3/objects/contacts/{w.contact.pk}"),
        lambda w: ("api", "contact.deleted", "contact", str(w.contact.pk), "ana@example.com",
                   {"archived": False}, {"archived": True}),
    ),
    "contact restored (ui)": (
        lambda w: (_archive(w), w.ui.post(reverse("crm:contact_restore", args=[w.contact.pk]))),
        lambda w: ("ui", "contact.restored", "contact", str(w.contact.pk), "ana@example.com",
                   {"archived": True}, {"archived": False}),
    ),
    "contact restored (HubSpot API)": (
        lambda w: (_archive(w), w.api.post(f"/crm/v3/objects/contacts/{w.contact.pk}/restore")),
        lambda w: ("api", "contact.restored", "contact", str(w.contact.pk), "ana@example.com",
                   {"archived": True}, {"archived": False}),
    ),
}  # fmt: skip


def _archive(world: World) -> None:
    Contact.objects.filter(pk=world.contact.pk).update(archived_at="2026-01-01T00:00Z")
    world.contact.refresh_from_db()


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_every_audited_action_writes_one_entry(world, case):
    act, expected = CASES[case]
    if "brand made primary" in case or "brand deleted" in case:
        world.remembered = brand_create(name="Beta")  # before the action: not its entry
    before_id = _last_id()
    response = act(world)
    response = response[-1] if isinstance(response, tuple) else response
    assert response.status_code < 400, getattr(response, "content", b"")[:500]
    entries = _new_entries(before_id)
    assert len(entries) == 1, [(e.kind, e.before, e.after) for e in entries]
    entry = entries[0]
    via, kind, target_type, target_id, label, old, new = expected(world)
    assert (entry.actor_id, entry.actor_email) == (world.admin.pk, "admin@crm.test")
    assert (entry.via, entry.kind, entry.target_type, entry.target_id) == (
        via,
        kind,
        target_type,
        target_id,
    )
    assert entry.target_label == label
    assert (entry.before, entry.after) == (old, new)
    if via == "api":  # which token, by id and name; never its value
        assert (entry.token_id, entry.token_name) == (world.token.pk, "test")
    else:
        assert (entry.token_id, entry.token_name) == (None, "")
    stored = json.dumps([entry.before, entry.after, entry.target_label, entry.token_name])
    for secret in (PASSWORD, world.api.token, world.token.token_hash):
        assert secret not in stored


def test_hubspot_batch_archive_writes_one_entry_per_contact(world):
    more = [ContactFactory(email=f"c{i}@example.com") for i in range(3)]
    before_id = _last_id()
    response = world.api.post(
        "/crm/v3/objects/contacts/batch/archive",
        {"inputs": [{"id": str(c.pk)} for c in [world.contact, *more]]},
        format="json",
    )
    assert response.status_code == 204
    entries = _new_entries(before_id)
    assert sorted((e.kind, e.target_id, e.via) for e in entries) == sorted(
        ("contact.deleted", str(c.pk), "api") for c in [world.contact, *more]
    )


NO_OPS = {
    "account saved unchanged (ui)": lambda w: w.ui.post(
        reverse("crm:settings_account_update"), {"name": "My company", "tier": "free"}
    ),
    "brand renamed to its name (api)": lambda w: w.api.patch(
        f"/api/v1/brands/{w.brand.pk}/", {"name": "Acme"}, format="json"
    ),
    "user saved unchanged (ui)": lambda w: w.ui.post(
        reverse("crm:settings_user_edit", args=[w.other.pk]),
        {"first_name": "Mia", "last_name": "", "role": "marketing", "is_active": "on"},
    ),
    "deleted contact deleted again (HubSpot API)": lambda w: (
        _archive(w),
        w.api.delete(f"/crm/v3/objects/contacts/{w.contact.pk}"),
    )[-1],
}


@pytest.mark.parametrize("case", list(NO_OPS), ids=list(NO_OPS))
def test_a_save_that_changes_nothing_writes_no_entry(world, case):
    before_id = _last_id()
    response = NO_OPS[case](world)
    assert response.status_code < 400
    assert _new_entries(before_id) == []


def test_a_rolled_back_change_leaves_no_entry(world):
    before_id = _last_id()
    with pytest.raises(RuntimeError), transaction.atomic():
        account_update(name="Never", actor=world.admin)
        raise RuntimeError("the surrounding transaction fails")
    assert _new_entries(before_id) == []
    account_update(name="Again", actor=world.admin)  # a retry: one entry
    assert [e.after for e in _new_entries(before_id)] == [{"name": "Again"}]


def test_a_command_records_its_channel_and_no_person(world):
    before_id = _last_id()
    with audit_channel(via="command"):
        _token, clear = api_token_create(user=world.other, name="CLI token")
    (entry,) = _new_entries(before_id)
    assert (entry.actor_id, entry.via, entry.kind, entry.after) == (
        None,
        "command",
        "api_token.created",
        {"user": "mia@crm.test", "scopes": entry.after["scopes"]},
    )
    assert clear not in json.dumps(entry.after)


def test_the_request_id_is_kept(world):
    before_id = _last_id()
    world.ui.post(
        reverse("crm:settings_account_update"),
        {"name": "With id", "tier": "free"},
        HTTP_X_REQUEST_ID="req-42.abc",
    )
    world.ui.post(
        reverse("crm:settings_account_update"),
        {"name": "Bad id", "tier": "free"},
        HTTP_X_REQUEST_ID="<script>",
    )
    kept, replaced = [e.request_id for e in _new_entries(before_id)]
    # A sane id is kept; another is replaced by a new one (operations.middleware), never stored.
    assert kept == "req-42.abc"
    assert re.fullmatch(r"[0-9a-f]{32}", replaced)


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ({"a": 1, "b": 2}, {"a": 1, "b": 3}, ({"b": 2}, {"b": 3})),
        ({}, {"name": "x"}, ({}, {"name": "x"})),
        ({"name": "x"}, {}, ({"name": "x"}, {})),
        ({}, {"name": "x", "webhook_secret_token": "", "domains": []}, ({}, {"name": "x"})),
        ({"client_secret": "old"}, {"client_secret": "new"}, ({"client_secret": "(set)"},
                                                             {"client_secret": "(changed)"})),
        ({"client_secret": ""}, {"client_secret": "new"}, ({"client_secret": ""},
                                                          {"client_secret": "(changed)"})),
        ({"client_secret": "same"}, {"client_secret": "same"}, ({}, {})),
        ({"domains": ["a.com"]}, {"domains": ["a.com", "b.com"]},
         ({"domains": ["a.com"]}, {"domains": ["a.com", "b.com"]})),
    ],
)  # fmt: skip
def test_audit_changes_keeps_only_changed_fields_and_hides_secrets(before, after, expected):
    assert audit_changes(before, after) == expected


def test_audit_record_writes_nothing_without_a_change(world):
    assert (
        audit_record(
            kind="account.changed",
            target_type="account",
            target_id=1,
            target_label="x",
            before={"name": "x"},
            after={"name": "x"},
        )
        is None
    )
