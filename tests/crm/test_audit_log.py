"""Reading the audit trail: Settings > Audit log (super admins: filters by person, kind and
dates, paging, CSV of every filtered row, bounded queries) and `GET /api/v1/audit-log/`
(schema-valid pages, filters, 400s naming the parameter, 403 for anyone but a super admin)."""

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from crm.models import AuditEntry, AuditKind, Role
from crm.services.tokens import api_token_create
from tests.crm.test_api_schema import assert_response_documented
from tests.factories import UserFactory
from tests.support.openapi import openapi_schema

pytestmark = pytest.mark.django_db

URL = reverse("crm:settings_audit_log")
API = "/api/v1/audit-log/"


def entry(actor, kind=AuditKind.BRAND_CREATED, *, days_ago=0, **fields):
    defaults = {
        "actor": actor,
        "actor_email": actor.email if actor else "",
        "via": "ui",
        "kind": kind,
        "target_type": "brand",
        "target_id": "7",
        "target_label": "Beta",
        "before": {},
        "after": {"name": "Beta"},
        "occurred_at": timezone.now() - dt.timedelta(days=days_ago),
    }
    return AuditEntry.objects.create(**{**defaults, **fields})


@pytest.fixture
def people(admin_user):
    mia = UserFactory(email="mia@crm.test", role=Role.SUPER_ADMIN)
    AuditEntry.objects.all().delete()  # the fixtures' own entries (their tokens)
    return admin_user, mia


@pytest.fixture
def ui(client, admin_user):
    client.force_login(admin_user)
    return client


def rows_of(response) -> list[str]:
    html = response.content.decode()
    return [part.split('"', 1)[0] for part in html.split('data-testid="audit-row" data-id="')[1:]]


# The page ------------------------------------------------------------------------------------


