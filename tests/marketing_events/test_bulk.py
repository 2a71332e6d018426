"""`marketing_events.bulk`: the PostgreSQL statements and the portable ORM fallback give the
same results (on PostgreSQL both paths run; elsewhere the fallback twice), and `plan_apply`
writes nothing when nothing changed."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from crm.models import Contact, SecondaryEmail, TimelineEvent, Tombstone
from marketing_events import bulk, selectors
from marketing_events.models import (
    AttendanceSession,
    EventOccurrence,
    OccurrenceAttendance,
    Participation,
    ParticipationState,
)
from marketing_events.plan import NewContact, OccurrenceFact, Plan, RegistrationFact, SessionFact
from marketing_events.services import event_upsert, plan_apply

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 9, 10, 15, 0, tzinfo=dt.UTC)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


@pytest.fixture(params=["native", "portable"])
def path(request, monkeypatch):
    if request.param == "portable":
        monkeypatch.setattr(bulk, "on_postgresql", lambda: False)
        monkeypatch.setattr(selectors, "on_postgresql", lambda: False)
    return request.param


@pytest.fixture
def event():
    return event_upsert(
        source="zoom",
        external_account_id="acct",
        external_event_id="81",
        defaults={"name": "Q3", "starts_at": at(0), "ends_at": at(60)},
    )


def test_contacts_ensure_creates_only_the_missing_live_ones(path):
    old = Contact.objects.create(email="old@example.com")
    Contact.objects.create(email="gone@example.com", archived_at=at(0))
    ids, created = bulk.contacts_ensure(
        {"old@example.com", "unknown@example.com"},
        [bulk.ContactRow("new@example.com", "Ana", "Silva"), bulk.ContactRow("old@example.com")],
        at(0),
    )
    new = Contact.objects.get(email="new@example.com", archived_at__isnull=True)
    assert ids == {"old@example.com": old.pk, "new@example.com": new.pk}
    assert created == [new.pk]
    assert (new.first_name, new.last_name, new.properties, new.phone) == ("Ana", "Silva", {}, "")
    assert bulk.contacts_ensure(["new@example.com"], [bulk.ContactRow("new@example.com")], at(1))
    assert Contact.objects.filter(email="new@example.com").count() == 1


def test_occurrences_upsert_returns_new_updated_unchanged_and_named_ones(path, event):
    first = bulk.occurrences_upsert(event.pk, [("a", at(0), at(60)), ("b", at(0), None)], [])
    assert set(first) == {"a", "b"}
    again = bulk.occurrences_upsert(event.pk, [("a", at(0), at(60)), ("b", at(0), at(30))], ["c"])
    assert again == {"a": (first["a"][0], at(0), at(60)), "b": (first["b"][0], at(0), at(30))}
    assert bulk.occurrences_upsert(event.pk, [], ["a"]) == {"a": again["a"]}
    assert EventOccurrence.objects.get(external_id="b").ends_at == at(30)


def test_participations_sessions_attendance_and_timeline_round_trip(path, event):
    contact = Contact.objects.create(email="ana@example.com")
    values = ("REGISTERED", at(-10), None, "r1", "https://j", None, None, 0, None, False)
    ids = bulk.participations_upsert(event.pk, [(contact.pk, *values)], at(0))
    pk = ids[contact.pk]
    rows = bulk.participations_fetch(event.pk, [contact.pk])
    assert rows == [(pk, contact.pk, *values)]
    attended = (
        "ATTENDED",
        at(-10),
        None,
        "r1",
        "https://j",
        at(0),
        at(30),
        1800,
        Decimal("50.0"),
        False,
    )
    assert bulk.participations_upsert(event.pk, [(contact.pk, *attended)], at(1)) == {
        contact.pk: pk
    }
    participation = Participation.objects.get()
    assert (participation.state, participation.created_at, participation.updated_at) == (
        "ATTENDED",
        at(0),
        at(1),
    )

    occurrence = EventOccurrence.objects.create(event=event, external_id="u", starts_at=at(0))
    bulk.sessions_upsert([(pk, occurrence.pk, "p1", at(0), None, "Ana", "ana@example.com")])
    bulk.sessions_upsert([(pk, occurrence.pk, "p1", at(0), at(30), "Ana", "ana@example.com")])
    assert bulk.sessions_of([pk]) == [
        (pk, occurrence.pk, "p1", at(0), at(30), "Ana", "ana@example.com", at(0), None)
    ]
    bulk.attendance_upsert([(pk, occurrence.pk, at(0), at(30), 1800, Decimal("50.0"))])
    bulk.attendance_upsert([(pk, occurrence.pk, at(0), at(30), 1800, Decimal("50.0"))])
    assert OccurrenceAttendance.objects.values_list("duration_seconds", flat=True).get() == 1800

    row = (contact.pk, "zoom_webinar_attended", at(0), {"duration_seconds": 1800}, "k1")
    bulk.timeline_upsert([row, row])
    bulk.timeline_upsert([(contact.pk, "zoom_webinar_attended", at(1), {"a": None}, "k1")])
    entry = TimelineEvent.objects.get()
    assert (entry.occurred_at, entry.data) == (at(1), {"a": None})
    assert AttendanceSession.objects.count() == 1


def test_attendance_upsert_inserts_then_updates_only_what_changed(path, event):
    # Rule M2: one attendance per (participation, occurrence), its merged values rewritten.
    ana = Contact.objects.create(email="ana@example.com")
    bea = Contact.objects.create(email="bea@example.com")
    values = ("ATTENDED", at(-10), None, "", "", at(0), at(30), 0, None, False)
    ids = bulk.participations_upsert(event.pk, [(c.pk, *values) for c in (ana, bea)], at(0))
    u = EventOccurrence.objects.create(event=event, external_id="u", starts_at=at(0))
    v = EventOccurrence.objects.create(event=event, external_id="v", starts_at=at(60))
    first = [
        (ids[ana.pk], u.pk, at(0), None, 600, Decimal("10.0")),
        (ids[ana.pk], v.pk, at(60), at(90), 1800, Decimal("50.0")),
        (ids[bea.pk], u.pk, at(5), at(35), 1800, Decimal("50.0")),
    ]
    bulk.attendance_upsert(first)
    again = [
        (ids[ana.pk], u.pk, at(0), at(40), 2400, Decimal("66.7")),  # the open session closed
        *first[1:],
    ]

    def stored():
        return sorted(
            OccurrenceAttendance.objects.values_list(
                "participation_id", "occurrence_id", *bulk.ATTENDANCE_FIELDS
            )
        )

    def versions():
        with connection.cursor() as cursor:
            cursor.execute(
                # A written row is a new version, elsewhere in the table (a transaction's rows
                # all have its xmin: the test's transaction wraps them all).
                "SELECT participation_id, occurrence_id, ctid::text "
                "FROM marketing_events_occurrenceattendance ORDER BY 1, 2"
            )
            return cursor.fetchall()

    native = path == "native" and connection.vendor == "postgresql"
    before = versions() if native else None
    with CaptureQueriesContext(connection) as queries:
        bulk.attendance_upsert(again)
    assert stored() == sorted(again)
    if native:
        assert len(queries.captured_queries) == 1
        after = versions()
        # Only the changed row has a new version: unchanged ones are not written.
        assert [row for row in after if row not in before] == [(ids[ana.pk], u.pk, after[0][2])]
    bulk.attendance_upsert([])
    assert stored() == sorted(again)


def test_crm_snapshot_sees_contacts_secondary_emails_tombstones_and_users(path):
    from tests.factories import UserFactory

    ana = Contact.objects.create(email="ana@example.com", first_name="Ana")
    SecondaryEmail.objects.create(contact=ana, email="ana2@example.com")
    Tombstone.objects.create(email="gone@example.com")
    UserFactory(email="staff@example.com")
    snapshot = selectors.crm_snapshot(
        ["ANA@example.com ", "ana2@example.com", "gone@example.com", "staff@example.com", ""]
    )
    assert snapshot.contacts["ana@example.com"].id == ana.pk
    assert snapshot.secondary_emails == {"ana2@example.com": ana.pk}
    assert snapshot.tombstones == frozenset({"gone@example.com"})
    assert snapshot.crm_user_emails == frozenset({"staff@example.com"})


def test_an_unchanged_page_writes_nothing(path, event):
    plan = Plan(event_id=event.pk, occurrences=[OccurrenceFact("u", at(0), at(60))])
    for n in range(5):
        email = f"p{n}@example.com"
        plan.new_contacts.append(NewContact(email, "P", str(n)))
        plan.registrations.append(RegistrationFact(email=email, registered_at=at(-60)))
        plan.sessions.append(SessionFact(email, "u", f"pu{n}", at(0), at(10 + n)))
    first = plan_apply(plan, recompute_counters=False)
    assert (first.contacts_created, first.participations_changed) == (5, 5)
    with CaptureQueriesContext(connection) as queries:
        again = plan_apply(plan, recompute_counters=False)
    assert (again.contacts_created, again.participations_changed) == (0, 0)
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
        and "_eventoccurrence" not in q["sql"]
        and "_occurrenceattendance" not in q["sql"]
    ]
    assert writes == []  # nothing but the occurrence and attendance upserts, which skip equals


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's heap-only updates")
@pytest.mark.django_db(transaction=True)
def test_attendance_applied_to_registrations_updates_no_index():
    # A first sync writes most participations twice: registered, then attended (pages of
    # attendees arrive after the pages of registrants, in another order). No index covers what
    # the second write changes, and pages keep room for it, so it is a heap-only update.
    event = event_upsert(
        source="zoom",
        external_account_id="acct",
        external_event_id="82",
        defaults={"name": "Q4", "starts_at": at(0), "ends_at": at(60)},
    )
    occurrence = OccurrenceFact("u", at(0), at(60))
    registrations = Plan(event_id=event.pk, occurrences=[occurrence])
    attendance = [
        Plan(event_id=event.pk, occurrences=[occurrence], event_over=True) for _ in range(3)
    ]
    for n in range(300):
        email = f"hot{n}@example.com"
        registrations.new_contacts.append(NewContact(email, "H", str(n)))
        registrations.registrations.append(RegistrationFact(email=email, registered_at=at(-60)))
        attendance[n % 3].sessions.append(SessionFact(email, "u", f"h{n}", at(1), at(30 + n % 30)))
    plan_apply(registrations, recompute_counters=False)

    def update_counts():  # this backend's, not flushed yet: read within one transaction
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_stat_get_xact_tuples_updated(c.oid), "
                "pg_stat_get_xact_tuples_hot_updated(c.oid) FROM pg_class c WHERE c.relname = %s",
                [Participation._meta.db_table],
            )
            return cursor.fetchone()

    changed, first = 0, None
    for page in attendance:
        with transaction.atomic():
            before = update_counts()
            changed += plan_apply(page, recompute_counters=False).participations_changed
            after = update_counts()
        first = first or (after[0] - before[0], after[1] - before[1])
    assert changed == 300
    # The first page's updates: a third of every heap page's rows, which the room kept free
    # holds whatever else runs (the later pages' depend on pruning the first's old versions,
    # which a concurrent snapshot, autovacuum's say, may hold back).
    updated, heap_only = first
    assert updated == 100
    assert heap_only >= 0.9 * updated
    states = set(Participation.objects.values_list("state", flat=True))
    assert states == {ParticipationState.ATTENDED}


def test_rows_insert_inserts_then_updates_only_what_changed(path):
    contact = Contact.objects.create(email="r@example.com")
    columns = {
        "contact_id": [contact.pk, contact.pk],
        "kind": ["a", "b"],
        "occurred_at": [at(0), at(1)],
        "data": [{"n": 1, "when": "x"}, {"n": 2}],
        "dedupe_key": ["k1", "k2"],
    }
    bulk.rows_insert(TimelineEvent, columns, {"created_at": at(5)})
    stored = dict(TimelineEvent.objects.values_list("dedupe_key", "data"))
    assert stored == {"k1": {"n": 1, "when": "x"}, "k2": {"n": 2}}
    update = ("kind", "occurred_at", "data")
    again = {**columns, "data": [{"n": 1, "when": "x"}, {"n": 3}], "kind": ["a", "c"]}
    with CaptureQueriesContext(connection) as queries:
        bulk.rows_insert(
            TimelineEvent, again, {"created_at": at(9)}, unique=("dedupe_key",), update=update
        )
    rows = TimelineEvent.objects.order_by("dedupe_key").values_list(
        "dedupe_key", "kind", "data", "created_at"
    )
    assert list(rows) == [
        ("k1", "a", {"n": 1, "when": "x"}, at(5)),
        ("k2", "c", {"n": 3}, at(5)),  # created_at is not among the updated columns
    ]
    if path == "native" and connection.vendor == "postgresql":
        assert len(queries.captured_queries) == 1
        with connection.cursor() as cursor:
            # ctid, not xmin: the test's transaction wrote every row, so they share its xmin.
            cursor.execute("SELECT ctid::text FROM crm_timelineevent ORDER BY dedupe_key")
            before = cursor.fetchall()
            bulk.rows_insert(TimelineEvent, again, {}, unique=("dedupe_key",), update=update)
            cursor.execute("SELECT ctid::text FROM crm_timelineevent ORDER BY dedupe_key")
            assert cursor.fetchall() == before  # unchanged rows are not written


def test_rows_insert_takes_a_single_row_of_nulls(path, event):
    contact = Contact.objects.create(email="n@example.com")
    bulk.rows_insert(
        Participation,
        {"contact_id": [contact.pk], "first_join_at": [None], "join_url": [""]},
        {"event_id": event.pk, "state": ParticipationState.REGISTERED},
    )
    stored = Participation.objects.get(contact=contact)
    assert (stored.event_id, stored.first_join_at, stored.state) == (
        event.pk,
        None,
        ParticipationState.REGISTERED,
    )


def _contact_rows_read(plan: dict) -> int:
    """Rows the plan's scans of the contacts table read (returned or filtered out), all loops
    (EXPLAIN shows a loop's rows as the mean over the loops, rounded: roughly)."""
    node = plan.get("Plan", plan)
    read = 0
    if node.get("Relation Name") == Contact._meta.db_table:
        read += (node["Actual Rows"] + node.get("Rows Removed by Filter", 0)) * node["Actual Loops"]
    return read + sum(_contact_rows_read(child) for child in node.get("Plans", ()))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner")
@pytest.mark.parametrize("statistics", ["none", "analyzed"])
def test_crm_snapshot_probes_each_email_whatever_the_statistics(statistics):
    # Rules Z5, Z8 read the snapshot on every page of a sync; a first sync creates the contacts
    # it reads, before autovacuum has analyzed them: the plan must not depend on statistics.
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if not cursor.fetchone()[0]:
            pytest.skip("resetting a table's statistics needs a superuser")
    Contact.objects.bulk_create(
        [Contact(email=f"c{n}@example{n % 7}.com", first_name="C") for n in range(600)]
    )
    Contact.objects.bulk_create(
        [Contact(email=f"c{n}@example{n % 7}.com", archived_at=at(0)) for n in (0, 60, 120)]
    )
    with connection.cursor() as cursor:
        if statistics == "none":  # as in a new database (rolled back with the test)
            cursor.execute(
                "DELETE FROM pg_statistic WHERE starelid = 'crm_contact'::regclass; "
                "UPDATE pg_class SET reltuples = -1, relpages = 0 "
                "WHERE oid = 'crm_contact'::regclass"
            )
        else:
            cursor.execute("ANALYZE crm_contact")
    emails = sorted(f"c{n}@example{n % 7}.com" for n in range(0, 600, 60)) + ["no@example.com"]
    [(plan,)] = bulk.pg_fetch(
        "EXPLAIN (ANALYZE, FORMAT JSON) " + selectors.crm_snapshot_sql(), {"emails": emails}
    )
    # One probe per e-mail (11), finding the 10 live contacts and 3 archived ones with the same
    # e-mails, not the 603 contacts of the table.
    assert 10 <= _contact_rows_read(plan[0]) <= 2 * len(emails)
    snapshot = selectors.crm_snapshot(emails)
    assert sorted(snapshot.contacts) == emails[:-1]
    assert all(ref.first_name == "C" for ref in snapshot.contacts.values())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's prepared statements")
def test_a_bulk_statement_run_again_is_prepared():
    # settings.DATABASES OPTIONS prepare_threshold: the sync's statements, bound server-side,
    # repeat page after page; PostgreSQL parses them once per connection, not once per page.
    def prepared() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_prepared_statements "
                "WHERE NOT from_sql AND statement LIKE %s",
                ["%CROSS JOIN LATERAL%"],
            )
            return cursor.fetchone()[0]

    selectors.crm_snapshot(["a@example.com"])
    assert prepared() == 0
    for _ in range(3):
        selectors.crm_snapshot(["a@example.com", "b@example.com"])
    assert prepared() == 1  # one statement, whatever the e-mails
