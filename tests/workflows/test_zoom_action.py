"""The "Add contact to Zoom webinar" action against the Zoom sandbox over real HTTP
(rules W1–W8): success, bad ids, property tokens, other brand, host and connected user, extra
required fields, 429 then success, re-enrollment, tier."""

import pytest

from crm.models import Account, Contact, Tier, TimelineEntry
from marketing_events.activity import activity_rebuild, stored_values
from marketing_events.models import Participation
from tests.factories import ContactFactory
from tests.workflows.conftest import QUESTIONS_ID
from tests.zoom_integration.scenario import (
    BETA_WEBINAR_ID,
    RECURRING_ID,
    UPCOMING_ID,
)
from workflows.models import ActionExecution, Enrollment

URL = "/api/v1/workflows/"
ACTION = "zoom.add_contact_to_webinar"


def registrants(sandbox, webinar_id):
    state = sandbox.get("/_sandbox/state").json()
    for account in state["accounts"]:
        for webinar in account["webinars"]:
            if webinar["id"] == webinar_id:
                return [r for r in webinar.get("registrants", []) if r.get("status") != "cancelled"]
    raise AssertionError(webinar_id)


def create(api, action, *, reenrollment=False, enabled=True):
    response = api.post(
        URL,
        {"name": "Register", "trigger": {"type": "manual"}, "reenrollment": reenrollment,
         "actions": [{"type": ACTION, **action}], "enabled": enabled},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def enroll(api, workflow_id, contacts, capture):
    with capture(execute=True):
        response = api.post(
            f"{URL}{workflow_id}/enroll/", {"contact_ids": [c.pk for c in contacts]}, format="json"
        )
    assert response.status_code == 200, response.json()
    return response.json()


def log(api, workflow_id, **params):
    return api.get(f"{URL}{workflow_id}/executions/", params).json()["results"]


@pytest.mark.django_db
def test_success_registers_records_and_updates_legacy_properties(
    connected, marketer_api, settings, django_capture_on_commit_callbacks
):
    # rules W3, W7, W8 (and P5: an empty cutoff keeps P2/P3 live)
    settings.ZOOM_LEGACY_PROPERTIES_CUTOFF = ""
    ana = ContactFactory(email="ana@client.example", first_name="Ana", last_name="Silva")
    workflow_id = create(marketer_api, {"webinar_id": str(UPCOMING_ID)})
    enroll(marketer_api, workflow_id, [ana], django_capture_on_commit_callbacks)

    rows = log(marketer_api, workflow_id)
    assert len(rows) == 1
    row = rows[0]
    assert (row["status"], row["contact"], row["action"]) == ("succeeded", ana.pk, ACTION)
    registered = [r for r in registrants(connected, UPCOMING_ID) if r["email"] == ana.email]
    assert len(registered) == 1
    assert (registered[0]["first_name"], registered[0]["last_name"]) == ("Ana", "Silva")
    assert row["output"]["registrant_id"] == registered[0]["id"]
    assert row["output"]["join_url"].startswith("http")
    participation = Participation.objects.get(contact=ana)
    assert participation.state == "REGISTERED"
    assert participation.external_registrant_id == registered[0]["id"]
    assert participation.event.external_event_id == str(UPCOMING_ID)
    assert TimelineEntry.objects.filter(contact=ana, kind="zoom_webinar_registered").count() == 1
    ana.refresh_from_db()
    assert ana.properties["zoom_webinar_registration_count"] == "1"
    # issue 21: the registration is in Ana's rollups at once
    rollups = stored_values([ana.pk])[ana.pk]
    assert rollups[:2] == (1, 0)
    assert rollups[6] == participation.registered_at
    assert activity_rebuild(fix=False).drifted == 0
    assert ana.properties["zoom_last_registered_webinar_url"] == row["output"]["join_url"]


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["8400-000-0001", "84 000 000 01", "abc", "12", " 84000000001"])
def test_bad_webinar_ids_are_refused_at_save(connected, marketer_api, bad):
    # rule W2
    response = marketer_api.post(
        URL,
        {"name": "X", "trigger": {"type": "manual"},
         "actions": [{"type": ACTION, "webinar_id": bad}]},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    body = response.json()
    assert body["errors"][0]["path"] == "actions[0].webinar_id"
    assert "without spaces or dashes" in body["errors"][0]["message"]


@pytest.mark.django_db
def test_webinar_id_as_integer_and_from_property_token(connected, marketer_api):
    assert create(marketer_api, {"webinar_id": UPCOMING_ID})
    response = marketer_api.post(
        URL,
        {"name": "Y", "trigger": {"type": "manual"},
         "actions": [{"type": ACTION, "webinar_id_property": "no_such_property"}]},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "actions[0].webinar_id_property"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("value", "status", "message"),
    [
        ("", "failed", "is empty"),
        ("8400-0000-0001", "failed", "not a Zoom webinar id"),
        (str(UPCOMING_ID), "succeeded", "Registered"),
    ],
)
def test_property_token(
    connected, marketer_api, django_capture_on_commit_callbacks, value, status, message
):
    # rule W2: the property's value is checked when the action runs
    from crm.models import PropertyDefinition

    PropertyDefinition.objects.create(name="next_webinar", label="Next webinar", type="string")
    bo = ContactFactory(first_name="Bo", properties={"next_webinar": value} if value else {})
    workflow_id = create(marketer_api, {"webinar_id_property": "next_webinar"})
    enroll(marketer_api, workflow_id, [bo], django_capture_on_commit_callbacks)
    row = log(marketer_api, workflow_id)[0]
    assert row["status"] == status
    assert message in row["message"]


@pytest.mark.django_db
def test_another_brands_webinar_is_not_registered(
    connected, marketer_api, django_capture_on_commit_callbacks
):
    # rule W4: the log names the primary brand
    cy = ContactFactory(first_name="Cy")
    workflow_id = create(marketer_api, {"webinar_id": str(BETA_WEBINAR_ID)})
    enroll(marketer_api, workflow_id, [cy], django_capture_on_commit_callbacks)
    row = log(marketer_api, workflow_id)[0]
    assert row["status"] == "failed"
    assert "primary brand" in row["message"] and "Acme" in row["message"]
    assert "Beta" in row["message"]
    assert registrants(connected, BETA_WEBINAR_ID) == []


@pytest.mark.django_db
@pytest.mark.parametrize("email", ["mia@partner.example", "OWNER@acme.test"])
def test_host_and_connected_user_cannot_register(
    connected, marketer_api, django_capture_on_commit_callbacks, email
):
    # rule W5: Mia hosts the recurring webinar; the owner is the connected user
    person = ContactFactory(email=email.lower(), first_name="Host")
    workflow_id = create(marketer_api, {"webinar_id": str(RECURRING_ID)})
    enroll(marketer_api, workflow_id, [person], django_capture_on_commit_callbacks)
    row = log(marketer_api, workflow_id)[0]
    assert row["status"] == "failed"
    assert row["message"] == "Webinar host cannot register to the webinar"
    assert all(r["email"].lower() != email.lower() for r in registrants(connected, RECURRING_ID))


@pytest.mark.django_db
def test_extra_required_fields_are_named(
    connected, marketer_api, django_capture_on_commit_callbacks
):
    # rule W6: Zoom's field names and the custom questions' titles; rule E3: only those that
    # no mapped property of the contact holds (Dee has no job title, and nothing maps
    # "Company size")
    dee = ContactFactory(first_name="Dee", last_name="Doe", job_title="")
    workflow_id = create(marketer_api, {"webinar_id": str(QUESTIONS_ID)})
    enroll(marketer_api, workflow_id, [dee], django_capture_on_commit_callbacks)
    row = log(marketer_api, workflow_id)[0]
    assert row["status"] == "failed"
    assert "job_title" in row["message"] and "Company size" in row["message"]
    assert "last_name" not in row["message"]
    assert registrants(connected, QUESTIONS_ID) == []


@pytest.mark.django_db
def test_429_then_success_registers_exactly_once(
    connected, marketer_api, django_capture_on_commit_callbacks
):
    # rule W7: a transient failure is retried; one registrant in the end
    connected.post(
        "/_sandbox/faults",
        json={"rules": [{"method": "POST", "path": "/registrants$", "status": 429, "times": 1,
                         "retry_after": 1}]},
    ).raise_for_status()  # fmt: skip
    eve = ContactFactory(first_name="Eve")
    workflow_id = create(marketer_api, {"webinar_id": str(UPCOMING_ID)})
    enroll(marketer_api, workflow_id, [eve], django_capture_on_commit_callbacks)
    row = log(marketer_api, workflow_id)[0]
    assert row["status"] == "succeeded", row["message"]
    assert row["attempts"] == 2
    assert len([r for r in registrants(connected, UPCOMING_ID) if r["email"] == eve.email]) == 1
    posts = [
        r for r in connected.get("/_sandbox/requests").json()["requests"]
        if r["method"] == "POST" and r["path"].endswith("/registrants")
    ]  # fmt: skip
    assert [r["status"] for r in posts] == [429, 201]


@pytest.mark.django_db
def test_reenrollment_registers_once(connected, marketer_api, django_capture_on_commit_callbacks):
    # rule W7: re-enrollment never registers twice
    fay = ContactFactory(first_name="Fay")
    workflow_id = create(marketer_api, {"webinar_id": str(UPCOMING_ID)}, reenrollment=True)
    enroll(marketer_api, workflow_id, [fay], django_capture_on_commit_callbacks)
    second = enroll(marketer_api, workflow_id, [fay], django_capture_on_commit_callbacks)
    assert [e["number"] for e in second["enrolled"]] == [2]
    rows = log(marketer_api, workflow_id)
    assert [r["status"] for r in rows] == ["succeeded", "succeeded"]
    assert rows[0]["output"] == rows[1]["output"]
    assert len([r for r in registrants(connected, UPCOMING_ID) if r["email"] == fay.email]) == 1
    posts = [
        r for r in connected.get("/_sandbox/requests").json()["requests"]
        if r["method"] == "POST" and r["path"].endswith("/registrants")
    ]  # fmt: skip
    assert len(posts) == 1


@pytest.mark.django_db
def test_without_reenrollment_a_second_enrollment_is_skipped(
    connected, marketer_api, django_capture_on_commit_callbacks
):
    gus = ContactFactory(first_name="Gus")
    workflow_id = create(marketer_api, {"webinar_id": str(UPCOMING_ID)})
    enroll(marketer_api, workflow_id, [gus], django_capture_on_commit_callbacks)
    second = enroll(marketer_api, workflow_id, [gus], django_capture_on_commit_callbacks)
    assert second["enrolled"] == []
    assert second["skipped"] == [
        {"contact": gus.pk, "reason": "already enrolled (re-enrollment is off)"}
    ]
    assert Enrollment.objects.count() == 1


@pytest.mark.django_db
def test_manual_enrollment_needs_the_workflow_on(connected, marketer_api):
    hal = ContactFactory(first_name="Hal")
    workflow_id = create(marketer_api, {"webinar_id": str(UPCOMING_ID)}, enabled=False)
    response = marketer_api.post(
        f"{URL}{workflow_id}/enroll/", {"contact_ids": [hal.pk]}, format="json"
    )
    assert response.status_code == 409
    assert not Enrollment.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("tier", [Tier.FREE, Tier.STARTER])
def test_below_professional_the_api_refuses_with_the_reason(marketer_api, db, tier):
    # rule W1
    Account.objects.update_or_create(pk=1, defaults={"tier": tier})
    for response in (
        marketer_api.get(URL),
        marketer_api.post(URL, {"name": "X", "trigger": {"type": "manual"}}, format="json"),
    ):
        assert response.status_code == 403
        assert "Professional or Enterprise" in response.json()["detail"]


@pytest.mark.django_db
def test_a_viewer_reads_but_cannot_write(viewer_api, db):
    Account.objects.update_or_create(pk=1, defaults={"tier": Tier.ENTERPRISE})
    assert viewer_api.get(URL).status_code == 200
    response = viewer_api.post(URL, {"name": "X", "trigger": {"type": "manual"}}, format="json")
    assert response.status_code == 403


@pytest.mark.django_db
def test_log_filters(connected, marketer_api, django_capture_on_commit_callbacks):
    ok = ContactFactory(first_name="Ok")
    host = ContactFactory(email="mia@partner.example", first_name="Mia")
    workflow_id = create(marketer_api, {"webinar_id": str(RECURRING_ID)})
    enroll(marketer_api, workflow_id, [ok, host], django_capture_on_commit_callbacks)
    assert {r["contact"] for r in log(marketer_api, workflow_id, status="failed")} == {host.pk}
    assert {r["contact"] for r in log(marketer_api, workflow_id, status="succeeded")} == {ok.pk}
    assert [r["contact"] for r in log(marketer_api, workflow_id, contact=ok.pk)] == [ok.pk]
    assert log(marketer_api, workflow_id, action="other") == []
    assert len(log(marketer_api, workflow_id, since="2000-01-01")) == 2
    assert log(marketer_api, workflow_id, until="2000-01-01") == []
    bad = marketer_api.get(f"{URL}{workflow_id}/executions/", {"status": "nope"})
    assert bad.status_code == 400
    assert ActionExecution.objects.count() == 2
    assert Contact.objects.filter(pk=ok.pk).exists()


# The log in the reader's language (rule L1), the API in English (rule L2) --------------------

LOG_MESSAGES = {
    "pt-br": "pertence à conta do Zoom da marca “Beta”",
    "fr": "appartient au compte Zoom de la marque «\xa0Beta\xa0»",
}


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["pt-br", "fr"])
def test_the_log_speaks_its_readers_language_and_the_api_english(
    connected, marketer, marketer_api, client, django_capture_on_commit_callbacks, language
):
    # The worker runs in English; the message is stored as an id with its parameters.
    cy = ContactFactory(first_name="Cy")
    workflow_id = create(marketer_api, {"webinar_id": str(BETA_WEBINAR_ID)})
    enroll(marketer_api, workflow_id, [cy], django_capture_on_commit_callbacks)
    row = log(marketer_api, workflow_id)[0]
    assert row["message"].startswith(f"Webinar {BETA_WEBINAR_ID} belongs to the Zoom account")
    execution = ActionExecution.objects.get(workflow_id=workflow_id)
    assert execution.message_text["params"] == {
        "webinar": str(BETA_WEBINAR_ID), "brand": "Beta", "primary": "Acme",
    }  # fmt: skip
    marketer.language = language
    marketer.save(update_fields=["language"])
    client.force_login(marketer)
    html = client.get(f"/workflows/{workflow_id}/").content.decode()
    assert LOG_MESSAGES[language] in html
    assert "belongs to the Zoom account" not in html


