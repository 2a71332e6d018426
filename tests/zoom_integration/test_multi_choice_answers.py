"""Rule E1 (DESIGN "a multi-choice answer is a list"): Zoom sends the choices of a `multiple`
question in one string; the participation keeps them as a list (from the sync, webhooks and the
public page), the pages and the CSV show them joined, a mapped property gets them separated by
";", the HubSpot-compatible breakdown answers the list, and answers stored before as strings
are turned into lists by a data migration."""

import importlib
from datetime import UTC, datetime

import pytest
from django.apps import apps
from django.urls import reverse

from crm.models import Contact
from marketing_events.models import Participation, RegistrationDetails
from marketing_events.plan import NewContact, Plan, RegistrationFact, answer_text
from marketing_events.rules import CrmSnapshot
from marketing_events.services import plan_apply
from tests.marketing_events.test_views import csv_of, html_of
from tests.zoom_integration.scenario import ACME, UPCOMING_ID
from tests.zoom_integration.test_connections_api import acme, brands  # noqa: F401
from tests.zoom_integration.test_public_registration import signed
from zoom_integration.models import QuestionMapping
from zoom_integration.models_registration import WebinarRegistrationInfo
from zoom_integration.registration.mappings import (
    AnswerMappings,
    MappingRule,
    PropertyTarget,
    choice_answers,
)
from zoom_integration.sync.planner import SyncSettings, plan_registrants
from zoom_integration.sync.records import Registrant, WebinarInfo

TOPICS = {"title": "Topics", "type": "multiple", "required": False,
          "answers": ["AI", "Cloud", "Data"]}  # fmt: skip


# -- pure ------------------------------------------------------------------------------------


def test_a_list_from_zoom_stays_a_list_and_a_string_stays_a_string():
    registrant = Registrant.from_zoom(
        {
            "id": "r1",
            "email": "a@example.com",
            "custom_questions": [
                {"title": "Topics", "value": [" AI ", "", "Cloud", None]},
                {"title": "Other", "value": "x;y"},
                {"title": "Nothing", "value": ["", " "]},
            ],
        }
    )
    assert registrant.answers == (("Topics", ("AI", "Cloud")), ("Other", "x;y"))


@pytest.mark.parametrize(
    ("value", "multi", "expected"),
    [
        ("AI;Cloud", True, ("AI", "Cloud")),
        (" AI ; ;Cloud native ", True, ("AI", "Cloud native")),
        ("AI", True, ("AI",)),
        (";", True, ";"),  # nothing chosen in it: left as it came
        (("AI", "Data"), True, ("AI", "Data")),
        ("AI;Cloud", False, "AI;Cloud"),  # not a multi-choice question: one answer
    ],
)
def test_choice_answers_split_only_multi_choice_questions(value, multi, expected):
    answers = choice_answers([("Topics", value)], {"Topics"} if multi else set())
    assert answers == (("Topics", expected),)


def test_answer_text_joins_the_choices():
    assert answer_text(["AI", "Cloud"]) == "AI; Cloud"
    assert answer_text(("AI", "Cloud"), separator=";") == "AI;Cloud"
    assert answer_text("11-100") == "11-100"
    assert answer_text(None) == ""


def test_the_planner_keeps_a_list_and_writes_the_property_with_semicolons():
    webinar = WebinarInfo(
        zoom_webinar_id=1, topic="T", host_email="h@x.test", is_zoom_events=False,
        sync_enabled=True, event_id=7,
    )  # fmt: skip
    target = PropertyTarget("interests", None, False, 500, lambda raw: str(raw))
    mappings = AnswerMappings(
        rules={"Topics": MappingRule("Topics", "interests")},
        targets={"interests": target},
        multi_choice=frozenset({"Topics"}),
    )
    registrant = Registrant.from_zoom(
        {"id": "r1", "email": "a@example.com", "first_name": "A",
         "custom_questions": [{"title": "Topics", "value": "AI;Cloud"}]}
    )  # fmt: skip
    plan = plan_registrants(webinar, [registrant], CrmSnapshot(), SyncSettings(), mappings=mappings)
    assert plan.registrations[0].answers == (("Topics", ("AI", "Cloud")),)
    assert [(w.property, w.value) for w in plan.property_writes] == [("interests", "AI;Cloud")]


# -- the pull sync over HTTP, the pages, the CSV and the API --------------------------------


@pytest.fixture
def synced(acme, admin_api, zoom_sandbox, django_capture_on_commit_callbacks):  # noqa: F811
    state = zoom_sandbox.get("/_sandbox/state").json()
    account = next(a for a in state["accounts"] if a["id"] == ACME)
    webinar = next(w for w in account["webinars"] if w["id"] == UPCOMING_ID)
    webinar["custom_questions"] = [
        TOPICS,
        {"title": "Motto", "type": "short", "required": False},
    ]
    webinar["registrants"][0]["custom_questions"] = [
        {"title": "Topics", "value": "AI;Cloud"},
        {"title": "Motto", "value": "less; but better"},  # a text answer with ";" stays whole
    ]
    zoom_sandbox.post("/_sandbox/accounts", json=account).raise_for_status()
    from zoom_integration.services.connections import connection_settings_update

    connection_settings_update(connection=acme, sync_webinar_data=True)
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_api.post(f"/api/v1/zoom/connections/{acme.pk}/sync/").status_code == 202
    return acme


def _person1_details():
    return RegistrationDetails.objects.get(participation__contact__email="person1@example.com")


