"""A contact's poll, Q&A and survey timeline entries (rule E6: one per contact, occurrence and
kind, listing its items) are read from the stored answers (`crm.models.TimelineEntry`, a
view): what they show, their ids, replacing a report, their cost, and the migration that
stopped storing them, both ways. Runs on SQLite and PostgreSQL (the view has a form for
each)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm import selectors
from crm.models import Contact, TimelineEntry, TimelineEvent
from marketing_events.models import EventOccurrence, Participation
from marketing_events.plan import NewContact, OccurrenceFact, Plan, RegistrationFact
from marketing_events.services import event_upsert, plan_apply
from zoom_integration.engagement.kinds import TIMELINE_KIND_OF
from zoom_integration.engagement.planner import AnswerFact, AnswerPlan, AnswerRecord
from zoom_integration.engagement.services import answers_apply

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)
ANSWER_KINDS = list(TIMELINE_KIND_OF.values())


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def webinar(external_id="81", name="Q1 roadmap", people=("ana@example.com", "bo@example.com")):
    """An event with one ended occurrence and a registration of each person; returns
    (event, occurrence, {e-mail: (contact id, participation id)})."""
    event = event_upsert(
        source="zoom",
        external_account_id="acct",
        external_event_id=external_id,
        defaults={"name": name, "starts_at": at(0), "ends_at": at(60)},
    )
    plan_apply(
        Plan(
            event_id=event.pk,
            new_contacts=[NewContact(e, e[:2], "Person") for e in people],
            registrations=[RegistrationFact(email=e, registered_at=at(-60)) for e in people],
            occurrences=[OccurrenceFact(f"uuid-{external_id}", at(0), at(60))],
        )
    )
    occurrence = EventOccurrence.objects.get(event=event)
    ids = {
        email: (contact_id, pk)
        for pk, contact_id, email in Participation.objects.filter(event=event).values_list(
            "pk", "contact_id", "contact__email"
        )
    }
    return event, occurrence, ids


def record(kind, email, question, answer, minute=None, status=""):
    return AnswerRecord(
        kind=kind,
        email=email,
        name=email,
        question_id=question[:3],
        question=question,
        answer=answer,
        status=status,
        answered_at=None if minute is None else at(minute),
    )


def apply(occurrence, report, ids, rows):
    """Replaces the report's answers by `rows` ((e-mail or "" for anonymous, record))."""
    plan = AnswerPlan()
    for email, answer in rows:
        contact_id, participation_id = ids.get(email, (None, None))
        plan.answers.append(AnswerFact(answer, participation_id, contact_id))
    answers_apply(occurrence=occurrence, report=report, plan=plan, digest="d")


def entries(contact_id):
    return [
        (e.kind, e.occurred_at, e.data)
        for e in TimelineEntry.objects.filter(contact_id=contact_id, kind__in=ANSWER_KINDS)
    ]


def test_one_entry_per_contact_occurrence_and_kind_lists_its_items_in_report_order():  # rule E6
    event, occurrence, ids = webinar()
    ana, bo = ids["ana@example.com"][0], ids["bo@example.com"][0]
    apply(
        occurrence,
        "polls",
        ids,
        [
            ("ana@example.com", record("poll", "ana@example.com", "When?", "This quarter", 12)),
            ("bo@example.com", record("poll", "bo@example.com", "When?", "Later", 14)),
            ("", record("poll", "", "When?", "Never", 13)),  # anonymous: attached to no one
            ("ana@example.com", record("poll", "ana@example.com", "Seats?", "50", 11)),
        ],
    )
    apply(
        occurrence,
        "qa",
        ids,
        [("ana@example.com", record("question", "ana@example.com", "SSO?", "Yes", 20, "answered"))],
    )
    # The survey has no moments: its entry takes the occurrence's end.
    apply(occurrence, "survey", ids, [("bo@example.com", record("survey", "bo", "Stars?", "5"))])
    where = {
        "event_id": event.pk,
        "webinar_id": "81",
        "webinar_name": "Q1 roadmap",
        "occurrence": "uuid-81",
    }
    assert entries(ana) == [  # newest first
        (
            "zoom_webinar_question_asked",
            at(20),
            {**where, "items": [{"question": "SSO?", "answer": "Yes", "status": "answered"}]},
        ),
        (
            "zoom_webinar_poll_answered",
            at(11),  # its first answer
            {
                **where,
                "items": [
                    {"question": "When?", "answer": "This quarter"},
                    {"question": "Seats?", "answer": "50"},
                ],
            },
        ),
    ]
    assert entries(bo) == [
        (
            "zoom_webinar_survey_answered",
            at(60),
            {**where, "items": [{"question": "Stars?", "answer": "5"}]},
        ),
        (
            "zoom_webinar_poll_answered",
            at(14),
            {**where, "items": [{"question": "When?", "answer": "Later"}]},
        ),
    ]
    assert not TimelineEvent.objects.filter(kind__in=ANSWER_KINDS).exists()  # none stored


