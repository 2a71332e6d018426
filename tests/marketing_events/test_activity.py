"""Contact rollups (issue 21): every writer of participations leaves them equal to a
recomputation from scratch, in its own transaction; two writers of one contact at once keep
them exact (PostgreSQL, two transactions really at once); the rebuild command reports and
repairs drift."""

import io
import random
import threading
import time

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from crm.models import Contact
from crm.services.contacts import contact_archive, contact_restore
from marketing_events.activity import (
    ParticipationChange,
    activity_deltas,
    activity_rebuild,
    fresh_values,
    stored_values,
)
from marketing_events.models import ContactActivity, Participation
from marketing_events.plan import Plan, RegistrationFact
from marketing_events.services import event_upsert, plan_apply
from marketing_events.services_api import event_delete

from .test_plan_apply import at, attendance, registration

pytestmark = pytest.mark.django_db


def make_event(external_id: str, name: str = "Webinar"):
    return event_upsert(
        source="zoom",
        external_account_id="acct",
        external_event_id=external_id,
        defaults={"name": name, "starts_at": at(0), "ends_at": at(60)},
    )


def stored(contact_id: int) -> tuple:
    return stored_values([contact_id])[contact_id]


def assert_exact() -> None:
    """Every contact's stored rollups equal a recomputation from its participations."""
    ids = list(Contact.objects.values_list("pk", flat=True))
    fresh = fresh_values(ids)
    assert {pk: stored(pk) for pk in ids} == fresh


def test_plan_apply_keeps_the_rollups():
    first, second, third = make_event("81"), make_event("82"), make_event("83")
    plan_apply(registration(first, registered_at=at(-60)))
    plan_apply(attendance(first, [("p1", at(5), at(35)), ("p1", at(40), at(50))]))
    plan_apply(registration(second, registered_at=at(-30)))
    plan_apply(registration(third, registered_at=at(-20), cancelled_at=at(-10)))
    ana = Contact.objects.get(email="ana@example.com")
    # registered 81 (attended, 40 min) and 82, cancelled 83
    assert stored(ana.pk) == (2, 1, 1, 2400, at(5), at(5), at(-20))
    assert_exact()


def test_out_of_order_facts_converge_to_the_same_rollups():
    # webhooks delivered out of order: attendance first, then the registration, then a rejoin
    event = make_event("81")
    plan_apply(attendance(event, [("p1", at(40), at(50))]))
    plan_apply(registration(event, registered_at=at(-60)))
    plan_apply(attendance(event, [("p1", at(5), at(35))]))
    ana = Contact.objects.get(email="ana@example.com")
    assert stored(ana.pk) == (1, 1, 0, 2400, at(5), at(5), at(-60))
    assert_exact()


def test_an_unchanged_page_writes_no_rollup():
    event = make_event("81")
    plan_apply(registration(event, registered_at=at(-60)))
    ana = Contact.objects.get(email="ana@example.com")
    # Would be repaired if read.
    ContactActivity.objects.filter(contact_id=ana.pk).update(events_registered=7)
    plan_apply(registration(event, registered_at=at(-60)))  # nothing new: nothing recomputed
    assert stored(ana.pk)[0] == 7


def test_a_first_join_moved_earlier_recomputes_the_last_attended():
    # The last attended moment is a maximum over first joins: when the participation holding
    # it learns of an earlier session, it can fall, and only a recomputation knows to where.
    early, late = make_event("81"), make_event("82")
    plan_apply(attendance(early, [("p1", at(5), at(35))]))
    plan_apply(attendance(late, [("p1", at(40), at(50))]))
    ana = Contact.objects.get(email="ana@example.com")
    assert stored(ana.pk)[4:6] == (at(5), at(40))
    plan_apply(attendance(late, [("p1", at(2), at(10))]))  # an earlier session of "late"
    assert stored(ana.pk) == (2, 2, 0, 1800 + 600 + 480, at(2), at(5), None)
    assert_exact()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL statements")
def test_a_page_adds_its_differences_without_reading_participations():
    # A page's rollups cost one statement, whatever its size, and read no participation:
    # each written participation's difference is added (rule M3: counters stay cheap too).
    event = make_event("81")
    plan_apply(registration(event, registered_at=at(-60)))
    later = make_event("82")
    with CaptureQueriesContext(connection) as queries:
        plan_apply(attendance(later, [("p1", at(5), at(35))]))
    rollups = [q["sql"] for q in queries if "marketing_events_contactactivity" in q["sql"]]
    assert len(rollups) == 1
    assert "marketing_events_participation" not in rollups[0]
    # The rollups are a row of their own: the contact row is locked, never rewritten for them.
    assert not [q["sql"] for q in queries if q["sql"].startswith("UPDATE crm_contact")]
    ana = Contact.objects.get(email="ana@example.com")
    assert stored(ana.pk) == (2, 1, 0, 1800, at(5), at(5), at(-60))
    assert_exact()


