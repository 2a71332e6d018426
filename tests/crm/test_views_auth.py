"""Login throttling (DESIGN "Production safety": logins are rate-limited), on our login page and
the Django admin's: django-axes locks an e-mail out from one IP address after 10 consecutive
failures (LOGIN_FAILURE_LIMIT) for 15 minutes (LOGIN_COOLOFF_MINUTES)."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm.models import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LOGIN = reverse("login")
ADMIN_LOGIN = "/django-admin/login/"
IP, OTHER_IP = "203.0.113.7", "198.51.100.20"


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    # Dozens of logins a test: a fast hasher keeps them cheap (throttling is not about hashing).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def ana(db, _fast_hasher):
    return UserFactory(email="ana@crm.test", role=Role.SUPER_ADMIN, is_staff=True)


def attempt(url, email, password, *, ip=IP, client=None):
    client = client or Client()
    return client.post(url, {"username": email, "password": password}, REMOTE_ADDR=ip)


def logged_in(response) -> bool:
    return response.status_code == 302 and response.wsgi_request.user.is_authenticated


@pytest.mark.parametrize("url", [LOGIN, ADMIN_LOGIN])
def test_twenty_wrong_passwords_lock_out_even_the_right_one(url, ana):
    statuses = [attempt(url, "ana@crm.test", f"wrong-{i}").status_code for i in range(20)]
    assert statuses == [200] * 9 + [429] * 11
    refused = attempt(url, "ana@crm.test", "password")
    assert refused.status_code == 429
    assert refused["Retry-After"] == "900"
    html = refused.content.decode()
    assert "Too many login attempts" in html
    assert "Try again in 15 minutes" in html
    assert 'class="auth-card card" data-testid="login-locked-out"' in html  # the product's page
    assert f'href="{url}"' in html
    assert "_auth_user_id" not in refused.wsgi_request.session


@pytest.mark.parametrize("url", [LOGIN, ADMIN_LOGIN])
def test_the_lockout_ends_after_the_cool_off(url, ana):
    for i in range(10):
        attempt(url, "ana@crm.test", f"wrong-{i}")
    assert attempt(url, "ana@crm.test", "password").status_code == 429
    from axes.models import AccessAttempt

    AccessAttempt.objects.update(attempt_time=timezone.now() - dt.timedelta(minutes=16))
    assert logged_in(attempt(url, "ana@crm.test", "password"))


def test_case_variants_of_an_email_share_one_count(ana):
    # The admin's form does not normalize the e-mail; the count does (rule Z8).
    for i in range(10):
        email = "ANA@crm.test" if i % 2 else " ana@CRM.test"
        attempt(ADMIN_LOGIN, email, f"wrong-{i}")
    assert attempt(ADMIN_LOGIN, "ana@crm.test", "password").status_code == 429


@pytest.mark.parametrize("url", [LOGIN, ADMIN_LOGIN])
def test_a_successful_login_resets_the_count(url, ana):
    for round_ in range(3):
        statuses = [attempt(url, "ana@crm.test", f"wrong-{i}").status_code for i in range(9)]
        assert statuses == [200] * 9, round_
        assert logged_in(attempt(url, "ana@crm.test", "password"))
    from axes.models import AccessAttempt

    assert not AccessAttempt.objects.exists()


@pytest.mark.parametrize("url", [LOGIN, ADMIN_LOGIN])
def test_other_users_and_addresses_are_unaffected(url, ana):
    UserFactory(email="bob@crm.test", role=Role.SUPER_ADMIN, is_staff=True)
    for i in range(10):
        attempt(url, "ana@crm.test", f"wrong-{i}")
    assert attempt(url, "ana@crm.test", "password").status_code == 429
    assert logged_in(attempt(url, "ana@crm.test", "password", ip=OTHER_IP))
    assert logged_in(attempt(url, "bob@crm.test", "password"))


def test_bearer_tokens_are_unaffected_by_a_lockout(ana, token_client):
    api = token_client(ana)
    for i in range(12):
        attempt(LOGIN, "ana@crm.test", f"wrong-{i}", ip="127.0.0.1")
    assert attempt(LOGIN, "ana@crm.test", "password", ip="127.0.0.1").status_code == 429
    response = api.get("/api/v1/account/", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200


def test_a_login_without_an_email_or_with_odd_input_is_no_500(ana):
    assert attempt(LOGIN, "", "x").status_code == 200
    assert attempt(ADMIN_LOGIN, "a" * 400, "x").status_code == 200
    assert Client().post(ADMIN_LOGIN, {"password": "x"}).status_code == 200
