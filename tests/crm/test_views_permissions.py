"""Roles in the UI (rule A1): viewers see no write controls and get 403 on every write view;
marketers write contacts but not users, brands or the account; super admins do everything."""

import pytest
from django.urls import reverse

from crm.models import Account, Brand, Contact, Role, SecondaryEmail, User
from crm.services.accounts import brand_create
from crm.services.contacts import contact_archive, contact_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def contact():
    return contact_create(properties={"email": "ana@example.com", "firstname": "Ana"})


@pytest.fixture
def archived(contact):
    other = contact_create(properties={"email": "gone@example.com"})
    return contact_archive(contact=other)


@pytest.fixture
def brands():
    return brand_create(name="Acme"), brand_create(name="Acme Labs")


def _login(client, user):
    client.force_login(user)
    return client


def _contact_write_requests(contact, archived):
    return [
        ("get", reverse("crm:contact_create"), {}),
        ("post", reverse("crm:contact_create"), {"email": "new@example.com"}),
        ("get", reverse("crm:contact_edit", args=[contact.pk]), {}),
        ("post", reverse("crm:contact_edit", args=[contact.pk]), {"firstname": "Hacked"}),
        ("get", reverse("crm:contact_delete", args=[contact.pk]), {}),
        ("post", reverse("crm:contact_delete", args=[contact.pk]), {}),
        ("post", reverse("crm:contact_restore", args=[archived.pk]), {}),
        ("post", reverse("crm:contact_email_add", args=[contact.pk]), {"email": "x@example.com"}),
        (
            "post",
            reverse("crm:contact_email_remove", args=[contact.pk]),
            {"email": "x@example.com"},
        ),
    ]


def _settings_write_requests(brands, target_user):
    primary, other = brands
    return [
        ("post", reverse("crm:settings_account_update"), {"name": "Evil", "tier": "free"}),
        ("get", reverse("crm:settings_user_create"), {}),
        (
            "post",
            reverse("crm:settings_user_create"),
            {"email": "new@crm.test", "role": "super_admin", "password": "Tide-pool-harbor-42"},
        ),
        ("get", reverse("crm:settings_user_edit", args=[target_user.pk]), {}),
        (
            "post",
            reverse("crm:settings_user_edit", args=[target_user.pk]),
            {"role": "super_admin", "is_active": "on"},
        ),
        ("post", reverse("crm:settings_user_set_active", args=[target_user.pk]), {"active": "0"}),
        ("post", reverse("crm:settings_brand_create"), {"name": "New brand"}),
        ("get", reverse("crm:settings_brand_edit", args=[other.pk]), {}),
        ("post", reverse("crm:settings_brand_edit", args=[other.pk]), {"name": "Renamed"}),
        ("post", reverse("crm:settings_brand_make_primary", args=[other.pk]), {}),
        ("post", reverse("crm:settings_brand_delete", args=[other.pk]), {}),
    ]


def _snapshot():
    return (
        list(Contact.objects.order_by("pk").values_list("email", "first_name", "archived_at")),
        list(SecondaryEmail.objects.values_list("email", flat=True)),
        list(Brand.objects.order_by("pk").values_list("name", "is_primary")),
        list(User.objects.order_by("pk").values_list("email", "role", "is_active")),
        list(Account.objects.values_list("name", "tier")),
    )


# Viewer -----------------------------------------------------------------------------------


def test_viewer_gets_403_on_every_write_view_and_nothing_changes(
    client, viewer, contact, archived, brands, marketer
):
    _login(client, viewer)
    before = _snapshot()
    requests = _contact_write_requests(contact, archived) + _settings_write_requests(
        brands, marketer
    )
    for method, url, data in requests:
        response = getattr(client, method)(url, data)
        assert response.status_code == 403, (method, url)
        assert "have access to this" in response.content.decode(), url
    assert _snapshot() == before


def test_viewer_sees_no_write_controls_on_contact_pages(client, viewer, contact, archived):
    _login(client, viewer)
    list_html = client.get(reverse("crm:contact_list")).content.decode()
    assert "ana@example.com" in list_html
    assert "New contact" not in list_html
    assert reverse("crm:contact_create") not in list_html

    detail = client.get(reverse("crm:contact_detail", args=[contact.pk])).content.decode()
    assert "Ana" in detail
    for url_name in ("contact_edit", "contact_delete", "contact_email_add"):
        assert reverse(f"crm:{url_name}", args=[contact.pk]) not in detail, url_name
    assert "<form" not in detail.split("</header>", 1)[1]  # only the log-out form

    deleted = client.get(reverse("crm:contact_deleted_list")).content.decode()
    assert "gone@example.com" in deleted
    assert reverse("crm:contact_restore", args=[archived.pk]) not in deleted
    archived_page = client.get(reverse("crm:contact_detail", args=[archived.pk])).content.decode()
    assert 'data-testid="archived-banner"' in archived_page
    assert reverse("crm:contact_restore", args=[archived.pk]) not in archived_page