def test_activity_deltas_are_the_differences_of_each_share():
    # Pure: a registration cancelled, an attendance with an earlier first join, an unchanged
    # participation (left out), a new one.
    changes = [
        ParticipationChange(1, ("REGISTERED", at(0), None, 0), ("CANCELLED", at(0), None, 0)),
        ParticipationChange(2, ("ATTENDED", at(0), at(30), 600), ("ATTENDED", at(0), at(10), 900)),
        ParticipationChange(3, ("REGISTERED", at(0), None, 0), ("REGISTERED", at(0), None, 0)),
        ParticipationChange(4, None, ("ATTENDED", None, at(5), 60)),
    ]
    deltas = activity_deltas(changes)
    assert sorted(deltas) == [1, 2, 4]
    assert deltas[1].row(1) == (1, -1, 0, 1, 0, None, None, at(0), None, None, None)
    # 30 → 10: a minimum can only fall (nothing lost), the maximum may have held at(30).
    assert deltas[2].row(2) == (2, 0, 0, 0, 300, at(10), at(10), at(0), None, at(30), None)
    assert deltas[4].row(4) == (4, 1, 1, 0, 60, at(5), at(5), None, None, None, None)


def _spelled_out_deltas(changes) -> dict[int, tuple]:
    """`activity_deltas` as its rules read, one helper per rule: the oracle it is held to."""

    def extreme(pick, *values):
        present = [v for v in values if v is not None]
        return pick(present) if present else None

    def lost_min(before, after):  # what a minimum loses when a value moves later or goes
        return before if before is not None and (after is None or after > before) else None

    def lost_max(before, after):
        return before if before is not None and (after is None or after < before) else None

    def share(values):
        if values is None:
            return (0, 0, 0, 0, None, None)
        state, registered_at, first_join_at, duration = values
        attended = state == "ATTENDED"
        return (
            int(state in ("REGISTERED", "ATTENDED")),
            int(attended),
            int(state == "CANCELLED"),
            (duration or 0) if attended else 0,
            first_join_at if attended else None,
            registered_at,
        )

    found: dict[int, list] = {}
    for change in changes:
        old, new = share(change.before), share(change.after)
        if old == new:
            continue
        d = found.setdefault(change.contact_id, [0, 0, 0, 0] + [None] * 6)
        for i in range(4):
            d[i] += new[i] - old[i]
        d[4] = extreme(min, d[4], new[4])
        d[5] = extreme(max, d[5], new[4])
        d[6] = extreme(max, d[6], new[5])
        d[7] = extreme(min, d[7], lost_min(old[4], new[4]))
        d[8] = extreme(max, d[8], lost_max(old[4], new[4]))
        d[9] = extreme(max, d[9], lost_max(old[5], new[5]))
    return {pk: (pk, *values) for pk, values in found.items()}


def test_activity_deltas_equal_their_rules_spelled_out():
    # Random pages of changes, three contacts, moments drawn from a few so that ties happen.
    rng = random.Random(21)
    states = ["REGISTERED", "ATTENDED", "CANCELLED"]

    def values():
        if rng.random() < 0.15:
            return None
        moment = lambda: rng.choice([None, at(0), at(5), at(10), at(30)])  # noqa: E731
        return (rng.choice(states), moment(), moment(), rng.choice([0, 60, 600, None]))

    for _page in range(500):
        changes = [
            ParticipationChange(
                rng.randint(1, 3), values(), values() or ("REGISTERED", None, None, 0)
            )
            for _ in range(rng.randint(1, 6))
        ]
        got = {pk: delta.row(pk) for pk, delta in activity_deltas(changes).items()}
        assert got == _spelled_out_deltas(changes), changes


def test_deleting_an_event_recomputes_its_participants():
    kept, deleted = make_event("81"), make_event("82")
    plan_apply(attendance(kept, [("p1", at(5), at(35))]))
    plan_apply(attendance(deleted, [("p1", at(5), at(15))]))
    ana = Contact.objects.get(email="ana@example.com")
    assert stored(ana.pk)[:4] == (2, 2, 0, 2400)
    event_delete(event=deleted)
    assert stored(ana.pk)[:4] == (1, 1, 0, 1800)
    assert_exact()