def test_the_page_shows_who_what_when_and_the_change(ui, people):
    admin, _mia = people
    entry(admin, AuditKind.ZOOM_SETTINGS_CHANGED, target_label="Acme",
          before={"sync_webinar_data": False, "client_secret": "(set)"},
          after={"sync_webinar_data": True, "client_secret": "(changed)"},
          occurred_at=dt.datetime(2026, 5, 12, 14, 30, tzinfo=dt.UTC))  # fmt: skip
    html = ui.get(URL, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "admin@crm.test" in html
    assert "Paramètres Zoom modifiés" in html and "Acme" in html  # the kind, translated
    assert "12/05/2026 14:30" in html  # the locale's format (rule L1)
    assert (
        '<span title="sync_webinar_data" data-field="sync_webinar_data">'
        "Synchroniser les données de webinar</span>: non → oui"
    ) in html
    assert "Client Secret</span>: (défini) → (modifié)" in html


def test_filters_by_person_kind_and_dates(ui, people):
    admin, mia = people
    a = entry(admin, AuditKind.BRAND_CREATED, days_ago=10)
    b = entry(mia, AuditKind.BRAND_CREATED, days_ago=1)
    c = entry(mia, AuditKind.USER_CREATED, days_ago=0)
    assert rows_of(ui.get(URL)) == [str(c.pk), str(b.pk), str(a.pk)]
    assert rows_of(ui.get(URL, {"actor": mia.pk})) == [str(c.pk), str(b.pk)]
    assert rows_of(ui.get(URL, {"kind": "brand.created"})) == [str(b.pk), str(a.pk)]
    today = timezone.localdate()
    since = (today - dt.timedelta(days=2)).isoformat()
    until = (today - dt.timedelta(days=1)).isoformat()
    assert rows_of(ui.get(URL, {"since": since, "until": until})) == [str(b.pk)]
    assert rows_of(ui.get(URL, {"actor": admin.pk, "kind": "user.created"})) == []


def test_bad_filters_are_inline_errors(ui, people):
    response = ui.get(URL, {"kind": "nope", "since": "yesterday"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Unknown kind &#x27;nope&#x27;" in html
    assert "since must be a date (2026-05-12)" in html


def test_empty_states(ui, people):
    html = ui.get(URL).content.decode()
    assert "No changes recorded yet" in html
    entry(people[0])
    html = ui.get(URL, {"kind": "user.created"}).content.decode()
    assert "No change matches these filters" in html


def test_pages_of_fifty_with_bounded_queries(ui, people, django_assert_max_num_queries):
    admin, mia = people
    for n in range(120):
        entry(admin if n % 2 else mia, days_ago=n % 5, target_label=f"Brand {n}")
    with django_assert_max_num_queries(8):
        first = ui.get(URL)
    with django_assert_max_num_queries(8):
        third = ui.get(URL, {"page": 3})
    assert len(rows_of(first)) == 50 and len(rows_of(third)) == 20
    assert set(rows_of(first)).isdisjoint(rows_of(third))
    assert 'href="?page=2" rel="next"' in first.content.decode()


def test_csv_exports_every_filtered_row(ui, people):
    admin, mia = people
    for n in range(60):
        entry(mia, target_label=f"=cmd{n}" if n == 0 else f"Brand {n}")
    entry(admin, AuditKind.USER_CREATED)
    response = ui.get(reverse("crm:settings_audit_log_csv"), {"actor": mia.pk})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["occurred_at", "actor_id", "actor_email"]
    assert len(rows) == 61  # all 60 of hers, not a page of 50
    assert {r[2] for r in rows[1:]} == {"mia@crm.test"}
    assert {r[6] for r in rows[1:]} == {"brand.created"}
    assert "'=cmd0" in {r[9] for r in rows[1:]}  # no formula reaches a spreadsheet
    bad = ui.get(reverse("crm:settings_audit_log_csv"), {"until": "2026-13-01"})
    assert bad.status_code == 400


@pytest.mark.parametrize("role", [Role.MARKETING, Role.VIEWER])
def test_only_super_admins_see_the_page(client, people, role):
    person = UserFactory(role=role)
    client.force_login(person)
    assert client.get(URL).status_code == 403
    assert client.get(reverse("crm:settings_audit_log_csv")).status_code == 403
    assert "nav-audit-log" not in client.get(reverse("crm:settings_account")).content.decode()


def test_the_settings_menu_links_it_for_super_admins(ui, people):
    html = ui.get(reverse("crm:settings_account")).content.decode()
    assert f'href="{URL}"' in html


# The API -------------------------------------------------------------------------------------


def test_api_pages_are_schema_valid_and_newest_first(admin_api, people):
    admin, mia = people
    entries = [entry(mia, days_ago=3 - n, target_label=f"B{n}") for n in range(3)]
    body = assert_response_documented(
        openapi_schema(), "GET", API, admin_api.get(API, {"limit": 2})
    )
    assert [r["id"] for r in body["results"]] == [entries[2].pk, entries[1].pk]
    assert body["results"][0] == {
        "id": entries[2].pk,
        "occurred_at": body["results"][0]["occurred_at"],
        "kind": "brand.created",
        "actor": {"id": mia.pk, "email": "mia@crm.test"},
        "via": "ui",
        "token": None,
        "target": {"type": "brand", "id": "7", "label": "B2"},
        "before": {},
        "after": {"name": "Beta"},
        "request_id": "",
    }
    second = admin_api.get(body["next"])
    assert [r["id"] for r in second.json()["results"]] == [entries[0].pk]
    assert second.json()["next"] is None


def test_api_filters(admin_api, people):
    admin, mia = people
    old = entry(mia, days_ago=10)
    new = entry(mia, AuditKind.USER_CREATED)
    mine = entry(admin)

    def ids(**params):
        response = admin_api.get(API, params)
        assert response.status_code == 200, response.json()
        return [r["id"] for r in response.json()["results"]]

    assert ids(actor=mia.pk) == [new.pk, old.pk]
    assert ids(kind="user.created") == [new.pk]
    since = (timezone.now() - dt.timedelta(days=2)).isoformat()
    assert ids(since=since, actor=mia.pk) == [new.pk]
    assert ids(until=(timezone.localdate() - dt.timedelta(days=5)).isoformat()) == [old.pk]
    assert mine.pk in ids()


@pytest.mark.parametrize(
    ("params", "name", "message"),
    [
        ({"actor": "mia"}, "actor", "actor must be a user id (a number)."),
        ({"kind": "brand.renamed"}, "kind", "Unknown kind 'brand.renamed'"),
        ({"since": "last week"}, "since", "since must be a date (2026-05-12)"),
        ({"until": "2026-02-30"}, "until", "until must be a date (2026-05-12)"),
        ({"since": "2026-05-12", "until": "2026-05-01"}, "until", "until must be later"),
    ],
)
def test_api_bad_filters_are_400s_naming_the_parameter(admin_api, people, params, name, message):
    response = admin_api.get(API, params)
    body = assert_response_documented(openapi_schema(), "GET", API, response)
    assert response.status_code == 400
    assert [e["name"] for e in body["errors"]] == [name]
    assert body["errors"][0]["message"].startswith(message)


def test_api_refuses_anyone_but_a_super_admin(marketer_api, admin_user, token_client, people):
    response = marketer_api.get(API)
    assert response.status_code == 403
    assert_response_documented(openapi_schema(), "GET", API, response)
    # A super admin's token without the scope is refused too.
    narrow = token_client(admin_user, scopes=["account.read"])
    assert narrow.get(API).status_code == 403
    # A token minted while its owner was a super admin stops working once they are not.
    person = UserFactory(role=Role.SUPER_ADMIN)
    _token, clear = api_token_create(user=person, name="audit", scopes=["crm.audit.read"])
    person.role = Role.MARKETING
    person.save()
    response = APIClient().get(API, HTTP_AUTHORIZATION=f"Bearer {clear}")
    assert response.status_code == 403
    assert "Only super admins may read the audit log" in response.json()["detail"]


def test_the_audit_scope_is_offered_to_super_admins_only(people):
    from crm.scopes import scopes_for_role

    assert "crm.audit.read" in scopes_for_role(Role.SUPER_ADMIN)
    assert "crm.audit.read" not in scopes_for_role(Role.MARKETING)
    assert "crm.audit.read" not in scopes_for_role(Role.VIEWER)


@pytest.mark.parametrize("params", [{"until": ""}, {"actor": " 5"}, {"kind": ""}])
def test_api_empty_or_padded_filters_are_400s(admin_api, people, params):
    response = admin_api.get(API, params)
    assert response.status_code == 400
    assert [e["name"] for e in response.json()["errors"]] == list(params)


@pytest.mark.parametrize(
    "language, expected",
    [
        ("en", "Sync webinar data</span>: no → yes"),
        ("pt-br", "Sincronizar dados da webinar</span>: não → sim"),
        ("fr", "Synchroniser les données de webinar</span>: non → oui"),
    ],
)
def test_a_changed_field_is_named_in_the_readers_language(client, language, expected):
    # rule L1: the page names fields as the settings screens do; the API and CSV keep the names
    from crm.models import AuditEntry, AuditKind, Role
    from tests.factories import UserFactory

    admin = UserFactory(email="lang-admin@crm.test", role=Role.SUPER_ADMIN, language=language)
    AuditEntry.objects.create(
        actor=admin,
        actor_email=admin.email,
        kind=AuditKind.ZOOM_SETTINGS_CHANGED,
        target_type="zoom_connection",
        target_id="1",
        target_label="Acme",
        before={"sync_webinar_data": False},
        after={"sync_webinar_data": True},
    )
    client.force_login(admin)
    html = client.get("/settings/audit-log/").content.decode()
    assert expected in html
    assert 'data-field="sync_webinar_data"' in html
