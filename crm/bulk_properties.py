"""Set-based writes of contact properties from many contacts at once (rule E2: registration
answers mapped to properties, applied by the sync, webhooks and the "apply to past answers"
task). One statement per call on PostgreSQL, whatever the number of contacts; contacts whose
values would not change are not written.

A write with `overwrite` False fills only an empty value (policy `fill_empty`). Values must be
validated by the caller (`crm.properties.clean_value` and the column's length).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import NamedTuple

import orjson
from django.db import connection

from .db import local_settings, pg_fetch
from .models import Contact
from .properties import STANDARD_BY_NAME


class ContactPropertyWrite(NamedTuple):
    """`column`: the Contact column of a standard property, None for one kept in
    `Contact.properties`."""

    contact_id: int
    name: str
    column: str | None
    value: str
    overwrite: bool


def contacts_write_properties(writes: Iterable[ContactPropertyWrite], now: dt.datetime) -> set:
    """Writes the properties; returns the ids of the contacts whose values changed (PostgreSQL)
    or were written (elsewhere). The last write of a (contact, property) wins."""
    per_contact: dict[int, dict[str, ContactPropertyWrite]] = defaultdict(dict)
    for write in writes:
        per_contact[write.contact_id][write.name] = write
    if not per_contact:
        return set()
    if connection.vendor != "postgresql":
        return _write_orm(per_contact, now)
    _drop_unchanged(per_contact)
    if not per_contact:
        return set()
    ids = sorted(per_contact)
    columns = sorted(
        {w.column for props in per_contact.values() for w in props.values() if w.column}
    )
    qn = connection.ops.quote_name
    arrays, names, params = [], [], []
    for index, column in enumerate(columns):
        values, overwrite = [], []
        for contact_id in ids:
            write = next((w for w in per_contact[contact_id].values() if w.column == column), None)
            values.append(write.value if write else None)
            overwrite.append(bool(write and write.overwrite))
        arrays += ["%b::text[]", "%b::boolean[]"]
        names += [f"v{index}", f"o{index}"]
        params += [values, overwrite]
    fill, over = [], []
    for contact_id in ids:
        custom = [w for w in per_contact[contact_id].values() if not w.column]
        fill.append(orjson.dumps({w.name: w.value for w in custom if not w.overwrite}).decode())
        over.append(orjson.dumps({w.name: w.value for w in custom if w.overwrite}).decode())
    arrays = ["%b::bigint[]", *arrays, "%b::text[]", "%b::text[]"]
    names = ["id", *names, "fill", "over"]
    params = [ids, *params, fill, over]
    table = qn(Contact._meta.db_table)
    new_columns = [
        f"CASE WHEN v.v{i} IS NULL THEN c.{qn(col)} WHEN v.o{i} OR c.{qn(col)} = '' "
        f"THEN v.v{i} ELSE c.{qn(col)} END AS {qn(col)}"
        for i, col in enumerate(columns)
    ]
    # Custom properties: filled where absent or empty, then the overwrites on top.
    new_properties = (
        "(v.fill::jsonb || (SELECT coalesce(jsonb_object_agg(key, value), '{}'::jsonb) "
        "FROM jsonb_each(c.properties) WHERE value <> '\"\"'::jsonb)) || v.over::jsonb"
    )
    compared = [qn(col) for col in columns] + ["properties"]
    sql = f"""
        WITH v AS (SELECT * FROM unnest({", ".join(arrays)}) AS v({", ".join(names)})),
        n AS (
            SELECT c.id, {", ".join([*new_columns, f"{new_properties} AS properties"])}
            FROM {table} c JOIN v ON v.id = c.id
            ORDER BY c.id FOR NO KEY UPDATE OF c
        )
        UPDATE {table} c SET {", ".join(f"{name} = n.{name}" for name in compared)},
            updated_at = %s
        FROM n WHERE c.id = n.id
          AND ({", ".join(f"c.{n}" for n in compared)})
              IS DISTINCT FROM ({", ".join(f"n.{n}" for n in compared)})
        RETURNING c.id
    """
    # Arrays bound server-side (`bound_cursor`): the default cursor would render each element.
    with index_probes():
        return {row[0] for row in pg_fetch(sql, [*params, now])}


# The planner switches `index_probes` turns off. JIT too: a statement probing per contact is
# estimated at the cost of all its probes (600,000 for 500 contacts), past `jit_above_cost`,
# and compiling it took 200-260 ms where running it takes 25-40 ms (auto_explain, bench-sync).
_PROBES = {
    "enable_seqscan": "off",
    "enable_hashjoin": "off",
    "enable_mergejoin": "off",
    "jit": "off",
}


def index_probes():
    """The statements within find their contacts one primary-key probe each, whatever the
    statistics say (set for them only: `crm.db.local_settings`).

    Why: a prepared statement keeps the generic plan made for its first runs, and in a first
    sync those ran while `crm_contact` was a few pages without statistics: the plan read the
    whole table and hashed it for every page, 5-10 ms a page as the table grew
    (auto_explain on bench/sync_bench.py), against under 1 ms probing 300 ids."""
    return local_settings(_PROBES)


def _drop_unchanged(per_contact: dict[int, dict[str, ContactPropertyWrite]]) -> None:
    """Leaves out the writes that would not change what is stored, read without a lock: the
    UPDATE locks its contacts until the caller's transaction commits, and the sync's workers
    wait on those locks for people they have in common (the same answers, webinar after
    webinar). A write skipped on a value that another transaction changes meanwhile is as if
    it came first."""
    columns = sorted({w.column for props in per_contact.values() for w in props.values()} - {None})
    qn = connection.ops.quote_name
    selected = ", ".join(["id", *(qn(c) for c in columns), "properties"])
    rows = pg_fetch(
        f"SELECT {selected} FROM {qn(Contact._meta.db_table)} WHERE id = ANY(%b::bigint[])",
        [sorted(per_contact)],
    )
    for contact_id, *values, properties in rows:
        stored = dict(zip(columns, values, strict=True))
        if isinstance(properties, str | bytes):  # text results: Django's jsonb loader
            properties = orjson.loads(properties)
        properties = properties or {}
        writes = per_contact[contact_id]
        for name, write in list(writes.items()):
            current = stored[write.column] if write.column else properties.get(write.name)
            if write.overwrite or current in ("", None):
                if current != write.value:
                    continue
            del writes[name]
        if not writes:
            del per_contact[contact_id]


def _write_orm(per_contact, now) -> set:
    contacts = Contact.objects.in_bulk(list(per_contact))
    changed = []
    fields = {"properties", "updated_at"}
    for contact_id, props in per_contact.items():
        contact = contacts.get(contact_id)
        if contact is None:
            continue
        before = _values(contact)
        properties = dict(contact.properties or {})
        for write in props.values():
            if write.column:
                current = getattr(contact, write.column)
                if write.overwrite or current == "":
                    setattr(contact, write.column, write.value)
                    fields.add(write.column)
            elif write.overwrite or properties.get(write.name, "") == "":
                properties[write.name] = write.value
        contact.properties = properties
        if _values(contact) != before:
            contact.updated_at = now
            changed.append(contact)
    if changed:
        Contact.objects.bulk_update(changed, sorted(fields))
    return {c.pk for c in changed}


def _values(contact) -> tuple:
    columns = sorted({s.column for s in STANDARD_BY_NAME.values() if s.column})
    return (*(getattr(contact, c) for c in columns), orjson.dumps(contact.properties or {}))