def test_a_replaced_report_replaces_the_entries_and_their_ids_stay():
    _event, occurrence, ids = webinar()
    ana, bo = ids["ana@example.com"][0], ids["bo@example.com"][0]
    first = [
        ("ana@example.com", record("poll", "ana@example.com", "When?", "This quarter", 12)),
        ("bo@example.com", record("poll", "bo@example.com", "When?", "Later", 14)),
    ]
    apply(occurrence, "polls", ids, first)
    [ana_id] = TimelineEntry.objects.filter(contact_id=ana, kind__in=ANSWER_KINDS).values_list(
        "id", flat=True
    )
    participation = ids["ana@example.com"][1]
    assert ana_id == -(2**62 + (occurrence.pk * 10**10 + participation) * 4 + 1)
    # Ana changed her answer; Bo left the report.
    apply(
        occurrence,
        "polls",
        ids,
        [("ana@example.com", record("poll", "ana@example.com", "When?", "Next year", 15))],
    )
    [(entry_id, data)] = TimelineEntry.objects.filter(
        contact_id=ana, kind__in=ANSWER_KINDS
    ).values_list("id", "data")
    assert entry_id == ana_id
    assert data["items"] == [{"question": "When?", "answer": "Next year"}]
    assert entries(bo) == []


def test_entries_name_the_event_as_it_is_now_and_go_with_the_participation():
    event, occurrence, ids = webinar()
    apply(
        occurrence,
        "polls",
        ids,
        [("ana@example.com", record("poll", "ana@example.com", "When?", "Soon", 5))],
    )
    event.name = "Q1 roadmap (replay)"
    event.save(update_fields=["name"])
    [(_kind, _at, data)] = entries(ids["ana@example.com"][0])
    assert data["webinar_name"] == "Q1 roadmap (replay)"
    Participation.objects.filter(pk=ids["ana@example.com"][1]).delete()
    assert entries(ids["ana@example.com"][0]) == []


def test_a_contacts_timeline_stays_one_query_with_answers_of_many_webinars():
    contact_id = None
    for number in range(5):
        _event, occurrence, ids = webinar(external_id=str(200 + number), people=("ana@x.org",))
        apply(
            occurrence,
            "polls",
            ids,
            [("ana@x.org", record("poll", "ana@x.org", f"Q{number}?", "Yes", number))],
        )
        contact_id = ids["ana@x.org"][0]
        contact = Contact.objects.get(pk=contact_id)
        with CaptureQueriesContext(connection) as queries:
            page = list(selectors.timeline_for_contact(contact=contact)[:50])
        assert len(queries) == 1
        # "contact created", then per webinar its registration and its poll entry
        assert len(page) == 1 + 2 * (number + 1)


@pytest.mark.django_db(transaction=True)  # SQLite's schema editor runs outside a transaction
def test_the_migration_stops_storing_them_and_going_back_stores_them_again():
    _event, occurrence, ids = webinar()
    apply(
        occurrence,
        "qa",
        ids,
        [
            ("ana@example.com", record("question", "ana@example.com", "SSO?", "", 20, "open")),
            ("bo@example.com", record("question", "bo@example.com", "Price?", "Per seat", 21)),
        ],
    )

    def shown():
        return sorted(
            (e.contact_id, e.kind, e.occurred_at, e.data)
            for e in TimelineEntry.objects.filter(kind__in=ANSWER_KINDS)
        )

    derived = shown()
    assert len(derived) == 2
    executor = MigrationExecutor(connection)
    executor.migrate([("zoom_engagement", "0005_participation_children_without_constraints")])
    try:
        stored = TimelineEvent.objects.filter(kind__in=ANSWER_KINDS)
        assert sorted(stored.values_list("dedupe_key", flat=True)) == sorted(
            f"zoom_webinar_question_asked:{occurrence.pk}:{contact_id}"
            for contact_id, _participation in ids.values()
        )
        assert shown() == derived  # the view lists the stored ones only: the same
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert not TimelineEvent.objects.filter(kind__in=ANSWER_KINDS).exists()
    assert shown() == derived


def test_the_contact_page_lists_the_derived_entries_questions_and_answers(client, marketer):
    _event, occurrence, ids = webinar()
    apply(
        occurrence,
        "qa",
        ids,
        [
            (
                "ana@example.com",
                record(
                    "question", "ana@example.com", "Is <SSO> included?", "In Pro", 20, "answered"
                ),
            )
        ],
    )
    client.force_login(marketer)
    contact_id = ids["ana@example.com"][0]
    html = client.get(reverse("crm:contact_detail", args=[contact_id])).content.decode()
    answers = html[html.index('class="timeline__answers"') :][:600]
    assert "Is &lt;SSO&gt; included?</span> — In Pro" in answers and "(answered)" in answers
    assert "uuid-81" not in html  # the occurrence's key is for the API
