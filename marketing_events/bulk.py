"""Set-based reads and writes behind `services.plan_apply`, as plain tuples (no model instances).

Each function has two implementations side by side:

* PostgreSQL: one statement per call, rows passed as a few array parameters
  (`INSERT … SELECT … FROM unnest(%s::bigint[], %s::text[], …) ON CONFLICT … RETURNING …`),
  so the SQL text and the parameter count stay the same whatever the number of rows (no giant
  `VALUES`/`IN (…)` lists to build, quote and split client-side). Upserts skip rows whose values
  did not change (`… DO UPDATE … WHERE (…) IS DISTINCT FROM (…)`), so an unchanged re-sync
  writes nothing.
* Anything else (SQLite in development and tests): the ORM, correct rather than fast.

Both give the same results; `tests/marketing_events/test_bulk.py` checks them against each other.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import namedtuple
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any, NamedTuple

import orjson
from django.db import connection, models, transaction

from crm.db import bound_cursor, pg_fetch
from crm.models import Contact, TimelineEvent

from .models import (
    AttendanceSession,
    EventOccurrence,
    OccurrenceAttendance,
    Participation,
)

# Participation columns plan_apply computes (besides contact, event, source, created_at).
PARTICIPATION_FIELDS = (
    "state",
    "registered_at",
    "cancelled_at",
    "external_registrant_id",
    "join_url",
    "first_join_at",
    "last_leave_at",
    "duration_seconds",
    "attendance_percent",
    "provisional",
)
# A participation to write: its contact, then the values of PARTICIPATION_FIELDS.
ParticipationRow = namedtuple("ParticipationRow", ("contact_id", *PARTICIPATION_FIELDS))


def on_postgresql() -> bool:
    return connection.vendor == "postgresql"


# -- SQL building (PostgreSQL) -------------------------------------------------------------------


def _qn(name: str) -> str:
    return connection.ops.quote_name(name)


def _table(model: type[models.Model]) -> str:
    return _qn(model._meta.db_table)


def _array_type(field: models.Field) -> str:
    # JSON travels as text and is cast per element (a list of dicts is no array parameter).
    return "text" if isinstance(field, models.JSONField) else field.db_type(connection)


def _inserted_fields(model: type[models.Model]) -> list[models.Field]:
    # Neither an automatic primary key nor a column the database computes (the contact's
    # e-mail domain); a primary key that is a foreign key is written like any column.
    return [f for f in model._meta.concrete_fields if not (f.db_returning or f.generated)]


@cache
def _insert_parts(
    model: type[models.Model], varying: tuple[str, ...], folded: frozenset[str]
) -> tuple[str, str, str]:
    """(column list, `unnest(…) AS v(…)`, select list) for
    `INSERT INTO t (columns) SELECT select_list FROM unnest(…) AS v(…)`: varying columns come
    from the arrays, every other one from a parameter (see `_insert_select`)."""
    fields = {f.attname: f for f in _inserted_fields(model)}
    columns, selects = [], []
    for name, field in fields.items():
        columns.append(_qn(field.column))
        json = isinstance(field, models.JSONField)
        if name in varying:
            selects.append(f"v.{_qn(name)}" + ("::jsonb" if json else ""))
        elif name in folded and json:
            selects.append("%s::text::jsonb")  # encoded by the caller, as its array would be
        else:
            selects.append(f"%s::{field.db_type(connection)}")
    unnest = (
        "unnest("
        + ", ".join(f"%b::{_array_type(fields[name])}[]" for name in varying)
        + ") AS v("
        + ", ".join(_qn(name) for name in varying)
        + ")"
    )
    return ", ".join(columns), unnest, ", ".join(selects)


def _insert_select(
    model: type[models.Model],
    rows: dict[str, list],
    constants: dict[str, object],
) -> tuple[str, list]:
    """`INSERT INTO t (…) SELECT … FROM unnest(…) AS v(…)` and its parameters: `rows` maps
    column attnames to equally long lists, `constants` maps attnames to one value for all rows;
    the other columns get their model default, as with the ORM's inserts.

    A list whose values are all equal travels as one parameter instead of an array (a page's
    rows share their state, occurrence, timeline kind…): less to encode here, less to unnest
    there."""
    varying, folded = [], {}
    for name, values in rows.items():
        if len(values) > 1 and values.count(values[0]) == len(values):
            folded[name] = values[0]
        else:
            varying.append(name)
    if not varying:  # one array gives the number of rows
        name = next(iter(rows))
        varying.append(name)
        del folded[name]
    columns, unnest, selects = _insert_parts(model, tuple(varying), frozenset(folded))
    params: list = []  # the select list's constants come first, then the arrays
    for field in _inserted_fields(model):
        if field.attname in varying:
            continue
        if field.attname in folded:
            params.append(folded[field.attname])  # as its array's elements would be
            continue
        value = constants[field.attname] if field.attname in constants else field.get_default()
        params.append(field.get_db_prep_save(value, connection))
    params.extend(rows[name] for name in varying)
    sql = f"INSERT INTO {_table(model)} ({columns}) SELECT {selects} FROM {unnest}"
    return sql, params


_cursor = bound_cursor
_fetch = pg_fetch


def _execute(sql: str, params: Sequence) -> None:
    with _cursor() as cursor:
        cursor.execute(sql, params)


# -- contacts ------------------------------------------------------------------------------------


def live_contacts_sql(columns: str, emails: str) -> str:
    """`SELECT columns FROM` the live contacts whose e-mails the text array `emails` (a
    parameter placeholder) lists; `columns` name `c.id`, `c.email`, `c.first_name`,
    `c.last_name`.

    One probe of `contact_email_idx` per e-mail, whatever the table's statistics say. A plain
    `email = ANY(…) AND archived_at IS NULL` leaves the plan to them: without any (a new
    database; a first sync creating the contacts, before autovacuum's ANALYZE) the planner
    takes `archived_at IS NULL` for 0.5 % of the rows and reads every live contact through the
    partial e-mail-domain index, each filtered against the whole array: milliseconds per page,
    growing with the table. The lateral subquery names no `archived_at` (OFFSET 0 keeps the
    outer filter out of it), so no partial index applies, and its equality on `email` has one
    sensible path."""
    return (
        f"SELECT {columns} FROM unnest({emails}::text[]) AS w(email) CROSS JOIN LATERAL ("
        "SELECT x.id, x.email, x.first_name, x.last_name, x.archived_at "
        f"FROM {_table(Contact)} x WHERE x.email = w.email OFFSET 0) AS c "
        "WHERE c.archived_at IS NULL"
    )


@dataclass(frozen=True)
class ContactRow:
    email: str
    first_name: str = ""
    last_name: str = ""
    # What it is created with besides (rule E2's mapped answers, validated by the caller):
    # Contact columns by attname, and custom properties for `Contact.properties`.
    columns: Mapping[str, str] = dataclasses.field(default_factory=dict)
    properties: Mapping[str, str] = dataclasses.field(default_factory=dict)


def contacts_ensure(
    emails: Collection[str],
    new: Sequence[ContactRow],
    now: dt.datetime,
    *,
    created_entry: tuple[str, dict] | None = None,
) -> tuple[dict[str, int], list[int]]:
    """Creates the `new` contacts that do not exist yet (live, by e-mail) and returns the ids of
    the live contacts with these e-mails (`new` ones included), and the ids just created.
    `created_entry` (kind, data): the timeline entry each created contact gets (dedupe key
    `created:<id>`), in the same statement on PostgreSQL: one statement in all, so that it
    needs no transaction of its own."""
    wanted = set(emails) | {c.email for c in new}
    if not wanted:
        return {}, []
    if not on_postgresql():
        with transaction.atomic(savepoint=False):
            return _contacts_ensure_orm(wanted, new, now, created_entry)
    # In e-mail order: transactions inserting overlapping sets of new addresses at once
    # (webinars applied side by side) wait for each other in one order, never in a cycle.
    new = sorted({c.email: c for c in new}.values(), key=lambda c: c.email)
    existing = live_contacts_sql("c.id, c.email, false", "%b")
    if not new:
        rows = _fetch(existing, [sorted(wanted)])
    else:
        insert, params = _insert_select(
            Contact, _new_contact_columns(new), {"created_at": now, "updated_at": now}
        )
        entries = ""
        if created_entry is not None:
            kind, data = created_entry
            timeline = _table(TimelineEvent)
            entries = (
                f", entries AS (INSERT INTO {timeline} (contact_id, kind, occurred_at, data, "
                "dedupe_key, actor_id, created_at) SELECT id, %s::text, %s::timestamptz, "
                "%s::text::jsonb, 'created:' || id, NULL, %s::timestamptz FROM ins "
                "ON CONFLICT (dedupe_key) DO NOTHING)"
            )
            params += [kind, now, _json_text(data), now]
        # The outer SELECT sees the table as it was before the INSERT: new rows come from
        # RETURNING.
        rows = _fetch(
            f"WITH ins AS ({insert} ON CONFLICT DO NOTHING RETURNING id, email){entries} "
            f"SELECT id, email, true FROM ins UNION ALL {existing}",
            [*params, sorted(wanted)],
        )
    ids = {email: pk for pk, email, _created in rows}
    created = [pk for pk, _email, was_created in rows if was_created]
    late = [c.email for c in new if c.email not in ids]
    if late:  # created by a concurrent transaction after this statement's snapshot
        ids.update(
            Contact.objects.filter(email__in=late, archived_at__isnull=True).values_list(
                "email", "pk"
            )
        )
    return ids, created


def _new_contact_columns(new: Sequence[ContactRow]) -> dict[str, list]:
    """The columns of new contacts' rows for `_insert_select`: names, e-mail and the values
    they are created with (a contact created holding its mapped answers is not written a
    second time to set them: a first sync created 3,750 contacts and then updated each,
    every update writing all eleven of the contact's indexes, its trigram one included)."""
    columns = {
        "email": [c.email for c in new],
        "first_name": [c.first_name for c in new],
        "last_name": [c.last_name for c in new],
    }
    for name in sorted({name for c in new for name in c.columns}):
        default = Contact._meta.get_field(name).get_default()
        columns[name] = [c.columns.get(name, default) for c in new]
    if any(c.properties for c in new):
        columns["properties"] = [_json_text(dict(c.properties)) for c in new]
    return columns


def _contacts_ensure_orm(wanted, new, now, created_entry):
    existing = set(
        Contact.objects.filter(email__in=wanted, archived_at__isnull=True).values_list(
            "email", flat=True
        )
    )
    fresh = {c.email: c for c in new if c.email not in existing}
    if fresh:
        Contact.objects.bulk_create(
            [
                Contact(
                    email=c.email,
                    first_name=c.first_name,
                    last_name=c.last_name,
                    **c.columns,
                    properties=dict(c.properties),
                    created_at=now,
                    updated_at=now,
                )
                for c in fresh.values()
            ],
            ignore_conflicts=True,
        )
    ids = dict(
        Contact.objects.filter(email__in=wanted, archived_at__isnull=True).values_list(
            "email", "pk"
        )
    )
    created = [ids[e] for e in fresh if e in ids]
    if created_entry is not None:
        kind, data = created_entry
        timeline_upsert([(pk, kind, now, data, f"created:{pk}") for pk in created])
    return ids, created


# -- occurrences ---------------------------------------------------------------------------------


class OccurrenceRow(NamedTuple):
    """An occurrence to write, by its external key."""

    key: str
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None


class Occurrence(NamedTuple):
    """A stored occurrence."""

    id: int
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None


def occurrences_upsert(
    event_id: int,
    occurrences: Sequence[OccurrenceRow],
    keys: Collection[str],
) -> dict[str, Occurrence]:
    """Upserts (external id, starts, ends) of the event and returns id, starts and ends of these
    and of the other occurrences named in `keys` that exist."""
    occurrences = list({key: (key, s, e) for key, s, e in occurrences}.values())
    wanted = sorted(set(keys) | {key for key, _s, _e in occurrences})
    if not wanted:
        return {}
    if not on_postgresql():
        if occurrences:
            EventOccurrence.objects.bulk_create(
                [
                    EventOccurrence(event_id=event_id, external_id=k, starts_at=s, ends_at=e)
                    for k, s, e in occurrences
                ],
                update_conflicts=True,
                unique_fields=["event", "external_id"],
                update_fields=["starts_at", "ends_at"],
            )
        return {
            key: Occurrence(pk, starts, ends)
            for pk, key, starts, ends in EventOccurrence.objects.filter(
                event_id=event_id, external_id__in=wanted
            ).values_list("pk", "external_id", "starts_at", "ends_at")
        }
    insert, params = _insert_select(
        EventOccurrence,
        {
            "external_id": [k for k, _s, _e in occurrences],
            "starts_at": [s for _k, s, _e in occurrences],
            "ends_at": [e for _k, _s, e in occurrences],
        },
        {"event_id": event_id},
    )
    table = _table(EventOccurrence)
    rows = _fetch(
        f"WITH up AS ({insert} ON CONFLICT (event_id, external_id) DO UPDATE "
        "SET starts_at = EXCLUDED.starts_at, ends_at = EXCLUDED.ends_at "
        f"WHERE ({table}.starts_at, {table}.ends_at) "
        "IS DISTINCT FROM (EXCLUDED.starts_at, EXCLUDED.ends_at) "
        "RETURNING id, external_id, starts_at, ends_at) "
        "SELECT id, external_id, starts_at, ends_at FROM up UNION ALL "
        f"SELECT id, external_id, starts_at, ends_at FROM {table} "
        "WHERE event_id = %s AND external_id = ANY(%b::text[]) "
        "AND id NOT IN (SELECT id FROM up)",
        [*params, event_id, wanted],
    )
    found = {key: Occurrence(pk, starts, ends) for pk, key, starts, ends in rows}
    if late := [key for key in wanted if key not in found]:
        # Inserted by a concurrent transaction (another page of the same instance) that
        # committed while this statement waited on it: this statement's snapshot does not
        # show that row and, unchanged, the upsert did not return it. A new statement does.
        found.update(
            (key, Occurrence(pk, starts, ends))
            for pk, key, starts, ends in _fetch(
                f"SELECT id, external_id, starts_at, ends_at FROM {table} "
                "WHERE event_id = %s AND external_id = ANY(%b::text[])",
                [event_id, late],
            )
        )
    return found


# -- participations ------------------------------------------------------------------------------


def participations_fetch(event_id: int, contact_ids: Collection[int]) -> list[tuple]:
    """(id, contact_id, *PARTICIPATION_FIELDS) of the event's participations of these contacts,
    locked until the caller's transaction ends (PostgreSQL): another writer of the same
    participations (a webhook, the API, another sync) waits, then reads what this one wrote,
    so neither overwrites the other's facts."""
    if not contact_ids:
        return []
    if not on_postgresql():
        return list(
            Participation.objects.filter(event_id=event_id, contact_id__in=contact_ids)
            .order_by()
            .values_list("pk", "contact_id", *PARTICIPATION_FIELDS)
        )
    # One probe of the (contact, event) key per contact, in contact order (as every writer of
    # them locks them: no two deadlock on them), whatever the statistics say. A plain
    # `contact_id = ANY(…)` let a plan made while the table was young (no statistics; a
    # prepared statement's generic plan keeps it) read the event's every participation and
    # test each against the whole array: 7-10 ms a page instead of 1 (auto_explain, first
    # sync of bench/sync_bench.py).
    columns = ", ".join(f"p.{name}" for name in ("id", "contact_id", *PARTICIPATION_FIELDS))
    return _fetch(
        f"SELECT {columns} FROM unnest(%b::bigint[]) AS w(contact_id) CROSS JOIN LATERAL ("
        f"SELECT * FROM {_table(Participation)} x "
        "WHERE x.contact_id = w.contact_id AND x.event_id = %s FOR NO KEY UPDATE) AS p",
        [sorted(contact_ids), event_id],
    )


def participations_upsert(
    event_id: int,
    rows: Sequence[ParticipationRow],
    now: dt.datetime,
    *,
    new: Collection[int] = (),
) -> dict[int, int]:
    """Writes (contact_id, *PARTICIPATION_FIELDS) rows of the event, by the (contact, event)
    key: new ones created (`created_at` = `now`), existing ones updated (`updated_at` = `now`).
    Returns {contact_id: participation id} of the rows written.

    `new`: the contacts whose participation the caller found missing. On PostgreSQL one that
    another transaction created since is left alone (neither it nor its timeline rows are
    written, and it is missing from the result), for the caller to merge its facts into it."""
    if not rows:
        return {}
    if not on_postgresql():
        Participation.objects.bulk_create(
            [
                Participation(
                    contact_id=row[0],
                    event_id=event_id,
                    created_at=now,
                    updated_at=now,
                    **dict(zip(PARTICIPATION_FIELDS, row[1:], strict=True)),
                )
                for row in rows
            ],
            update_conflicts=True,
            unique_fields=["contact", "event"],
            update_fields=[*PARTICIPATION_FIELDS, "updated_at"],
        )
        return dict(
            Participation.objects.filter(
                event_id=event_id, contact_id__in=[row[0] for row in rows]
            ).values_list("contact_id", "pk")
        )
    new = set(new)
    assignments = ", ".join(
        f"{name} = EXCLUDED.{name}" for name in (*PARTICIPATION_FIELDS, "updated_at")
    )
    parts, params = [], []
    for name, group, conflict in (
        ("created", [r for r in rows if r[0] in new], "DO NOTHING"),
        ("updated", [r for r in rows if r[0] not in new], f"DO UPDATE SET {assignments}"),
    ):
        if not group:
            continue
        columns = list(zip(*group, strict=True))
        insert, insert_params = _insert_select(
            Participation,
            dict(zip(("contact_id", *PARTICIPATION_FIELDS), map(list, columns), strict=True)),
            {"event_id": event_id, "created_at": now, "updated_at": now},
        )
        parts.append(
            f"{name} AS ({insert} ON CONFLICT (contact_id, event_id) {conflict} "
            "RETURNING contact_id, id)"
        )
        params += insert_params
    written = " UNION ALL ".join(f"SELECT contact_id, id FROM {p.split(' ', 1)[0]}" for p in parts)
    return dict(_fetch(f"WITH {', '.join(parts)} {written}", params))


# -- sessions and attendance ---------------------------------------------------------------------


class SessionRow(NamedTuple):
    """A raw join/leave session to write, by its natural key (the first four)."""

    participation_id: int
    occurrence_id: int
    external_participant_id: str
    join_at: dt.datetime
    leave_at: dt.datetime | None
    name: str
    email: str


class StoredSession(NamedTuple):
    """A stored session, with its occurrence's start and end."""

    participation_id: int
    occurrence_id: int
    external_participant_id: str
    join_at: dt.datetime
    leave_at: dt.datetime | None
    name: str
    email: str
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None


class AttendanceRow(NamedTuple):
    """A participation's attendance of one occurrence."""

    participation_id: int
    occurrence_id: int
    first_join_at: dt.datetime
    last_leave_at: dt.datetime | None
    duration_seconds: int
    attendance_percent: Decimal | None


class TimelineRow(NamedTuple):
    contact_id: int
    kind: str
    occurred_at: dt.datetime
    data: dict[str, Any]
    dedupe_key: str


def sessions_of(participation_ids: Collection[int]) -> list[StoredSession]:
    """Every raw session of these participations, with its occurrence's start and end."""
    if not participation_ids:
        return []
    if not on_postgresql():
        return [
            StoredSession(*row)
            for row in AttendanceSession.objects.filter(participation_id__in=participation_ids)
            .order_by()
            .values_list(
                "participation_id",
                "occurrence_id",
                "external_participant_id",
                "join_at",
                "leave_at",
                "name",
                "email",
                "occurrence__starts_at",
                "occurrence__ends_at",
            )
        ]
    rows = _fetch(
        "SELECT s.participation_id, s.occurrence_id, s.external_participant_id, s.join_at, "
        "s.leave_at, s.name, s.email, o.starts_at, o.ends_at "
        f"FROM {_table(AttendanceSession)} s JOIN {_table(EventOccurrence)} o "
        "ON o.id = s.occurrence_id WHERE s.participation_id = ANY(%b::bigint[])",
        [sorted(participation_ids)],
    )
    return [StoredSession(*row) for row in rows]


def sessions_upsert(rows: Sequence[SessionRow]) -> None:
    """Writes (participation_id, occurrence_id, external_participant_id, join_at, leave_at,
    name, email) rows by their natural key (the first four)."""
    if not rows:
        return
    if not on_postgresql():
        AttendanceSession.objects.bulk_create(
            [
                AttendanceSession(
                    participation_id=p,
                    occurrence_id=o,
                    external_participant_id=x,
                    join_at=j,
                    leave_at=leave,
                    name=n,
                    email=e,
                )
                for p, o, x, j, leave, n, e in rows
            ],
            update_conflicts=True,
            unique_fields=["occurrence", "participation", "external_participant_id", "join_at"],
            update_fields=["leave_at", "name", "email"],
        )
        return
    names = (
        "participation_id",
        "occurrence_id",
        "external_participant_id",
        "join_at",
        "leave_at",
        "name",
        "email",
    )
    insert, params = _insert_select(
        AttendanceSession, dict(zip(names, map(list, zip(*rows, strict=True)), strict=True)), {}
    )
    table = _table(AttendanceSession)
    _execute(
        f"{insert} ON CONFLICT (occurrence_id, participation_id, external_participant_id, "
        "join_at) DO UPDATE SET leave_at = EXCLUDED.leave_at, name = EXCLUDED.name, "
        f"email = EXCLUDED.email WHERE ({table}.leave_at, {table}.name, {table}.email) "
        "IS DISTINCT FROM (EXCLUDED.leave_at, EXCLUDED.name, EXCLUDED.email)",
        params,
    )


ATTENDANCE_FIELDS = ("first_join_at", "last_leave_at", "duration_seconds", "attendance_percent")


def attendance_upsert(rows: Sequence[AttendanceRow]) -> None:
    """Writes (participation_id, occurrence_id, first_join_at, last_leave_at, duration_seconds,
    attendance_percent) rows by (participation, occurrence); unchanged rows are not written."""
    if not rows:
        return
    names = ("participation_id", "occurrence_id", *ATTENDANCE_FIELDS)
    rows_insert(
        OccurrenceAttendance,
        dict(zip(names, map(list, zip(*rows, strict=True)), strict=True)),
        unique=("participation_id", "occurrence_id"),
        update=ATTENDANCE_FIELDS,
    )


# -- any table ----------------------------------------------------------------------------------


def rows_insert(
    model: type[models.Model],
    rows: Mapping[str, list],
    constants: Mapping[str, object] | None = None,
    *,
    unique: Sequence[str] = (),
    update: Sequence[str] = (),
) -> None:
    """Inserts rows given as columns (`rows` maps attnames to equally long lists; `constants`
    one value for every row; other columns take their model default) in one statement. With
    `unique` (the attnames of a unique constraint), an existing row takes the `update` columns,
    and only where one of them changed. Values are what the model field stores (`JSONField`:
    any JSON value; it is encoded here)."""
    constants = dict(constants or {})
    count = len(next(iter(rows.values()), []))
    if not count:
        return
    fields = {f.attname: f for f in model._meta.concrete_fields}
    if not on_postgresql():
        objects = [
            model(**constants, **{name: values[i] for name, values in rows.items()})
            for i in range(count)
        ]
        if unique:
            model.objects.bulk_create(
                objects,
                update_conflicts=True,
                unique_fields=[fields[name].name for name in unique],
                update_fields=[fields[name].name for name in update],
                batch_size=1000,
            )
        else:
            model.objects.bulk_create(objects, batch_size=1000)
        return
    encoded = {
        name: [_json_text(v) for v in values]
        if isinstance(fields[name], models.JSONField)
        else list(values)
        for name, values in rows.items()
    }
    insert, params = _insert_select(model, encoded, constants)
    if unique:
        table = _table(model)
        columns = [_qn(fields[name].column) for name in update]
        insert += (
            f" ON CONFLICT ({', '.join(_qn(fields[n].column) for n in unique)}) DO UPDATE SET "
            + ", ".join(f"{c} = EXCLUDED.{c}" for c in columns)
            + " WHERE ("
            + ", ".join(f"{table}.{c}" for c in columns)
            + ") IS DISTINCT FROM ("
            + ", ".join(f"EXCLUDED.{c}" for c in columns)
            + ")"
        )
    _execute(insert, params)


# -- timeline ------------------------------------------------------------------------------------


def _json_default(value):
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


_JSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


def _json_text(value) -> str:
    """JSON text for a jsonb column: the value `json.dumps` would give (times by `isoformat`), in a
    fraction of the time: an attendee's timeline entry has data of its own."""
    return orjson.dumps(value, default=_json_default, option=_JSON_OPTIONS).decode()


def timeline_upsert(rows: Iterable[TimelineRow]) -> None:
    """Writes (contact_id, kind, occurred_at, data, dedupe_key) timeline rows, idempotent by
    dedupe key (an existing entry takes the new kind, moment and data; unchanged ones are not
    written)."""
    rows = list({row[4]: row for row in rows}.values())
    if not rows:
        return
    if not on_postgresql():
        TimelineEvent.objects.bulk_create(
            [
                TimelineEvent(contact_id=c, kind=k, occurred_at=o, data=d, dedupe_key=key)
                for c, k, o, d, key in rows
            ],
            update_conflicts=True,
            unique_fields=["dedupe_key"],
            update_fields=["occurred_at", "data", "kind"],
        )
        return
    _execute(*_timeline_statement(rows))


def _timeline_statement(rows: list[tuple]) -> tuple[str, list]:
    """The PostgreSQL upsert of `timeline_upsert` (rows deduplicated, not empty)."""
    now = dt.datetime.now(dt.UTC)
    encoded: dict[int, str] = {}  # most rows of a page share one data dict: encoded once
    for row in rows:
        if id(row[3]) not in encoded:
            encoded[id(row[3])] = _json_text(row[3])
    insert, params = _insert_select(
        TimelineEvent,
        {
            "contact_id": [r[0] for r in rows],
            "kind": [r[1] for r in rows],
            "occurred_at": [r[2] for r in rows],
            "data": [encoded[id(r[3])] for r in rows],
            "dedupe_key": [r[4] for r in rows],
        },
        {"created_at": now},
    )
    table = _table(TimelineEvent)
    return (
        f"{insert} ON CONFLICT (dedupe_key) DO UPDATE SET occurred_at = EXCLUDED.occurred_at, "
        f"data = EXCLUDED.data, kind = EXCLUDED.kind WHERE ({table}.occurred_at, {table}.data, "
        f"{table}.kind) IS DISTINCT FROM (EXCLUDED.occurred_at, EXCLUDED.data, EXCLUDED.kind)",
        params,
    )


__all__ = [
    "ATTENDANCE_FIELDS",
    "PARTICIPATION_FIELDS",
    "AttendanceRow",
    "ContactRow",
    "Occurrence",
    "OccurrenceRow",
    "ParticipationRow",
    "SessionRow",
    "StoredSession",
    "TimelineRow",
    "attendance_upsert",
    "contacts_ensure",
    "live_contacts_sql",
    "occurrences_upsert",
    "on_postgresql",
    "participations_fetch",
    "participations_upsert",
    "pg_fetch",
    "rows_insert",
    "sessions_of",
    "sessions_upsert",
    "timeline_upsert",
]
