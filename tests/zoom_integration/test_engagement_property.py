"""The contact property `zoom_engagement_score` (rule E8): the mean score over the contact's
10 most recent events, a participation without a score counting 0, rounded half up; computed
in the database in a constant number of statements."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import Contact
from marketing_events.models import MarketingEvent, Participation, ParticipationState
from zoom_integration.engagement.models import EngagementPendingContact, ParticipationEngagement
from zoom_integration.engagement.services import (
    contacts_mark_pending,
    contacts_recompute_engagement,
)

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 1, 5, 15, 0, tzinfo=dt.UTC)


def _events(n: int) -> list[MarketingEvent]:
    return [
        MarketingEvent.objects.create(
            name=f"W{i}",
            source="zoom",
            external_account_id="acct",
            external_event_id=str(100 + i),
            starts_at=T0 + dt.timedelta(days=7 * i),
        )
        for i in range(n)
    ]


def _participate(contact: Contact, event: MarketingEvent, score: int | None) -> None:
    state = ParticipationState.ATTENDED if score is not None else ParticipationState.REGISTERED
    participation = Participation.objects.create(contact=contact, event=event, state=state)
    if score is not None:
        ParticipationEngagement.objects.create(
            participation=participation, contact_id=contact.pk, event=event, score=score
        )
        contacts_mark_pending([contact.pk])  # as `event_engagement_recompute` marks it


def _expected(scores_by_start: list[tuple[dt.datetime, int | None]]) -> str:
    recent = [s or 0 for _at, s in sorted(scores_by_start, reverse=True)[:10]]
    mean = Decimal(sum(recent)) / len(recent)
    return str(mean.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_the_mean_over_the_last_ten_events_rounded_half_up():  # rule E8
    events = _events(12)
    # The two oldest (100 each) fall out of the last ten; a no-show counts 0; the ten
    # newest add up to 445, a mean of 44.5 (half to even would give 44).
    scores = [100, 100, 90, None, 45, 40, 50, 60, 30, 40, 50, 40]
    ana = Contact.objects.create(email="ana@example.com", properties={"company": "Acme"})
    bob = Contact.objects.create(email="bob@example.com")
    for event, score in zip(events, scores, strict=True):
        _participate(ana, event, score)
    _participate(bob, events[0], 70)
    contacts_recompute_engagement([ana.pk])
    ana.refresh_from_db()
    bob.refresh_from_db()
    expected = _expected([(e.starts_at, s) for e, s in zip(events, scores, strict=True)])
    assert expected == "45"
    assert ana.properties == {"company": "Acme", "zoom_engagement_score": "45"}
    assert "zoom_engagement_score" not in bob.properties  # not asked for: untouched
    contacts_recompute_engagement([ana.pk, bob.pk])
    bob.refresh_from_db()
    assert bob.properties["zoom_engagement_score"] == "70"


def test_a_constant_number_of_statements_whatever_the_contacts():
    events = _events(3)
    contacts = [Contact.objects.create(email=f"p{n}@example.com") for n in range(30)]
    for n, contact in enumerate(contacts):
        for k, event in enumerate(events):
            _participate(contact, event, (n * 7 + k * 13) % 101)
    counts = []
    for some in (contacts[:1], contacts):
        with CaptureQueriesContext(connection) as queries:
            contacts_recompute_engagement(c.pk for c in some)
        counts.append(len(queries.captured_queries))
    # PostgreSQL: the lock, the planner settings, the update, the settings set back.
    assert counts[0] == counts[1] <= 4
    for n, contact in enumerate(contacts):
        contact.refresh_from_db()
        scores = [(e.starts_at, (n * 7 + k * 13) % 101) for k, e in enumerate(events)]
        assert contact.properties["zoom_engagement_score"] == _expected(scores)


def test_scores_reach_their_contacts_at_the_flush_in_batches(monkeypatch):  # rule E8
    from zoom_integration.engagement import services
    from zoom_integration.tasks import resume_stale_runs

    events = _events(2)
    contacts = [Contact.objects.create(email=f"f{n}@example.com") for n in range(5)]
    for n, contact in enumerate(contacts):
        _participate(contact, events[0], 10 * n)
    pending = EngagementPendingContact.objects.all()
    assert pending.count() == 5
    # A worker dying in the second batch: the first batch's contacts are done and unmarked,
    # the rest stay marked for the next call.
    real = services.contacts_recompute_engagement
    calls = []

    def dying(ids):
        calls.append(list(ids))
        if len(calls) == 2:
            raise RuntimeError("killed")
        real(ids)

    monkeypatch.setattr(services, "contacts_recompute_engagement", dying)
    with pytest.raises(RuntimeError):
        services.contacts_engagement_flush(batch=2)
    assert sorted(pending.values_list("contact_id", flat=True)) == [c.pk for c in contacts[2:]]
    monkeypatch.setattr(services, "contacts_recompute_engagement", real)
    # The beat's sweep (no run active) carries the rest.
    resume_stale_runs()
    assert not pending.exists()
    for n, contact in enumerate(contacts):
        contact.refresh_from_db()
        assert contact.properties["zoom_engagement_score"] == str(10 * n)


def test_the_recompute_marks_rows_and_leaves_contacts_to_the_flush():  # rule E8
    from zoom_integration.engagement.services import (
        contacts_engagement_flush,
        event_engagement_recompute,
    )

    event = _events(1)[0]
    ana = Contact.objects.create(email="ana@example.com")
    Participation.objects.create(
        contact=ana, event=event, state=ParticipationState.ATTENDED, attendance_percent=80
    )
    assert event_engagement_recompute(event.pk) == 1
    row = ParticipationEngagement.objects.get()
    assert row.score == 40  # 50 % weight × 80 % attendance
    assert list(EngagementPendingContact.objects.values_list("contact_id", flat=True)) == [ana.pk]
    ana.refresh_from_db()
    assert "zoom_engagement_score" not in ana.properties
    assert contacts_engagement_flush() == 1
    ana.refresh_from_db()
    assert ana.properties["zoom_engagement_score"] == "40"
    assert event_engagement_recompute(event.pk) == 0  # unchanged: not written, not marked
    assert not EngagementPendingContact.objects.exists()


def test_the_recompute_works_in_chunks_with_the_same_results():  # rule E8
    # A large webinar is recomputed a chunk of participations at a time (the worker's memory
    # stays flat): the scores are those of one pass, each chunk costs the same statements, and
    # answers and views land on their own participation across chunk bounds.
    from marketing_events.models import EventOccurrence
    from zoom_integration.engagement.models import EngagementAnswer
    from zoom_integration.engagement.services import event_engagement_recompute

    event, other = _events(2)
    occurrence = EventOccurrence.objects.create(event=event, external_id="u1")
    people = [Contact.objects.create(email=f"p{i}@example.com") for i in range(7)]
    for i, person in enumerate(people):
        participation = Participation.objects.create(
            contact=person,
            event=event,
            state=ParticipationState.ATTENDED,
            attendance_percent=10 * (i + 1),
        )
        Participation.objects.create(contact=person, event=other, attendance_percent=100)
        for _n in range(i % 3):  # 0, 1 or 2 questions asked
            EngagementAnswer.objects.create(
                event=event, occurrence=occurrence, participation=participation, kind="question"
            )

    def scores():
        return sorted(
            ParticipationEngagement.objects.filter(event=event).values_list(
                "participation__contact__email", "score", "questions_asked", "parts"
            )
        )

    statements = {}
    results = {}
    for chunk in (100, 4, 3):  # one chunk, two (4 + 3), three (3 + 3 + 1)
        ParticipationEngagement.objects.all().delete()
        with CaptureQueriesContext(connection) as queries:
            assert event_engagement_recompute(event.pk, chunk=chunk) == 7
        statements[chunk] = len(queries)
        results[chunk] = scores()
    assert results[3] == results[4] == results[100]
    assert [row[2] for row in results[100]] == [0, 1, 2, 0, 1, 2, 0]
    # Each further chunk costs the same statements: its participations, answers, views,
    # stored rows, then its write.
    per_chunk = statements[4] - statements[100]
    assert per_chunk > 0 and statements[3] - statements[4] == per_chunk
    assert not ParticipationEngagement.objects.filter(event=other).exists()


@pytest.mark.django_db(transaction=True)
def test_a_flush_meanwhile_leaves_no_new_score_behind():  # rule E8
    # A webinar's recompute writes a contact's new score and marks the contact, already marked
    # by an earlier webinar, while a flush takes that mark: the flush waits for the writer and
    # reads the new score (had the writer relied on the mark it found, the flush would have
    # recomputed the old score and deleted the mark, and the new one would never reach the
    # contact).
    import threading

    from django.db import connections, transaction

    from zoom_integration.engagement import services

    if connection.vendor != "postgresql":
        pytest.skip("row locks, two transactions at once")
    event = _events(1)[0]
    ana = Contact.objects.create(email="ana@example.com")
    _participate(ana, event, 40)  # marked, committed
    written, release = threading.Event(), threading.Event()
    failures = []

    def writer():
        try:
            with transaction.atomic():
                ParticipationEngagement.objects.filter(contact_id=ana.pk).update(score=90)
                services.contacts_mark_pending([ana.pk])
                written.set()
                release.wait(10)
        except BaseException as exc:  # handed to the test
            failures.append(exc)
        finally:
            connections.close_all()

    def flusher():
        try:
            services.contacts_engagement_flush()
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer), threading.Thread(target=flusher)]
    threads[0].start()
    assert written.wait(10)
    threads[1].start()
    threads[1].join(timeout=1)  # the flush, waiting on the writer's transaction
    release.set()
    for thread in threads:
        thread.join(timeout=20)
    assert not failures, failures
    ana.refresh_from_db()
    assert ana.properties["zoom_engagement_score"] == "90"
    assert not EngagementPendingContact.objects.exists()


@pytest.mark.django_db(transaction=True)  # each batch commits on a connection of its own
def test_a_flush_in_parallel_batches_recomputes_every_marked_contact_once(
    monkeypatch,
):  # rule E8, the end of a sync run
    from zoom_integration.engagement import services

    if connection.vendor != "postgresql":
        pytest.skip("batches on connections of their own")
    events = _events(2)
    contacts = [Contact.objects.create(email=f"p{n}@example.com") for n in range(23)]
    for n, contact in enumerate(contacts):
        _participate(contact, events[0], n)
        _participate(contact, events[1], 2 * n)
    real, seen, threads = services.contacts_recompute_engagement, [], set()

    def recompute(ids):
        import threading

        seen.append(sorted(ids))
        threads.add(threading.get_ident())
        real(ids)

    monkeypatch.setattr(services, "contacts_recompute_engagement", recompute)

    def sessions():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            )
            return cursor.fetchone()[0]

    before = sessions()
    assert services.contacts_engagement_flush(batch=5, threads=2) == 23
    # Disjoint batches of ids covering every marked contact, taken by more than one thread.
    assert sorted(pk for ids in seen for pk in ids) == sorted(c.pk for c in contacts)
    assert len(seen) == 5 and len(threads) == 2
    assert not EngagementPendingContact.objects.exists()
    for n, contact in enumerate(contacts):
        contact.refresh_from_db()
        assert contact.properties["zoom_engagement_score"] == _expected(
            [(events[0].starts_at, n), (events[1].starts_at, 2 * n)]
        )
    # The threads' connections were closed with their batches.
    assert sessions() == before


def test_a_flush_within_a_transaction_stays_in_it():  # rule E8
    from zoom_integration.engagement import services

    events = _events(1)
    contacts = [Contact.objects.create(email=f"q{n}@example.com") for n in range(3)]
    for n, contact in enumerate(contacts):
        _participate(contact, events[0], 10 * n)
    # The test's transaction: its rows are invisible to other connections, so no thread.
    with CaptureQueriesContext(connection) as queries:
        assert services.contacts_engagement_flush(batch=2, threads=2) == 3
    assert any("zoom_engagement_score" in q["sql"] for q in queries.captured_queries)
    assert not EngagementPendingContact.objects.exists()


def test_deleting_an_event_deletes_the_rows_that_copy_its_id():  # rules E1, E6, E8
    # Registration details, answers and engagement rows copy their event's id without a
    # foreign-key constraint of their own: the delete still takes them with the event.
    from marketing_events.models import EventOccurrence
    from marketing_events.models_registration import RegistrationDetails
    from marketing_events.services_api import event_delete
    from zoom_integration.engagement.models import EngagementAnswer

    event, other = _events(2)
    ana = Contact.objects.create(email="ana@example.com")
    for e in (event, other):
        _participate(ana, e, 50)
        participation = Participation.objects.get(event=e)
        RegistrationDetails.objects.create(participation=participation, event=e, answers={"a": "1"})
        occurrence = EventOccurrence.objects.create(event=e, external_id=f"u{e.pk}")
        EngagementAnswer.objects.create(
            event=e, occurrence=occurrence, participation=participation, kind="poll", answer="1"
        )
    event_delete(event=event)
    for model in (RegistrationDetails, EngagementAnswer, ParticipationEngagement):
        assert list(model.objects.values_list("event_id", flat=True)) == [other.pk]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner settings")
def test_the_property_statement_probes_each_contact_without_jit(monkeypatch):  # rule E8
    # Index probes whatever the (young) statistics say, and no JIT: the estimated cost of 500
    # probes passed jit_above_cost, and compiling took 200-260 ms of a 25-40 ms statement.
    from zoom_integration.engagement import services

    seen = []
    real = services.bulk.pg_fetch

    def watching(sql, params):
        if sql.startswith("UPDATE"):
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT current_setting('enable_seqscan'), current_setting('jit'), "
                    "current_setting('enable_hashjoin')"
                )
                seen.append(cursor.fetchone())
        return real(sql, params)

    monkeypatch.setattr(services.bulk, "pg_fetch", watching)
    events = _events(2)
    ana = Contact.objects.create(email="ana@example.com")
    _participate(ana, events[0], 40)
    _participate(ana, events[1], 61)
    contacts_recompute_engagement([ana.pk])
    assert seen == [("off", "off", "off")]
    ana.refresh_from_db()
    assert ana.properties["zoom_engagement_score"] == "51"  # 50.5 rounded half up
