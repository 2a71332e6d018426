"""Filter triggers (rule W1): a contact that starts matching is enrolled once, by the hook on
participation changes and by the periodic sweep; contacts that matched when the workflow was
turned on are enrolled only with `enroll_existing`."""

import datetime as dt

import pytest
from django.utils import timezone

from marketing_events.models import MarketingEvent
from marketing_events.plan import OccurrenceFact, Plan, RegistrationFact, SessionFact
from marketing_events.services import plan_apply
from tests.factories import ContactFactory
from tests.workflows.test_zoom_action import ACTION, URL, registrants
from tests.zoom_integration.scenario import UPCOMING_ID
from workflows.models import ActionExecution, Enrollment
from workflows.tasks import sweep_workflows


def attend(contact, event):
    start = timezone.now() - dt.timedelta(hours=2)
    plan = Plan(
        event_id=event.pk,
        registrations=[RegistrationFact(email=contact.email, registered_at=start)],
        occurrences=[OccurrenceFact("o1", start, start + dt.timedelta(hours=1))],
        sessions=[
            SessionFact(contact.email, "o1", "p-" + contact.email, start,
                        start + dt.timedelta(minutes=50))
        ],
    )  # fmt: skip
    plan_apply(plan)


@pytest.fixture
def webinar_a(db):
    return MarketingEvent.objects.create(
        source="zoom", external_account_id="acct_acme", external_event_id="84000000077",
        name="Webinar A",
    )  # fmt: skip


def make_workflow(api, event, *, enroll_existing=False):
    response = api.post(
        URL,
        {"name": "A then B", "enabled": True, "enroll_existing": enroll_existing,
         "trigger": {"type": "filters", "filters": {"or": [{"and": [
             {"type": "event_attended", "event_id": event.pk}]}]}},
         "actions": [{"type": ACTION, "webinar_id": str(UPCOMING_ID)}]},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    return response.json()["id"]


@pytest.mark.django_db
def test_a_contact_who_newly_matches_is_enrolled_once_and_registered(
    connected, marketer_api, webinar_a, django_capture_on_commit_callbacks
):
    before = ContactFactory(first_name="Early")
    attend(before, webinar_a)
    with django_capture_on_commit_callbacks(execute=True):
        workflow_id = make_workflow(marketer_api, webinar_a)
    assert not Enrollment.objects.exists()  # matched already when turned on

    newcomer = ContactFactory(first_name="Nina")
    with django_capture_on_commit_callbacks(execute=True):
        attend(newcomer, webinar_a)  # the participation change runs the trigger
    enrollment = Enrollment.objects.get()
    assert (enrollment.workflow_id, enrollment.contact_id, enrollment.source) == (
        workflow_id,
        newcomer.pk,
        "trigger",
    )
    execution = ActionExecution.objects.get()
    assert execution.status == "succeeded", execution.message
    assert [r["email"] for r in registrants(connected, UPCOMING_ID)].count(newcomer.email) == 1

    # The periodic sweep, and a later change, do not enroll anyone again.
    with django_capture_on_commit_callbacks(execute=True):
        sweep_workflows()
        attend(newcomer, webinar_a)
    assert Enrollment.objects.count() == 1


@pytest.mark.django_db
def test_enroll_existing_takes_those_who_already_match(
    connected, marketer_api, webinar_a, django_capture_on_commit_callbacks
):
    early = ContactFactory(first_name="Early")
    attend(early, webinar_a)
    with django_capture_on_commit_callbacks(execute=True):
        make_workflow(marketer_api, webinar_a, enroll_existing=True)
    assert list(Enrollment.objects.values_list("contact_id", flat=True)) == [early.pk]


@pytest.mark.django_db
def test_reenrollment_after_leaving_and_matching_again(
    connected, marketer_api, django_capture_on_commit_callbacks
):
    # With re-enrollment, a contact who stops matching and matches again is enrolled again.
    from crm.services.contacts import contact_update

    with django_capture_on_commit_callbacks(execute=True):
        response = marketer_api.post(
            URL,
            {"name": "Gold", "enabled": True, "reenrollment": True,
             "trigger": {"type": "filters", "filters": {"or": [{"and": [
                 {"type": "property", "property": "company", "operator": "eq",
                  "value": "Gold"}]}]}},
             "actions": [{"type": ACTION, "webinar_id": str(UPCOMING_ID)}]},
            format="json",
        )  # fmt: skip
    assert response.status_code == 201
    person = ContactFactory(first_name="Pat", company="Tin")
    for company in ("Gold", "Tin", "Gold"):
        with django_capture_on_commit_callbacks(execute=True):
            contact_update(contact=person, properties={"company": company})
    assert list(Enrollment.objects.values_list("number", flat=True).order_by("number")) == [1, 2]
    assert [r["email"] for r in registrants(connected, UPCOMING_ID)].count(person.email) == 1
