"""Writes of engagement facts (rules E6-E8): one service per fact for every caller (the sync
today), each in one transaction with a constant number of statements whatever the page size."""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from functools import lru_cache, partial

from django.db import OperationalError, connection, connections, transaction
from django.db.models import Count, Min, Sum
from django.utils import timezone
from django.utils.translation import gettext_noop

from crm.bulk_properties import index_probes
from crm.hooks import contacts_changed
from crm.models import Contact, PropertyType
from crm.properties import PropertySpec
from marketing_events import bulk
from marketing_events.models import (
    EventOccurrence,
    MarketingEvent,
    Participation,
    ParticipationState,
)

from .kinds import (
    ANSWER_KIND_OF_REPORT,
    POLL,
    QUESTION,
    RECORDING_VIEWED,
    SURVEY,
)
from .models import (
    DEFAULT_WEIGHTS,
    EngagementAnswer,
    EngagementPendingContact,
    EngagementReport,
    EngagementSettings,
    ParticipationEngagement,
    RecordingView,
)
from .planner import AnswerPlan, ViewPlan
from .score import PARTS, Facts, engagement_score

CONTACT_PROPERTY = "zoom_engagement_score"
SCORE_PROPERTY = PropertySpec(
    CONTACT_PROPERTY,
    gettext_noop("Zoom engagement score"),
    PropertyType.NUMBER,
    "number",
    None,
    read_only=True,
    group_name="zoom",
    description=gettext_noop(
        "Mean engagement score (0-100) over the contact's last 10 webinars; a no-show counts 0."
    ),
)
_FACT_FIELDS = (
    "polls_answered",
    "questions_asked",
    "survey_answered",
    "recording_first_viewed_at",
    "recording_seconds",
    "score",
    "parts",
)
LAST_EVENTS = 10  # rule E8: the mean over the contact's last 10 webinars
CHUNK = 500  # contacts whose property is recomputed per transaction


def _timeline_key(kind: str, occurrence_id: int, contact_id: int) -> str:
    return f"{kind}:{occurrence_id}:{contact_id}"


@transaction.atomic
def answers_apply(
    *,
    occurrence: EventOccurrence,
    report: str,
    plan: AnswerPlan,
    digest: str,
    now: dt.datetime | None = None,
) -> int:
    """Replaces the answers of one report of one occurrence by the plan's (idempotent: the
    same report gives the same rows); their people's timeline entries (rule E6: one per
    contact, occurrence and kind, listing its items) are read from them
    (`crm.models.TimelineEntry`), so people no longer in the report lose theirs with their
    answers. Returns the number of answers attached to someone. A report read as a stream is
    replaced the same way in parts (`engagement.pull`): `answers_clear`, `answers_chunk_apply`
    for each part, `answers_report_record`, in one transaction."""
    now = now or timezone.now()
    answers_clear(occurrence, report)
    attached = answers_chunk_apply(occurrence=occurrence, report=report, plan=plan)
    answers_report_record(
        occurrence,
        report,
        digest,
        rows=len(plan.answers),
        anonymous=plan.anonymous_rows,
        now=now,
        complete=not plan.unmatched,
    )
    return attached


@transaction.atomic(savepoint=False)  # within a caller's transaction: theirs
def answers_clear(occurrence: EventOccurrence, report: str) -> None:
    """Deletes one report's stored answers for one occurrence (and so the timeline entries
    read from them): the first step of replacing them."""
    kind = ANSWER_KIND_OF_REPORT[report]
    EngagementAnswer.objects.filter(occurrence=occurrence, kind=kind).delete()


