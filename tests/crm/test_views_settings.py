"""Settings pages for a super admin: account, users and roles, brands, API tokens,
Integrations > Connected apps. Bad input shows inline errors and changes nothing."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from crm.models import CONSENT_TEXT_MAX, ApiToken, AuditEntry, AuditKind, Brand, Role, User
from crm.services.accounts import account_get, brand_create
from crm.services.accounts import account_update as account_services_update
from crm.services.tokens import api_token_authenticate, api_token_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_settings_index_redirects_to_account(admin_client):
    response = admin_client.get(reverse("crm:settings"))
    assert response["Location"] == reverse("crm:settings_account")


def test_settings_subnav_lists_every_section(admin_client):
    html = admin_client.get(reverse("crm:settings_account")).content.decode()
    for url_name in (
        "settings_account",
        "settings_users",
        "settings_brands",
        "settings_tokens",
        "settings_integrations",
    ):
        assert f'href="{reverse("crm:" + url_name)}"' in html, url_name


# Account ----------------------------------------------------------------------------------


def test_account_update(admin_client):
    response = admin_client.post(
        reverse("crm:settings_account_update"), {"name": "Acme Inc", "tier": "enterprise"}
    )
    assert response.status_code == 302
    account = account_get()
    assert (account.name, account.tier) == ("Acme Inc", "enterprise")
    assert "Acme Inc" in admin_client.get(reverse("crm:settings_account")).content.decode()


@pytest.mark.parametrize(
    ("data", "field"),
    [({"name": "  ", "tier": "free"}, "name"), ({"name": "X", "tier": "gold"}, "tier")],
)
def test_account_bad_input_inline_error_nothing_saved(admin_client, data, field):
    before = account_get()
    response = admin_client.post(reverse("crm:settings_account_update"), data)
    html = response.content.decode()
    assert response.status_code == 400
    assert 'class="field__error"' in html[html.index(f'data-field="{field}"') :][:900]
    after = account_get()
    assert (after.name, after.tier) == (before.name, before.tier)


# Rule E5: the public registration pages' consent text, set by super admins, audited -----


def _account_form(**changes):
    account = account_get()
    return {"name": account.name, "tier": account.tier, **changes}


def test_a_super_admin_sets_the_consent_text_and_it_is_audited(admin_client, admin_user):
    AuditEntry.objects.all().delete()
    text = "  I agree that Acme keeps my answers to contact me about this webinar.  "
    response = admin_client.post(
        reverse("crm:settings_account_update"), _account_form(registration_consent_text=text)
    )
    assert response.status_code == 302
    assert account_get().registration_consent_text == text.strip()
    entry = AuditEntry.objects.get(kind=AuditKind.ACCOUNT_CHANGED)
    assert entry.actor == admin_user
    assert entry.via == "ui"
    assert entry.before == {"registration_consent_text": ""}
    assert entry.after == {"registration_consent_text": text.strip()}
    html = admin_client.get(reverse("crm:settings_account")).content.decode()
    assert 'data-testid="consent-settings"' in html
    assert f">\n{escape(text.strip())}</textarea>" in html

    # Emptied: the pages ask for no consent again.
    admin_client.post(
        reverse("crm:settings_account_update"), _account_form(registration_consent_text="")
    )
    assert account_get().registration_consent_text == ""
    assert AuditEntry.objects.filter(kind=AuditKind.ACCOUNT_CHANGED).count() == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [("x" * (CONSENT_TEXT_MAX + 1), "at most"), ("I agree\x00", "Null characters")],
)
def test_a_bad_consent_text_is_an_inline_error_and_changes_nothing(admin_client, text, message):
    account_services_update(registration_consent_text="Keep me")
    AuditEntry.objects.all().delete()
    response = admin_client.post(
        reverse("crm:settings_account_update"), _account_form(registration_consent_text=text)
    )
    html = response.content.decode()
    assert response.status_code == 400
    field = html[html.index('data-field="registration_consent_text"') :][: len(text) + 2000]
    assert 'class="field__error"' in field and message in field
    assert account_get().registration_consent_text == "Keep me"
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("role", [Role.MARKETING, Role.VIEWER])
def test_only_super_admins_change_the_consent_text(client, role):
    account_services_update(registration_consent_text="Keep me")
    AuditEntry.objects.all().delete()
    client.force_login(UserFactory(email="someone@crm.test", role=role))
    html = client.get(reverse("crm:settings_account")).content.decode()
    assert '<dd data-testid="consent-text">Keep me</dd>' in html  # read, not edited
    assert "<textarea" not in html
    response = client.post(
        reverse("crm:settings_account_update"), _account_form(registration_consent_text="")
    )
    assert response.status_code == 403
    assert account_get().registration_consent_text == "Keep me"
    assert not AuditEntry.objects.exists()


# Users ------------------------------------------------------------------------------------


def test_users_list(admin_client, marketer, viewer):
    html = admin_client.get(reverse("crm:settings_users")).content.decode()
    assert "marketer@crm.test" in html and "viewer@crm.test" in html
    assert "Marketing" in html and "Viewer" in html
    assert reverse("crm:settings_user_create") in html


def test_create_user_with_role_and_password(admin_client, client):
    response = admin_client.post(
        reverse("crm:settings_user_create"),
        {
            "email": "New@crm.test",
            "first_name": "Nia",
            "role": "marketing",
            "password": "Tide-pool-harbor-42",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="new@crm.test")
    assert (user.role, user.first_name) == (Role.MARKETING, "Nia")
    assert user.check_password("Tide-pool-harbor-42")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"email": "bad", "role": "viewer", "password": "Tide-pool-harbor-42"},
            "email",
            "valid e-mail",
        ),
        ({"email": "a@crm.test", "role": "viewer", "password": "abc"}, "password", "at least 10"),
        (
            {"email": "a@crm.test", "role": "king", "password": "Tide-pool-harbor-42"},
            "role",
            "valid choice",
        ),
        (
            {"email": "admin@crm.test", "role": "viewer", "password": "Tide-pool-harbor-42"},
            "email",
            "already exists",
        ),
    ],
)
def test_create_user_bad_input(admin_client, data, field, message):
    count = User.objects.count()
    response = admin_client.post(reverse("crm:settings_user_create"), data)
    html = response.content.decode()
    assert response.status_code == 400
    assert message in html[html.index(f'data-field="{field}"') :][:900]
    assert User.objects.count() == count


@pytest.mark.parametrize(
    ("password", "messages"),
    [
        ("Xq7!zB", ["This password is too short. It must contain at least 10 characters."]),
        ("password123", ["This password is too common."]),
        (
            "12345",
            [
                "This password is too short. It must contain at least 10 characters.",
                "This password is too common.",
                "This password is entirely numeric.",
            ],
        ),
        ("nia.harbor@crm", ["The password is too similar to the e-mail."]),
    ],
)
def test_create_user_with_a_weak_password_shows_each_rule_on_the_field(
    admin_client, password, messages
):
    # DESIGN "Production safety": passwords follow Django's validators.
    response = admin_client.post(
        reverse("crm:settings_user_create"),
        {
            "email": "nia.harbor@crm.test",
            "first_name": "Nia",
            "role": "viewer",
            "password": password,
        },
    )
    assert response.status_code == 400
    errors = [str(e) for e in response.context["form"].errors["password"]]
    assert errors == messages
    html = response.content.decode()
    field = html[html.index('data-field="password"') :][:1500]
    for message in messages:
        assert f'<p class="field__error" role="alert">{escape(message)}</p>' in field
    assert not User.objects.filter(email="nia.harbor@crm.test").exists()


def test_edit_user_with_a_weak_password_is_refused_inline(admin_client, marketer):
    response = admin_client.post(
        reverse("crm:settings_user_edit", args=[marketer.pk]),
        {"role": "marketing", "is_active": "on", "password": "password123"},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["password"] == ["This password is too common."]
    marketer.refresh_from_db()
    assert marketer.check_password("password")


def test_edit_user_sets_a_strong_password(admin_client, marketer):
    response = admin_client.post(
        reverse("crm:settings_user_edit", args=[marketer.pk]),
        {"role": "marketing", "is_active": "on", "password": "Tide-pool-harbor-42"},
    )
    assert response.status_code == 302
    marketer.refresh_from_db()
    assert marketer.check_password("Tide-pool-harbor-42")


def test_password_field_says_what_the_validators_ask(admin_client):
    html = admin_client.get(reverse("crm:settings_user_create")).content.decode()
    assert "At least 10 characters, not a commonly used password" in html


def test_change_role(admin_client, marketer):
    url = reverse("crm:settings_user_edit", args=[marketer.pk])
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, {"role": "viewer", "is_active": "on", "first_name": "M"})
    assert response.status_code == 302
    marketer.refresh_from_db()
    assert (marketer.role, marketer.first_name, marketer.is_active) == (Role.VIEWER, "M", True)


def test_demoting_the_last_super_admin_is_refused_with_a_message(admin_client, admin_user):
    response = admin_client.post(
        reverse("crm:settings_user_edit", args=[admin_user.pk]),
        {"role": "viewer", "is_active": "on"},
    )
    assert response.status_code == 400
    assert "last active super admin" in response.content.decode()
    admin_user.refresh_from_db()
    assert admin_user.role == Role.SUPER_ADMIN


def test_deactivate_and_reactivate(admin_client, marketer):
    url = reverse("crm:settings_user_set_active", args=[marketer.pk])
    admin_client.post(url, {"active": "0"})
    marketer.refresh_from_db()
    assert marketer.is_active is False
    html = admin_client.get(reverse("crm:settings_users")).content.decode()
    assert "Deactivated" in html
    admin_client.post(url, {"active": "1"})
    marketer.refresh_from_db()
    assert marketer.is_active is True


def test_deactivating_the_last_super_admin_is_refused(admin_client, admin_user):
    response = admin_client.post(
        reverse("crm:settings_user_set_active", args=[admin_user.pk]), {"active": "0"}, follow=True
    )
    assert "last active super admin" in response.content.decode()
    admin_user.refresh_from_db()
    assert admin_user.is_active is True


def test_another_super_admin_can_be_demoted(admin_client):
    other = UserFactory(role=Role.SUPER_ADMIN)
    admin_client.post(
        reverse("crm:settings_user_edit", args=[other.pk]), {"role": "marketing", "is_active": "on"}
    )
    other.refresh_from_db()
    assert other.role == Role.MARKETING


# Brands -----------------------------------------------------------------------------------


def test_brands_empty_state(admin_client):
    html = admin_client.get(reverse("crm:settings_brands")).content.decode()
    assert "No brands yet" in html


def test_add_brand_first_is_primary(admin_client):
    admin_client.post(reverse("crm:settings_brand_create"), {"name": "Acme"})
    admin_client.post(reverse("crm:settings_brand_create"), {"name": "Acme Labs"})
    assert list(Brand.objects.values_list("name", "is_primary")) == [
        ("Acme", True),
        ("Acme Labs", False),
    ]
    html = admin_client.get(reverse("crm:settings_brands")).content.decode()
    assert "Primary brand" in html


@pytest.mark.parametrize(("name", "message"), [("", "required"), ("acme", "already exists")])
def test_add_brand_bad_input(admin_client, name, message):
    brand_create(name="Acme")
    response = admin_client.post(reverse("crm:settings_brand_create"), {"name": name})
    html = response.content.decode()
    assert response.status_code == 400
    assert message in html[html.index('data-field="name"') :][:900]
    assert Brand.objects.count() == 1


def test_rename_make_primary_and_delete_brand(admin_client):
    primary = brand_create(name="Acme")
    other = brand_create(name="Labs")
    admin_client.post(reverse("crm:settings_brand_edit", args=[other.pk]), {"name": "Acme Labs"})
    other.refresh_from_db()
    assert other.name == "Acme Labs"

    admin_client.post(reverse("crm:settings_brand_make_primary", args=[other.pk]))
    other.refresh_from_db()
    primary.refresh_from_db()
    assert (other.is_primary, primary.is_primary) == (True, False)

    admin_client.post(reverse("crm:settings_brand_delete", args=[primary.pk]))
    assert list(Brand.objects.values_list("name", flat=True)) == ["Acme Labs"]


def test_primary_brand_cannot_be_deleted(admin_client):
    primary = brand_create(name="Acme")
    brand_create(name="Labs")
    html = admin_client.get(reverse("crm:settings_brands")).content.decode()
    assert reverse("crm:settings_brand_delete", args=[primary.pk]) not in html
    response = admin_client.post(
        reverse("crm:settings_brand_delete", args=[primary.pk]), follow=True
    )
    assert "primary brand cannot be deleted" in response.content.decode()
    assert Brand.objects.filter(pk=primary.pk).exists()


def test_deleting_a_brand_with_data_shows_what_holds_it(admin_client):
    from marketing_events.models import MarketingEvent
    from zoom_integration.models import ZoomConnection

    brand_create(name="Acme")
    labs = brand_create(name="Labs")
    ZoomConnection.objects.create(brand=labs, kind="s2s", zoom_account_id="acct-labs")
    MarketingEvent.objects.create(
        brand=labs, external_account_id="acct-labs", external_event_id="1", name="E"
    )

    response = admin_client.post(reverse("crm:settings_brand_delete", args=[labs.pk]), follow=True)

    assert response.status_code == 200
    assert (
        "The brand “Labs” cannot be deleted: it still has 1 marketing event and 1 Zoom connection."
        in response.content.decode()
    )
    assert Brand.objects.filter(pk=labs.pk).exists()


def test_rename_to_taken_name_shows_error(admin_client):
    brand_create(name="Acme")
    other = brand_create(name="Labs")
    response = admin_client.post(
        reverse("crm:settings_brand_edit", args=[other.pk]), {"name": "ACME"}
    )
    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    other.refresh_from_db()
    assert other.name == "Labs"


# API tokens -------------------------------------------------------------------------------


def test_token_created_is_shown_once_and_works(admin_client, admin_user):
    response = admin_client.post(
        reverse("crm:settings_token_create"),
        {"name": "Reporting", "scopes": ["crm.objects.contacts.read", "account.read"]},
    )
    html = response.content.decode()
    token = ApiToken.objects.get(user=admin_user)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    start = html.index('id="clear-token"')
    clear = html[html.index('value="', start - 200) + 7 :].split('"', 1)[0]
    assert clear.startswith("crm_")
    assert api_token_authenticate(clear) == token
    assert sorted(token.scopes) == ["account.read", "crm.objects.contacts.read"]
    assert "only time it is shown" in html
    again = admin_client.get(reverse("crm:settings_tokens")).content.decode()
    assert clear not in again
    assert token.prefix in again


def test_token_form_requires_name_and_scope(admin_client, admin_user):
    response = admin_client.post(reverse("crm:settings_token_create"), {"name": ""})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Choose at least one scope" in html
    assert not ApiToken.objects.exists()


def test_revoke_own_token_only(admin_client, admin_user, marketer):
    mine, _ = api_token_create(user=admin_user, name="mine")
    theirs, _ = api_token_create(user=marketer, name="theirs")
    html = admin_client.get(reverse("crm:settings_tokens")).content.decode()
    assert "mine" in html and "theirs" not in html
    response = admin_client.post(reverse("crm:settings_token_revoke", args=[theirs.pk]))
    assert response.status_code == 404
    admin_client.post(reverse("crm:settings_token_revoke", args=[mine.pk]))
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.revoked_at is not None and theirs.revoked_at is None
    assert "Revoked" in admin_client.get(reverse("crm:settings_tokens")).content.decode()


def test_tokens_empty_state(admin_client):
    html = admin_client.get(reverse("crm:settings_tokens")).content.decode()
    assert "no API tokens yet" in html


# Integrations -------------------------------------------------------------------------------


def test_integrations_links_to_the_zoom_settings(admin_client):
    response = admin_client.get(reverse("crm:settings_integrations"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Zoom" in html and "Not connected yet" in html
    assert 'href="/integrations/zoom/' in html