@pytest.mark.django_db
def test_a_given_up_note_wraps_the_actions_own_message_in_the_readers_language(
    connected, marketer, marketer_api, client, django_capture_on_commit_callbacks
):
    # Two stored texts, one inside the other: "Gave up after 6 attempts: Zoom is busy: …"
    connected.post(
        "/_sandbox/faults",
        json={"rules": [{"method": "POST", "path": "/registrants$", "status": 503, "times": 10}]},
    ).raise_for_status()
    eve = ContactFactory(first_name="Eve")
    workflow_id = create(marketer_api, {"webinar_id": str(UPCOMING_ID)})
    enroll(marketer_api, workflow_id, [eve], django_capture_on_commit_callbacks)
    row = log(marketer_api, workflow_id)[0]
    assert row["status"] == "failed"
    assert row["message"].startswith("Gave up after 6 attempts: Zoom is busy: ")
    marketer.language = "pt-br"
    marketer.save(update_fields=["language"])
    client.force_login(marketer)
    html = client.get(f"/workflows/{workflow_id}/").content.decode()
    assert "Desistiu após 6 tentativas: O Zoom está ocupado: " in html
    assert "Gave up" not in html and "Zoom is busy" not in html


@pytest.mark.django_db
def test_required_fields_are_filled_from_mapped_properties(
    connected, marketer_api, django_capture_on_commit_callbacks
):
    # rule E3: job_title through the built-in default (job_title -> jobtitle), "Company size"
    # through a connection mapping to a custom property; Zoom gets both
    from crm.models import PropertyDefinition
    from zoom_integration.models import ZoomConnection
    from zoom_integration.registration.services import mappings_replace

    PropertyDefinition.objects.create(
        name="company_size", label="Company size", type="string", field_type="text"
    )
    connection = ZoomConnection.objects.get(brand__is_primary=True)
    mappings_replace(
        connection=connection,
        webinar=None,
        items=[{"question": "Company size", "property": "company_size"}],
    )
    fay = ContactFactory(
        first_name="Fay", last_name="Fox", job_title="CFO", properties={"company_size": "11-100"}
    )
    workflow_id = create(marketer_api, {"webinar_id": str(QUESTIONS_ID)})
    enroll(marketer_api, workflow_id, [fay], django_capture_on_commit_callbacks)
    row = log(marketer_api, workflow_id)[0]
    assert row["status"] == "succeeded", row["message"]
    registered = registrants(connected, QUESTIONS_ID)
    assert [(r["email"], r["job_title"], r["custom_questions"]) for r in registered] == [
        (fay.email, "CFO", [{"title": "Company size", "value": "11-100"}])
    ]

    # The same webinar for a contact without the custom property: refused naming only it.
    gus = ContactFactory(first_name="Gus", last_name="Gray", job_title="CTO", properties={})
    enroll(marketer_api, workflow_id, [gus], django_capture_on_commit_callbacks)
    failed = next(r for r in log(marketer_api, workflow_id) if r["status"] == "failed")
    assert failed["message"].endswith(": Company size")
    assert "job_title" not in failed["message"]
    assert [r["email"] for r in registrants(connected, QUESTIONS_ID)] == [fay.email]