@transaction.atomic(savepoint=False)  # within a caller's transaction: theirs
def answers_chunk_apply(*, occurrence: EventOccurrence, report: str, plan: AnswerPlan) -> int:
    """Adds the plan's answers (a part of one report) after `answers_clear`, in one statement
    whatever the part's size. Returns the answers attached to someone."""
    kind = ANSWER_KIND_OF_REPORT[report]
    records = [fact.record for fact in plan.answers]
    bulk.rows_insert(
        EngagementAnswer,
        {
            "participation_id": [fact.participation_id for fact in plan.answers],
            "question_id": [r.question_id[:200] for r in records],
            "question": [r.question for r in records],
            "answer": [r.answer for r in records],
            "status": [r.status[:20] for r in records],
            "answered_by": [r.answered_by[:300] for r in records],
            "answered_at": [r.answered_at for r in records],
        },
        {"event_id": occurrence.event_id, "occurrence_id": occurrence.pk, "kind": kind},
    )
    # Filter workflows (poll answers as triggers) look at these contacts again.
    contacts_changed({f.contact_id for f in plan.answers if f.contact_id is not None})
    return sum(1 for f in plan.answers if f.participation_id is not None)


def answers_report_record(
    occurrence: EventOccurrence,
    report: str,
    digest: str,
    *,
    rows: int,
    anonymous: int,
    now: dt.datetime,
    complete: bool = True,
) -> None:
    """What the report said, its digest and when it was read: the last step of replacing its
    answers (the next read that gives the same digest writes nothing). `complete=False`: some
    answers are of people with no participation in the event yet (Zoom's participants report
    can lag behind its polls); the digest is not kept, so the next read, while the report still
    settles, plans it again and attaches them once their participations exist."""
    EngagementReport.objects.update_or_create(
        occurrence=occurrence,
        kind=report,
        defaults={
            "digest": digest if complete else "",
            "rows": rows,
            "anonymous_count": anonymous,
            "pulled_at": now,
        },
    )


def report_unchanged(occurrence: EventOccurrence, report: str, digest: str) -> bool:
    return EngagementReport.objects.filter(
        occurrence=occurrence, kind=report, digest=digest
    ).exists()


@transaction.atomic
def views_apply(
    *, occurrence: EventOccurrence, plan: ViewPlan, timeline_data: dict, now: dt.datetime
) -> tuple[int, int]:
    """Rule E7: the viewers' contacts (new ones where the rules allow), their participations
    (state-less `VIEWED_RECORDING` for viewers who never registered), the views (idempotent by
    participation, occurrence and moment) and one timeline entry per viewer and recording.
    Returns (views added, contacts created)."""
    if not plan.views:
        return 0, 0
    emails = {email for email, _view in plan.views}
    ids, created = bulk.contacts_ensure(
        {e for e in emails if e not in plan.contact_ids},
        [bulk.ContactRow(c.email, c.first_name, c.last_name) for c in plan.new_contacts],
        now,
        created_entry=("contact_created", {"source": "zoom"}),
    )
    contacts = {**plan.contact_ids, **ids}
    participations = _participations_ensure(occurrence.event_id, set(contacts.values()), now)
    views = [
        RecordingView(
            occurrence=occurrence,
            participation_id=participations[contacts[email]],
            viewed_at=view.viewed_at,
            seconds=view.seconds,
        )
        for email, view in plan.views
        if email in contacts
    ]
    before = RecordingView.objects.filter(occurrence=occurrence).count()
    RecordingView.objects.bulk_create(views, ignore_conflicts=True, batch_size=1000)
    added = RecordingView.objects.filter(occurrence=occurrence).count() - before
    totals = (
        RecordingView.objects.filter(
            occurrence=occurrence, participation_id__in=set(participations.values())
        )
        .values("participation_id")
        .annotate(first=Min("viewed_at"), seconds=Sum("seconds"), views=Count("id"))
    )
    contact_of = {p: c for c, p in participations.items()}
    bulk.timeline_upsert(
        bulk.TimelineRow(
            contact_of[row["participation_id"]],
            RECORDING_VIEWED,
            row["first"],
            {
                **timeline_data,
                "occurrence": occurrence.external_id,
                "first_viewed_at": row["first"].isoformat(),
                "seconds_watched": row["seconds"],
                "views": row["views"],
            },
            _timeline_key(RECORDING_VIEWED, occurrence.pk, contact_of[row["participation_id"]]),
        )
        for row in totals
    )
    if added or created:
        contacts_changed(set(contacts.values()))
    return added, len(created)