def test_a_contact_deleted_and_restored_keeps_exact_rollups():
    event = make_event("81")
    plan_apply(attendance(event, [("p1", at(5), at(35))]))
    ana = Contact.objects.get(email="ana@example.com")
    before = stored(ana.pk)
    contact_archive(contact=ana)
    assert_exact()
    contact_restore(contact=Contact.objects.get(pk=ana.pk))
    assert stored(ana.pk) == before == (1, 1, 0, 1800, at(5), at(5), None)
    assert_exact()


def test_the_rebuild_command_reports_and_repairs_drift():
    event = make_event("81")
    plan_apply(attendance(event, [("p1", at(5), at(35))]))
    plan_apply(registration(event, email="bo@example.com", registered_at=at(-5)))
    ana = Contact.objects.get(email="ana@example.com")
    bo = Contact.objects.get(email="bo@example.com")
    # Written behind the services' back: drift.
    ContactActivity.objects.filter(contact_id=ana.pk).update(attended_seconds=1, events_attended=0)
    Participation.objects.filter(contact=bo).update(state="CANCELLED")

    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("contacts_rebuild_activity", "--check", stdout=out)
    assert exit_info.value.code == 1
    report = out.getvalue()
    assert "2 contacts checked" in report and "2 drifted (not repaired: --check)" in report
    assert "  attended_seconds: 1\n" in report
    assert "  events_attended: 1\n" in report
    assert "  events_cancelled: 1\n" in report
    assert "  events_registered: 1\n" in report
    assert stored(ana.pk)[3] == 1  # --check changed nothing

    out = io.StringIO()
    call_command("contacts_rebuild_activity", "--batch-size", "1", stdout=out)
    assert "2 drifted (repaired)" in out.getvalue()
    assert_exact()
    assert activity_rebuild(fix=False).drifted == 0


def test_a_contact_without_a_row_has_no_activity_and_gets_one_when_needed():
    # A row per contact with participations; none for the others (zeros); a contact whose
    # participations all went keeps a row of zeros. The rebuild reports a missing row.
    ContactActivity.objects.all().delete()
    quiet = Contact.objects.create(email="quiet@example.com")
    event = make_event("81")
    plan_apply(attendance(event, [("p1", at(5), at(35))]))
    ana = Contact.objects.get(email="ana@example.com")
    assert set(ContactActivity.objects.values_list("contact_id", flat=True)) == {ana.pk}
    assert stored(quiet.pk) == (0, 0, 0, 0, None, None, None)
    ContactActivity.objects.filter(contact_id=ana.pk).delete()  # drift: the row lost
    drift = activity_rebuild(fix=False)
    assert (drift.checked, drift.drifted, drift.examples) == (2, 1, [ana.pk])
    assert activity_rebuild().drifted == 1
    assert stored(ana.pk) == (1, 1, 0, 1800, at(5), at(5), None)
    assert not ContactActivity.objects.filter(contact_id=quiet.pk).exists()
    event_delete(event=event)
    assert stored(ana.pk) == (0, 0, 0, 0, None, None, None)
    assert_exact()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks, concurrent writers")
def test_two_writers_of_one_contact_at_once_keep_the_rollups_exact():
    # The sync applies Ana's registration to webinar 81 while a webhook applies her
    # registration to webinar 82, each in its own transaction, at the same time. Each counts
    # only its own participation plus what was committed when it read: without the lock the
    # one that commits last would store 1 registration, not 2.
    first, second = make_event("81"), make_event("82")
    ana = Contact.objects.create(email="ana@example.com", first_name="Ana", last_name="Silva")
    failure = []

    def other_writer():
        try:
            with transaction.atomic():
                # Ana is known already (no insert of her to wait on): only the rollups' lock
                # orders the two writers.
                plan_apply(
                    Plan(
                        event_id=second.pk,
                        registrations=[RegistrationFact("ana@example.com", registered_at=at(-30))],
                    )
                )
        except BaseException as exc:  # handed to the test
            failure.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_writer)
    with transaction.atomic():
        plan_apply(registration(first, registered_at=at(-60)))  # Ana's row is locked now
        thread.start()
        # The other transaction has written its participation and waits for Ana's lock.
        deadline = time.monotonic() + 20
        waiting = 0
        while not waiting and time.monotonic() < deadline:
            with connection.cursor() as cursor:
                # Activity is read once per transaction unless the snapshot is cleared.
                cursor.execute("SELECT pg_stat_clear_snapshot()")
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database() AND pid <> pg_backend_pid()"
                )
                waiting = cursor.fetchone()[0]
            time.sleep(0.02)
        assert waiting == 1, "the other writer never waited on the contact's lock"
    thread.join(timeout=30)
    assert not thread.is_alive() and not failure, failure
    assert stored(ana.pk) == (2, 0, 0, 0, None, None, at(-30))
    assert_exact()
