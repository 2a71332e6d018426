"""The rows that hang on a participation keep no database foreign key to it (see the note
above `marketing_events.models.Participation`): a writer adding them and a deletion of the
event at the same time still leave none behind. PostgreSQL, committed for real: the other
writer is another connection."""

import threading

import pytest
from django.db import IntegrityError, transaction
from django.db import connection as db_connection

from marketing_events.models import (
    AttendanceSession,
    EventOccurrence,
    OccurrenceAttendance,
    Participation,
)
from marketing_events.models_registration import RegistrationDetails
from marketing_events.services import plan_apply
from marketing_events.services_api import event_delete
from zoom_integration.engagement.models import EngagementAnswer, ParticipationEngagement
from zoom_integration.engagement.services import event_engagement_recompute

from . import test_plan_apply as applying
from .test_plan_apply import at, attendance, registration
from .test_plan_apply_race import in_thread

event = applying.event  # the fixture, shared

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        db_connection.vendor != "postgresql", reason="row locks and concurrent writers"
    ),
]

CHILDREN = (
    AttendanceSession,
    OccurrenceAttendance,
    RegistrationDetails,
    EngagementAnswer,
    ParticipationEngagement,
)


def orphans() -> dict[str, int]:
    """Rows of each child table whose participation (or occurrence) no longer exists."""
    participations = Participation.objects.values("pk")
    found = {
        model.__name__: model.objects.exclude(participation_id__in=participations)
        .exclude(participation_id__isnull=True)
        .count()
        for model in CHILDREN
    }
    occurrences = EventOccurrence.objects.values("pk")
    for model in (AttendanceSession, OccurrenceAttendance, EngagementAnswer):
        found[model.__name__ + ".occurrence"] = model.objects.exclude(
            occurrence_id__in=occurrences
        ).count()
    return {name: n for name, n in found.items() if n}


def test_deleting_an_event_waits_for_a_page_writing_under_it(event):
    # The sync applies Ana's attendance (sessions, per-occurrence attendance) while an admin
    # deletes the event: the deletion waits for the page, then takes its rows too.
    plan_apply(registration(event, registered_at=at(-60)))
    inside, release, failures = threading.Event(), threading.Event(), []

    def page():
        with transaction.atomic():
            plan_apply(attendance(event, [("p1", at(5), at(35))]))
            inside.set()
            release.wait(10)  # holds the participation's lock a while

    writer = in_thread(page, failures)
    assert inside.wait(10)
    deleter = in_thread(lambda: event_delete(event=event), failures)
    deleter.join(0.5)
    assert deleter.is_alive()  # waits on the page's locks
    release.set()
    writer.join(20)
    deleter.join(20)
    assert not failures, failures
    assert not Participation.objects.exists()
    assert orphans() == {}
    assert [model.objects.count() for model in CHILDREN] == [0] * len(CHILDREN)


def test_a_page_that_comes_after_the_deletion_writes_nothing_under_it(event):
    # The deletion holds the event's locks first: the page waits, then finds the event gone
    # (the participation's own foreign key refuses it) and its transaction leaves nothing.
    plan_apply(registration(event, registered_at=at(-60)))
    inside, release, failures = threading.Event(), threading.Event(), []

    def deletion():
        with transaction.atomic():
            event_delete(event=event)
            inside.set()
            release.wait(10)

    deleter = in_thread(deletion, failures)
    assert inside.wait(10)
    timer = threading.Timer(0.3, release.set)
    timer.start()
    with pytest.raises(IntegrityError), transaction.atomic():
        plan_apply(attendance(event, [("p1", at(5), at(35))]))
    deleter.join(20)
    timer.join()
    assert not failures, failures
    assert orphans() == {}
    assert not AttendanceSession.objects.exists()


def test_the_engagement_summary_of_a_deleted_event_is_not_written(event, monkeypatch):
    # rule E8: the recompute read the participations, then the event was deleted (another
    # connection) before it wrote their summaries: it writes none.
    from zoom_integration.engagement import services as engagement

    plan_apply(attendance(event, [("p1", at(5), at(35))]))
    real, failures = engagement.event_key_share, []

    def deleted_first(event_id):
        in_thread(lambda: event_delete(event=event), failures).join(20)
        return real(event_id)

    monkeypatch.setattr(engagement, "event_key_share", deleted_first)
    event_engagement_recompute(event.pk)
    assert not failures, failures
    assert not Participation.objects.exists()
    assert not ParticipationEngagement.objects.exists()
    assert orphans() == {}