def _participations_ensure(event_id: int, contact_ids: set[int], now) -> dict[int, int]:
    """Participation id by contact id; the missing ones created state-less (rule E7)."""
    found = dict(
        Participation.objects.filter(event_id=event_id, contact_id__in=contact_ids).values_list(
            "contact_id", "pk"
        )
    )
    missing = sorted(contact_ids - found.keys())
    if missing:
        Participation.objects.bulk_create(
            [
                Participation(
                    event_id=event_id,
                    contact_id=contact_id,
                    state=ParticipationState.VIEWED_RECORDING,
                    created_at=now,
                    updated_at=now,
                )
                for contact_id in missing
            ],
            ignore_conflicts=True,  # one created meanwhile by another writer is kept
        )
        found.update(
            Participation.objects.filter(event_id=event_id, contact_id__in=missing).values_list(
                "contact_id", "pk"
            )
        )
    return found


def views_window_record(occurrence: EventOccurrence, read_until: dt.date, now) -> None:
    EngagementReport.objects.update_or_create(
        occurrence=occurrence,
        kind="views",
        defaults={"read_until": read_until, "pulled_at": now},
    )


# -- the score (rule E8) -------------------------------------------------------------------


def weights_get() -> dict[str, int]:
    stored = EngagementSettings.objects.order_by("pk").values_list("weights", flat=True).first()
    if stored and set(stored) == set(PARTS):
        return dict(stored)
    return dict(DEFAULT_WEIGHTS)


RECOMPUTE_CHUNK = 2000  # participations recomputed per transaction (memory stays flat)


def event_engagement_recompute(
    event_id: int, *, weights: dict[str, int] | None = None, chunk: int = RECOMPUTE_CHUNK
) -> int:
    """Recomputes every participation's facts and score of one event from the stored facts
    (never incremented), then marks their contacts for `zoom_engagement_score` (recomputed at
    the end of the run: `contacts_engagement_flush`). The participations are taken `chunk` at
    a time, in id order, each chunk read with a constant number of statements and written in a
    transaction of its own, so the worker's memory does not grow with the webinar (a crash
    between chunks leaves facts that the next recompute finds and finishes). Returns the
    participations written."""
    weights = weights or weights_get()
    event = MarketingEvent.objects.filter(pk=event_id).first()
    if event is None:
        return 0
    lengths = [o.length_seconds for o in EventOccurrence.objects.filter(event_id=event_id)]
    length = max(lengths, default=0) or (
        int((event.ends_at - event.starts_at).total_seconds())
        if event.ends_at and event.starts_at
        else 0
    )
    poll_questions = (
        EngagementAnswer.objects.filter(event_id=event_id, kind=POLL)
        .values("occurrence_id", "question_id", "question")
        .distinct()
        .count()
    )
    context = (
        event_id,
        poll_questions,
        length * max(1, len(lengths)),
        tuple(sorted(weights.items())),
    )
    total, after = 0, 0
    while True:
        participations = list(
            Participation.objects.filter(event_id=event_id, pk__gt=after)
            .order_by("pk")
            .values_list("pk", "contact_id", "attendance_percent")[:chunk]
        )
        if not participations:
            return total
        after = participations[-1][0]
        total += _recompute_chunk(participations, *context)