def test_the_sync_stores_a_list_and_the_pages_show_it_joined(synced, admin_client, admin_api):
    details = _person1_details()
    assert details.answers == {"Topics": ["AI", "Cloud"], "Motto": "less; but better"}
    event = details.event

    html = html_of(admin_client.get(reverse("marketing_events:detail", args=[event.pk])))
    assert '<td data-question="Topics">AI; Cloud</td>' in html
    rows = csv_of(admin_client.get(reverse("marketing_events:participants_csv", args=[event.pk])))
    header, person = rows[0], next(r for r in rows if "person1@example.com" in r)
    assert person[header.index("Topics")] == "AI; Cloud"
    assert person[header.index("Motto")] == "less; but better"
    contact = Contact.objects.get(email="person1@example.com")
    page = html_of(admin_client.get(reverse("crm:contact_detail", args=[contact.pk])))
    assert "<dt>Topics</dt><dd>AI; Cloud</dd>" in page

    # The HubSpot-compatible breakdown answers the list as it is stored.
    response = admin_api.get(f"/marketing/v3/marketing-events/participations/{event.pk}/breakdown")
    assert response.status_code == 200
    rows = {
        r["associations"]["contact"]["email"]: r["properties"] for r in response.json()["results"]
    }
    assert rows["person1@example.com"]["answers"]["Topics"] == ["AI", "Cloud"]


def test_a_mapped_multi_choice_answer_reaches_a_checkbox_property(
    synced, admin_api, django_capture_on_commit_callbacks
):
    created = admin_api.post(
        "/crm/v3/properties/contacts",
        {"name": "interests", "label": "Interests", "type": "enumeration",
         "fieldType": "checkbox", "groupName": "contactinformation",
         "options": [{"label": o, "value": o} for o in ("AI", "Cloud", "Data")]},
        format="json",
    )  # fmt: skip
    assert created.status_code == 201, created.content
    QuestionMapping.objects.create(connection=synced, question="Topics", property="interests")
    with django_capture_on_commit_callbacks(execute=True):
        answer = admin_api.post(f"/api/v1/zoom/connections/{synced.pk}/question-mappings/apply/")
    assert answer.status_code == 202
    contact = Contact.objects.get(email="person1@example.com")
    assert contact.properties["interests"] == "AI;Cloud"


# -- the public page ----------------------------------------------------------------------


def test_the_public_page_asks_with_checkboxes_and_stores_a_list(client, synced, zoom_sandbox):
    url = reverse("public_registration", args=[synced.pk, UPCOMING_ID])
    html = client.get(url).content.decode()
    assert html.count('type="checkbox" name="q0"') == 3
    body = {"first_name": "Nia", "last_name": "N", "email": "nia@example.com",
            "q0": ["AI", "Data"], "q1": "Yes"}  # fmt: skip
    response = client.post(url, signed(synced, body))
    assert response.status_code == 200, response.content.decode()
    state = zoom_sandbox.get("/_sandbox/state").json()
    webinar = next(w for a in state["accounts"] for w in a["webinars"] if w["id"] == UPCOMING_ID)
    nia = next(r for r in webinar["registrants"] if r["email"] == "nia@example.com")
    assert {"title": "Topics", "value": "AI;Data"} in nia["custom_questions"]  # Zoom's string
    details = RegistrationDetails.objects.get(participation__contact__email="nia@example.com")
    assert details.answers["Topics"] == ["AI", "Data"]


@pytest.mark.parametrize(
    ("choices", "message"),
    [(["AI", "Quantum"], "Select a valid choice"), ([], None)],
)
def test_the_public_page_refuses_a_choice_not_offered(client, synced, choices, message):
    url = reverse("public_registration", args=[synced.pk, UPCOMING_ID])
    body = {"first_name": "Ola", "last_name": "O", "email": "ola@example.com", "q0": choices}
    response = client.post(url, signed(synced, body))
    if message is None:  # not required: nothing chosen registers without the answer
        assert response.status_code == 200
        details = RegistrationDetails.objects.filter(
            participation__contact__email="ola@example.com"
        ).first()
        assert details is None or "Topics" not in details.answers
        return
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Participation.objects.filter(contact__email="ola@example.com").exists()


# -- the data migration ---------------------------------------------------------------------


def test_the_migration_turns_stored_strings_into_lists_and_back(synced):
    migration = importlib.import_module(
        "zoom_integration.migrations.0011_multi_choice_answers_as_lists"
    )
    details = _person1_details()
    # As stored before this change: Zoom's string.
    RegistrationDetails.objects.filter(pk=details.pk).update(
        answers={"Topics": "AI; Cloud ;", "Motto": "less; but better"}
    )
    # Another event's answer to a question of the same title, not multi-choice there: untouched.
    other = _other_event_answer()

    migration.forwards(apps, None)
    details.refresh_from_db()
    assert details.answers == {"Topics": ["AI", "Cloud"], "Motto": "less; but better"}
    other.refresh_from_db()
    assert other.answers == {"Topics": "x;y"}

    migration.backwards(apps, None)
    details.refresh_from_db()
    assert details.answers == {"Topics": "AI;Cloud", "Motto": "less; but better"}
    other.refresh_from_db()
    assert other.answers == {"Topics": "x;y"}


def _other_event_answer() -> RegistrationDetails:
    from marketing_events.services import event_upsert

    event = event_upsert(
        source="zoom",
        external_account_id=ACME,
        external_event_id="89000000001",
        defaults={"name": "Other", "starts_at": datetime(2030, 1, 1, tzinfo=UTC)},
    )
    plan_apply(
        Plan(
            event_id=event.pk,
            new_contacts=[NewContact("zed@example.com")],
            registrations=[
                RegistrationFact("zed@example.com", registered_at=datetime.now(UTC),
                                 answers=(("Topics", "x;y"),))
            ],
        )
    )  # fmt: skip
    assert not WebinarRegistrationInfo.objects.filter(webinar__event=event).exists()
    return RegistrationDetails.objects.get(event=event)