def test_viewer_empty_list_does_not_offer_to_create(client, viewer):
    _login(client, viewer)
    html = client.get(reverse("crm:contact_list")).content.decode()
    assert "No contacts yet" in html
    assert reverse("crm:contact_create") not in html


def test_viewer_settings_are_read_only(client, viewer, brands):
    _login(client, viewer)
    for url_name in ("settings_account", "settings_users", "settings_brands"):
        html = client.get(reverse(f"crm:{url_name}")).content.decode()
        assert 'data-testid="read-only-note"' in html, url_name
        assert 'method="post"' not in html.split("</header>", 1)[1], url_name


# Marketer ---------------------------------------------------------------------------------


def test_marketer_can_write_contacts(client, marketer, contact, archived):
    _login(client, marketer)
    assert "New contact" in client.get(reverse("crm:contact_list")).content.decode()
    response = client.post(reverse("crm:contact_create"), {"email": "new@example.com"})
    assert response.status_code == 302
    response = client.post(reverse("crm:contact_edit", args=[contact.pk]), {"firstname": "Anna"})
    assert response.status_code == 302
    assert client.post(reverse("crm:contact_restore", args=[archived.pk])).status_code == 302
    assert client.post(reverse("crm:contact_delete", args=[contact.pk])).status_code == 302
    assert Contact.objects.filter(archived_at__isnull=True).count() == 2


def test_marketer_gets_403_on_settings_writes_and_nothing_changes(client, marketer, brands, viewer):
    _login(client, marketer)
    before = _snapshot()
    for method, url, data in _settings_write_requests(brands, viewer):
        response = getattr(client, method)(url, data)
        assert response.status_code == 403, (method, url)
    assert _snapshot() == before


def test_marketer_sees_settings_read_only(client, marketer, brands):
    _login(client, marketer)
    users = client.get(reverse("crm:settings_users")).content.decode()
    assert "marketer@crm.test" in users
    assert reverse("crm:settings_user_create") not in users
    brands_html = client.get(reverse("crm:settings_brands")).content.decode()
    assert "Acme Labs" in brands_html
    assert reverse("crm:settings_brand_create") not in brands_html
    account = client.get(reverse("crm:settings_account")).content.decode()
    assert reverse("crm:settings_account_update") not in account


# Everyone manages their own API tokens --------------------------------------------------


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MARKETING, Role.SUPER_ADMIN])
def test_every_role_can_create_its_own_token(client, role):
    user = UserFactory(role=role)
    _login(client, user)
    page = client.get(reverse("crm:settings_tokens"))
    assert page.status_code == 200
    response = client.post(
        reverse("crm:settings_token_create"),
        {"name": "script", "scopes": ["crm.objects.contacts.read"]},
    )
    assert response.status_code == 200
    assert user.api_tokens.count() == 1


def test_viewer_token_form_offers_read_scopes_only(client, viewer):
    _login(client, viewer)
    html = client.get(reverse("crm:settings_tokens")).content.decode()
    assert 'value="crm.objects.contacts.read"' in html
    assert 'value="crm.objects.contacts.write"' not in html
    assert 'value="account.write"' not in html
    response = client.post(
        reverse("crm:settings_token_create"),
        {"name": "sneaky", "scopes": ["crm.objects.contacts.write"]},
    )
    assert response.status_code == 400
    assert not viewer.api_tokens.exists()


def test_marketer_token_form_has_no_account_write(client, marketer):
    _login(client, marketer)
    html = client.get(reverse("crm:settings_tokens")).content.decode()
    assert 'value="crm.objects.contacts.write"' in html
    assert 'value="account.write"' not in html


# Pages render for every role ----------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MARKETING, Role.SUPER_ADMIN])
def test_every_read_page_renders_for_every_role(client, role, contact, archived, brands):
    user = UserFactory(role=role)
    _login(client, user)
    urls = [
        reverse("crm:contact_list"),
        reverse("crm:contact_deleted_list"),
        reverse("crm:contact_detail", args=[contact.pk]),
        reverse("crm:contact_detail", args=[archived.pk]),
        reverse("marketing_events:list"),
        reverse("segments:list"),
        reverse("workflows:list"),
        reverse("crm:settings_account"),
        reverse("crm:settings_users"),
        reverse("crm:settings_brands"),
        reverse("crm:settings_tokens"),
        reverse("crm:settings_integrations"),
    ]
    for url in urls:
        assert client.get(url).status_code == 200, url
    assert client.get(reverse("crm:settings")).status_code == 302