def _recompute_chunk(
    participations: list[tuple], event_id: int, poll_questions: int, length: int, weights_key
) -> int:
    """The facts and scores of these participations (id order) of the event; only the rows
    whose facts or score changed are written. Returns how many."""
    first, last = participations[0][0], participations[-1][0]
    span = {"participation_id__gte": first, "participation_id__lte": last}
    answers = defaultdict(dict)
    for row in (
        EngagementAnswer.objects.filter(event_id=event_id, **span)
        .values("participation_id", "kind")
        .annotate(n=Count("id"))
    ):
        answers[row["participation_id"]][row["kind"]] = row["n"]
    views = {
        row["participation_id"]: row
        for row in RecordingView.objects.filter(participation__event_id=event_id, **span)
        .values("participation_id")
        .annotate(first=Min("viewed_at"), seconds=Sum("seconds"))
    }
    stored = {
        row[0]: row[1:]
        for row in ParticipationEngagement.objects.filter(event_id=event_id, **span).values_list(
            "participation_id", *_FACT_FIELDS
        )
    }
    # Participations with the same facts share their score: a first sync recomputes every
    # participation of the webinar, most of them no-shows or attendees who only listened, so
    # the facts are built and scored once per distinct value, and the rows transposed into
    # columns once (this loop: 4.5-5 µs a participation before, 0.7-1 µs this way, measured
    # on 2,000 participations with the benchmark's share of attendees, 2026-12-06).
    scored: dict[tuple, tuple[int, dict]] = {}
    rows = []
    for pk, contact_id, percent in participations:
        counts = answers.get(pk)
        view = views.get(pk)
        polls = questions = surveys = seconds = 0
        if counts:
            polls = counts.get(POLL, 0)
            questions = counts.get(QUESTION, 0)
            surveys = counts.get(SURVEY, 0)
        if view:
            seconds = view["seconds"] or 0
        key = (percent, polls, questions, surveys > 0, seconds)
        found = scored.get(key)
        if found is None:
            facts = Facts(
                attendance_percent=float(percent or Decimal(0)),
                questions_asked=questions,
                polls_answered=polls,
                poll_questions=poll_questions,
                survey_answered=surveys > 0,
                recording_seconds=seconds,
                length_seconds=length,
            )
            found = scored[key] = _score(facts, weights_key)
        score, parts = found
        values = (
            polls,
            questions,
            surveys > 0,
            view["first"] if view else None,
            seconds,
            score,
            parts,
        )
        if stored.get(pk) == values:
            continue  # only rows whose facts or score changed are written
        rows.append((pk, contact_id, *values))
    if not rows:
        return 0
    names = ("participation_id", "contact_id", *_FACT_FIELDS)
    transposed = zip(*rows, strict=True)
    columns = {name: list(values) for name, values in zip(names, transposed, strict=True)}
    written = len(rows)

    # The rows only, and their contacts marked pending: the contacts' property is recomputed
    # later, once per contact for many events (`contacts_engagement_flush`, at the end of a
    # sync run). Writing it here would lock and rewrite each contact once per webinar, and
    # workers syncing webinars with people in common would wait on those locks.
    def write():
        with transaction.atomic():
            if not event_key_share(event_id):
                return  # deleted meanwhile, with its participations
            bulk.rows_insert(
                ParticipationEngagement,
                columns,
                {"event_id": event_id, "updated_at": timezone.now()},
                unique=("participation_id",),
                update=("contact_id", "event_id", *_FACT_FIELDS, "updated_at"),
            )
            contacts_mark_pending(columns["contact_id"])
            contacts_changed(set(columns["contact_id"]))

    retrying(write)  # a flush taking marks of the same contacts may deadlock with it
    return written


def event_key_share(event_id: int) -> bool:
    """Whether the event still exists, holding it (PostgreSQL: `FOR KEY SHARE`) until the
    caller's transaction ends: its deletion, which locks it first, waits for the rows written
    under it, or has already happened (the summaries keep no foreign key to the
    participation: see the note above `marketing_events.models.Participation`)."""
    if not bulk.on_postgresql():  # SQLite: one writer at a time
        return MarketingEvent.objects.filter(pk=event_id).exists()
    table = connection.ops.quote_name(MarketingEvent._meta.db_table)
    return bool(bulk.pg_fetch(f"SELECT 1 FROM {table} WHERE id = %s FOR KEY SHARE", [event_id]))


