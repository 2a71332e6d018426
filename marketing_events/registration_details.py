"""Writes a plan's registration details (rules E1, E4, E5) in one set-based statement.

Called by `services.plan_apply` once the page's participations have ids. A fact that says
nothing (a cancellation carries only the person) leaves the stored details alone; answers are
replaced by the latest registration's; the source, UTM and referrer are kept once known unless a
later registration brings its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import NamedTuple

import orjson
from django.db import connection

from crm.db import pg_fetch

from .models import Participation
from .models_registration import RegistrationDetails
from .plan import RegistrationFact


class DetailsRow(NamedTuple):
    participation_id: int
    answers: dict[str, str | list[str]]
    source_id: str
    source_name: str
    utm: dict[str, str]
    referrer: str


def details_rows(
    facts: Iterable[RegistrationFact], participation_of: Mapping[str, int | None]
) -> list[DetailsRow]:
    """One row per participation (the last fact about it wins), only for facts that say
    something. `participation_of` maps a fact's e-mail to its participation id."""
    rows: dict[int, DetailsRow] = {}
    for fact in facts:
        if not (fact.answers or fact.source_id or fact.utm or fact.referrer):
            continue
        participation_id = participation_of.get(fact.email)
        if participation_id is None:
            continue
        rows[participation_id] = DetailsRow(
            participation_id,
            {q: list(v) if isinstance(v, tuple) else v for q, v in fact.answers},
            fact.source_id[:100],
            fact.source_name[:200],
            dict(fact.utm),
            fact.referrer[:1000],
        )
    return list(rows.values())


def details_upsert(event_id: int, rows: list[DetailsRow], now: dt.datetime) -> None:
    if not rows:
        return
    if connection.vendor != "postgresql":
        _details_upsert_orm(event_id, rows, now)
        return
    table = connection.ops.quote_name(RegistrationDetails._meta.db_table)
    sql = f"""
        INSERT INTO {table} AS t
            (participation_id, event_id, answers, source_id, source_name, utm, referrer,
             updated_at)
        SELECT v.p, %s, v.a::jsonb, v.s, v.n, v.u::jsonb, v.r, %s
        FROM unnest(%b::bigint[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[])
            AS v(p, a, s, n, u, r)
        ON CONFLICT (participation_id) DO UPDATE SET
            answers = CASE WHEN EXCLUDED.answers = '{{}}'::jsonb THEN t.answers
                           ELSE EXCLUDED.answers END,
            source_id = CASE WHEN EXCLUDED.source_id = '' THEN t.source_id
                             ELSE EXCLUDED.source_id END,
            source_name = CASE WHEN EXCLUDED.source_id = '' THEN t.source_name
                               ELSE EXCLUDED.source_name END,
            utm = CASE WHEN EXCLUDED.utm = '{{}}'::jsonb THEN t.utm ELSE EXCLUDED.utm END,
            referrer = CASE WHEN EXCLUDED.referrer = '' THEN t.referrer
                            ELSE EXCLUDED.referrer END,
            updated_at = EXCLUDED.updated_at
        WHERE (t.answers, t.source_id, t.source_name, t.utm, t.referrer) IS DISTINCT FROM (
            CASE WHEN EXCLUDED.answers = '{{}}'::jsonb THEN t.answers ELSE EXCLUDED.answers END,
            CASE WHEN EXCLUDED.source_id = '' THEN t.source_id ELSE EXCLUDED.source_id END,
            CASE WHEN EXCLUDED.source_id = '' THEN t.source_name ELSE EXCLUDED.source_name END,
            CASE WHEN EXCLUDED.utm = '{{}}'::jsonb THEN t.utm ELSE EXCLUDED.utm END,
            CASE WHEN EXCLUDED.referrer = '' THEN t.referrer ELSE EXCLUDED.referrer END)
    """
    params = [
        event_id,
        now,
        [r.participation_id for r in rows],
        [orjson.dumps(r.answers).decode() for r in rows],
        [r.source_id for r in rows],
        [r.source_name for r in rows],
        [orjson.dumps(r.utm).decode() for r in rows],
        [r.referrer for r in rows],
    ]
    pg_fetch(sql, params)  # arrays bound server-side (see `crm.db.bound_cursor`)


def sources_write(
    event_id: int, registrant_ids: Iterable[str], source_id: str, source_name: str, now
) -> int:
    """Rule E4 from a source's list of registrants (Zoom's `tracking_source_id` filter): the
    event's participations of these registrants get that source, their other details kept
    (`details_upsert`'s merge). Returns the participations found; two statements."""
    wanted = sorted({r for r in registrant_ids if r})
    if not wanted:
        return 0
    participations = list(
        Participation.objects.filter(event_id=event_id, external_registrant_id__in=wanted)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    details_upsert(
        event_id,
        [DetailsRow(pk, {}, source_id[:100], source_name[:200], {}, "") for pk in participations],
        now,
    )
    return len(participations)


def _details_upsert_orm(event_id: int, rows: list[DetailsRow], now: dt.datetime) -> None:
    """The same merge with the ORM (SQLite): one read and one bulk upsert."""
    stored = RegistrationDetails.objects.in_bulk([r.participation_id for r in rows])
    objects = []
    for row in rows:
        old = stored.get(row.participation_id)
        objects.append(
            RegistrationDetails(
                participation_id=row.participation_id,
                event_id=event_id,
                answers=row.answers or (old.answers if old else {}),
                source_id=row.source_id or (old.source_id if old else ""),
                source_name=(row.source_name if row.source_id else old.source_name if old else ""),
                utm=row.utm or (old.utm if old else {}),
                referrer=row.referrer or (old.referrer if old else ""),
                updated_at=now,
            )
        )
    RegistrationDetails.objects.bulk_create(
        objects,
        update_conflicts=True,
        unique_fields=["participation"],
        update_fields=["answers", "source_id", "source_name", "utm", "referrer", "updated_at"],
    )
