"""Two writers of one participation at the same time (the sync and a webhook, say): neither
loses the other's facts, whichever commits first. PostgreSQL, committed for real: the other
writer is another connection."""

import threading

import pytest
from django.db import connection as db_connection
from django.db import connections, transaction

from crm.models import Contact, TimelineEntry
from marketing_events import bulk
from marketing_events import services as services_module
from marketing_events.models import Participation
from marketing_events.services import plan_apply

from . import test_plan_apply as applying
from .test_plan_apply import at, attendance, registration

event = applying.event  # the fixture, shared

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        db_connection.vendor != "postgresql", reason="row locks and concurrent writers"
    ),
]


def in_thread(work, failures: list) -> threading.Thread:
    """Starts `work` in a thread of its own, so with its own connection; what it raises is
    appended to `failures` (handed to the test)."""

    def run():
        try:
            work()
        except BaseException as exc:  # handed to the test
            failures.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def in_another_connection(work) -> None:
    """Runs `work` in a thread of its own, so with its own connection, committed."""
    failure = []

    def committed():
        with transaction.atomic():
            work()

    thread = in_thread(committed, failure)
    thread.join(timeout=30)
    assert not thread.is_alive() and not failure, failure


def test_a_participation_created_by_another_writer_meanwhile_keeps_its_facts(event, monkeypatch):
    # Ana registered (a webhook) while the sync was applying her attendance: the sync read no
    # participation for her, then the webhook's transaction created one and committed.
    Contact.objects.create(email="ana@example.com", first_name="Ana", last_name="Silva")
    real_fetch = bulk.participations_fetch
    raced = []

    def fetch_then_other_writer(event_id, contact_ids):
        rows = real_fetch(event_id, contact_ids)
        if not raced:
            raced.append(True)
            in_another_connection(
                lambda: plan_apply(
                    registration(
                        event, registered_at=at(-60), external_registrant_id="r-ana", join_url="u"
                    )
                )
            )
        return rows

    monkeypatch.setattr(services_module.bulk, "participations_fetch", fetch_then_other_writer)
    with transaction.atomic():
        counts = plan_apply(attendance(event, [("p1", at(5), at(35))]))
    assert raced
    ana = Participation.objects.get(contact__email="ana@example.com")
    # The registration's facts (the other writer's) and the attendance (this one's), merged.
    assert (ana.registered_at, ana.external_registrant_id, ana.join_url) == (at(-60), "r-ana", "u")
    assert (ana.state, ana.first_join_at, ana.duration_seconds) == ("ATTENDED", at(5), 1800)
    assert ana.sessions.count() == 1
    kinds = sorted(
        TimelineEntry.objects.filter(contact=ana.contact)
        .exclude(kind="contact_created")
        .values_list("kind", "occurred_at")
    )
    assert kinds == [("zoom_webinar_attended", at(5)), ("zoom_webinar_registered", at(-60))]
    assert counts.participations_created == 0 and counts.sessions == 1


def test_a_writer_waits_for_another_holding_the_participation(event):
    # Both read Ana's existing participation; the second waits for the first to commit, then
    # merges into what it wrote (rule M2: registration and attendance, whatever the order).
    plan_apply(registration(event, registered_at=at(-60)))
    inside = threading.Event()
    release = threading.Event()

    def first_writer():
        plan_apply(attendance(event, [("p1", at(5), at(35))]))
        inside.set()
        release.wait(10)  # holds its row lock a while

    thread = threading.Thread(
        target=lambda: in_another_connection(first_writer),
    )
    thread.start()
    assert inside.wait(10)
    timer = threading.Timer(0.3, release.set)
    timer.start()
    with transaction.atomic():  # waits on the row until the first commits
        plan_apply(registration(event, external_registrant_id="r-ana", join_url="u"))
    thread.join(10)
    ana = Participation.objects.get(contact__email="ana@example.com")
    assert (ana.state, ana.duration_seconds, ana.external_registrant_id) == (
        "ATTENDED",
        1800,
        "r-ana",
    )


def test_an_occurrence_another_page_inserts_meanwhile_keeps_this_pages_sessions(event):
    # Two pages of one webinar instance applied at once: the other one inserts the occurrence
    # first, and commits while this page's upsert of it waits. This page still finds it, so its
    # sessions are written, not dropped as if the occurrence were unknown.
    inserted, release = threading.Event(), threading.Event()

    def other_page():
        try:
            with transaction.atomic():
                bulk.occurrences_upsert(event.pk, [("uuid-1", at(0), at(60))], [])
                inserted.set()
                release.wait(10)
        finally:
            connections.close_all()

    other = threading.Thread(target=other_page)
    other.start()
    assert inserted.wait(10)
    threading.Timer(0.3, release.set).start()  # commits while this page's statement waits
    with transaction.atomic():
        counts = plan_apply(attendance(event, [("p1", at(5), at(35))]))
    other.join(10)
    assert counts.sessions == 1
    ana = Participation.objects.get(contact__email="ana@example.com")
    assert (ana.state, ana.duration_seconds) == ("ATTENDED", 1800)
    assert ana.sessions.count() == 1