def contacts_mark_pending(contact_ids: Iterable[int]) -> None:
    """Marks these contacts' `zoom_engagement_score` to be recomputed, in the caller's
    transaction (with the engagement rows that changed it).

    A contact already marked keeps its row, locked until the caller commits (PostgreSQL:
    `DO UPDATE … WHERE false` writes nothing but locks the row it met): a flush deleting that
    mark meanwhile waits for this transaction, and its recompute, a later statement, then
    reads the rows written with it; a flush that deleted it first makes this insert wait, then
    insert a mark of its own. Either way no change is left unmarked (`DO NOTHING` would rely
    on a mark a flush is about to delete without reading this transaction's rows)."""
    ids = sorted(set(contact_ids))  # in one order: writers wait for each other, never in a cycle
    if not ids:
        return
    if not bulk.on_postgresql():  # SQLite: one writer at a time
        EngagementPendingContact.objects.bulk_create(
            [EngagementPendingContact(contact_id=pk) for pk in ids],
            ignore_conflicts=True,
            batch_size=1000,
        )
        return
    table = connection.ops.quote_name(EngagementPendingContact._meta.db_table)
    bulk.pg_fetch(
        f"INSERT INTO {table} (contact_id) SELECT unnest(%b::bigint[]) "
        "ON CONFLICT (contact_id) DO UPDATE SET contact_id = EXCLUDED.contact_id WHERE false",
        [ids],
    )


def contacts_engagement_flush(*, batch: int = CHUNK, threads: int = 1) -> int:
    """Recomputes `zoom_engagement_score` of the contacts marked pending
    (`contacts_mark_pending`), `batch` contacts a transaction, and deletes their marks with it:
    a crash between batches leaves the rest marked for the next call (the end of the next run,
    or the beat's sweep). Returns the contacts recomputed.

    `threads` > 1 (PostgreSQL, outside a transaction: each batch commits on its own): that
    many batches at once, each on a connection of its own. The end of a sync run flushes
    every contact its webinars marked while the rest of the worker's pool is idle: its
    statements are PostgreSQL's work, so two at once take about half the time on two cores."""
    if threads > 1 and bulk.on_postgresql() and not connection.in_atomic_block:
        return _flush_in_parallel(batch, threads)
    done = 0
    for ids in _pending_batches(batch):
        retrying(partial(_flush_batch, ids))
        done += len(ids)
    return done


def _pending_batches(batch: int) -> Iterator[list[int]]:
    """The pending contacts' ids, in order, `batch` at a time (each read when the one before
    was taken: marks added meanwhile after it are taken too)."""
    after = 0
    while True:
        ids = list(
            EngagementPendingContact.objects.filter(contact_id__gt=after)
            .order_by("contact_id")
            .values_list("contact_id", flat=True)[:batch]
        )
        if not ids:
            return
        yield ids
        after = ids[-1]


def _flush_batch(ids: list[int]) -> None:
    with transaction.atomic():
        # Deleted first: every mark this deletes was committed (or its writer waited for)
        # before it, so the recompute's later statement reads the rows written with it; a
        # mark committed after it stays for the next flush.
        EngagementPendingContact.objects.filter(contact_id__in=ids).delete()
        contacts_recompute_engagement(ids)


def _flush_in_parallel(batch: int, threads: int) -> int:
    """The batches handed to `threads` threads, at most two each in flight; the batches are
    disjoint ranges of ids, locked in id order each, so they never wait on one another."""

    def flush(ids: list[int]) -> int:
        try:
            retrying(partial(_flush_batch, ids))
        finally:
            connections.close_all()  # this thread's connection, opened for this batch
        return len(ids)

    done = 0
    with ThreadPoolExecutor(max_workers=threads) as pool:
        running: deque = deque()
        for ids in _pending_batches(batch):
            running.append(pool.submit(flush, ids))
            if len(running) >= 2 * threads:
                done += running.popleft().result()
        while running:
            done += running.popleft().result()
    return done


@lru_cache(maxsize=1024)
def _score(facts: Facts, weights: tuple[tuple[str, int], ...]) -> tuple[int, dict[str, int]]:
    # Most participations of a webinar share their facts (every no-show, every attendee who
    # only listened to the end): each score is computed once. Callers never change `parts`.
    # 1,024 entries: a few hundred kilobytes; full at 4,096 (webinars of 25,000 registrants
    # have that many distinct facts) they were 1.5 MB of the worker's peak memory.
    return engagement_score(facts, dict(weights))


def retrying(write, attempts: int = 4):
    """Runs `write` (one transaction) again after a deadlock or a serialization failure, as the
    sync's pages are: workers syncing webinars with people in common lock the same contacts."""
    for attempt in range(1, attempts + 1):
        try:
            return write()
        except OperationalError as exc:
            sqlstate = getattr(exc.__cause__, "sqlstate", None)
            if attempt == attempts or sqlstate not in ("40P01", "40001"):
                raise
            time.sleep(0.02 * attempt)
    raise AssertionError("unreachable")


def contacts_recompute_engagement(contact_ids: Iterable[int]) -> None:
    """`zoom_engagement_score`: the mean score, rounded half up, over the contact's 10 most
    recent events with a participation of any state (a participation without a score, e.g. a
    no-show, counts 0). Two statements whatever the number of contacts: the contacts locked in
    id order (as the rollups and legacy properties lock them: no lock cycles between workers
    syncing webinars with people in common), then the property written where it changed."""
    ids = sorted(set(contact_ids))
    if not ids:
        return
    sql, params = _engagement_property_update(ids)
    if bulk.on_postgresql():
        table = connection.ops.quote_name(Contact._meta.db_table)
        bulk.pg_fetch(
            f"SELECT id FROM {table} WHERE id = ANY(%b::bigint[]) ORDER BY id FOR NO KEY UPDATE",
            [ids],
        )
        # Index probes whatever the statistics say: at the end of a first sync the tables'
        # statistics still describe them nearly empty, and the plan made from them read the
        # whole participation table once per contact (256 ms a batch of 500, bench-sync).
        with index_probes():
            bulk.pg_fetch(sql, params)
        return
    with connection.cursor() as cursor:  # SQLite locks the whole database: no order to keep
        cursor.execute(sql, params)


def _engagement_property_update(ids: list[int]) -> tuple[str, list]:
    qn = connection.ops.quote_name
    contact = qn(Contact._meta.db_table)
    participation = qn(Participation._meta.db_table)
    event = qn(MarketingEvent._meta.db_table)
    engagement = qn(ParticipationEngagement._meta.db_table)
    if connection.vendor == "postgresql":
        # One probe per contact (LATERAL): its participations through the contact index, each
        # one's event and score through their keys, whatever the planner believes of the
        # tables' sizes (or of the number of events). A join of the ids with the whole tables,
        # which it chose once they had grown, read every participation and every summary for
        # each batch: 200 ms a batch of 500 contacts against 30 ms this way, 9 s of a first
        # sync of 500,000 registrants (pg_stat_statements, 2026-12-06).
        means = (
            "SELECT i.id AS contact_id, m.value FROM unnest(%b::bigint[]) AS i(id) "
            "CROSS JOIN LATERAL (SELECT CAST(ROUND(AVG(r.score)) AS integer) AS value FROM ("
            "SELECT COALESCE(pe.score, 0) AS score FROM ("
            f"SELECT p.id, p.event_id, (SELECT e.starts_at FROM {event} e "
            "WHERE e.id = p.event_id) AS starts_at "
            f"FROM {participation} p WHERE p.contact_id = i.id) p "
            f"LEFT JOIN {engagement} pe ON pe.participation_id = p.id "
            f"ORDER BY p.starts_at DESC, p.event_id DESC LIMIT {LAST_EVENTS}) r) m "
            "WHERE m.value IS NOT NULL"
        )
        return (
            f"UPDATE {contact} c SET properties = jsonb_set(COALESCE(c.properties, '{{}}'), "
            f"'{{{CONTACT_PROPERTY}}}', to_jsonb(m.value::text)) "
            f"FROM ({means}) m WHERE c.id = m.contact_id "
            f"AND (c.properties ->> '{CONTACT_PROPERTY}') IS DISTINCT FROM m.value::text",
            [ids],
        )
    marks = ", ".join(["%s"] * len(ids))
    means = (
        "SELECT contact_id, CAST(ROUND(AVG(score)) AS integer) AS value FROM ("
        "SELECT p.contact_id, COALESCE(pe.score, 0) AS score, ROW_NUMBER() OVER ("
        "PARTITION BY p.contact_id ORDER BY e.starts_at DESC, e.id DESC) AS n "
        f"FROM {participation} p JOIN {event} e ON e.id = p.event_id "
        f"LEFT JOIN {engagement} pe ON pe.participation_id = p.id "
        f"WHERE p.contact_id IN ({marks})) r "
        f"WHERE n <= {LAST_EVENTS} GROUP BY contact_id"
    )
    return (
        f"UPDATE {contact} SET properties = json_set(COALESCE(properties, '{{}}'), "
        f"'$.{CONTACT_PROPERTY}', CAST(m.value AS text)) "
        f"FROM ({means}) m WHERE {contact}.id = m.contact_id "
        f"AND json_extract({contact}.properties, '$.{CONTACT_PROPERTY}') "
        "IS NOT CAST(m.value AS text)",
        list(ids),
    )


def weights_set(weights: dict[str, int]) -> EngagementSettings:
    """Stores the weights (`score.clean_weights` first) and queues the recompute of every
    event's scores once committed (rule E8); its progress is on the row."""
    with transaction.atomic():
        row = EngagementSettings.objects.select_for_update().order_by("pk").first()
        if row is None:
            row = EngagementSettings()
        row.weights = weights
        row.recompute_status = "queued"
        row.recompute_total = (
            ParticipationEngagement.objects.order_by().values("event_id").distinct().count()
        )
        row.recompute_done = 0
        row.updated_at = timezone.now()
        row.save()
        from .tasks import engagement_recompute_all

        transaction.on_commit(engagement_recompute_all.delay)
    return row


def recompute_progress() -> dict:
    row = EngagementSettings.objects.order_by("pk").first()
    if row is None:
        return {"status": "idle", "done": 0, "total": 0}
    return {
        "status": row.recompute_status,
        "done": row.recompute_done,
        "total": row.recompute_total,
    }


def all_events_recompute() -> int:
    """Recomputes every event with engagement rows, with progress on the settings row.
    Returns the events recomputed."""
    row = EngagementSettings.objects.order_by("pk").first()
    weights = weights_get()
    event_ids = list(
        ParticipationEngagement.objects.order_by("event_id")
        .values_list("event_id", flat=True)
        .distinct()
    )
    progress = EngagementSettings.objects.filter(pk=row.pk) if row is not None else None
    if progress is not None:
        progress.update(
            recompute_status="running", recompute_total=len(event_ids), recompute_done=0
        )
    for done, event_id in enumerate(event_ids, start=1):
        event_engagement_recompute(event_id, weights=weights)
        if progress is not None:
            progress.update(recompute_done=done)
    contacts_engagement_flush()
    if progress is not None:
        progress.update(recompute_status="idle")
    return len(event_ids)


__all__ = [
    "CONTACT_PROPERTY",
    "all_events_recompute",
    "answers_apply",
    "answers_chunk_apply",
    "answers_clear",
    "answers_report_record",
    "contacts_engagement_flush",
    "contacts_mark_pending",
    "contacts_recompute_engagement",
    "recompute_progress",
    "retrying",
    "event_engagement_recompute",
    "report_unchanged",
    "views_apply",
    "views_window_record",
    "weights_get",
    "weights_set",
]
