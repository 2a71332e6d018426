"""Database helpers for bulk writes whose cost must not grow with Python-side SQL building."""

from __future__ import annotations

import logging
import struct
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import TypeVar

import orjson
from django.db import OperationalError, models, transaction
from django.db import connection as default_connection
from psycopg import DataError
from psycopg.adapt import Loader
from psycopg.pq import Format
from psycopg.types.array import ListBinaryDumper

logger = logging.getLogger(__name__)
T = TypeVar("T")


def bulk_update_values(
    model: type[models.Model],
    objects: Sequence[models.Model],
    fields: Iterable[str],
    *,
    batch_size: int = 1000,
) -> int:
    """Like `QuerySet.bulk_update`, but on PostgreSQL as one
    `UPDATE … FROM (VALUES …)` per batch instead of a `CASE WHEN` per field and row, which
    costs seconds for a few hundred rows. Other databases use Django's own."""
    fields = list(fields)
    if not objects:
        return 0
    connection = default_connection
    if connection.vendor != "postgresql":
        return model.objects.bulk_update(objects, fields, batch_size=batch_size)
    meta = model._meta
    pk = meta.pk
    columns = [meta.get_field(name) for name in fields]
    table = connection.ops.quote_name(meta.db_table)
    total = 0
    with connection.cursor() as cursor:
        for start in range(0, len(objects), batch_size):
            batch = objects[start : start + batch_size]
            casts = [f"%s::{pk.db_type(connection)}"] + [
                f"%s::{field.db_type(connection)}" for field in columns
            ]
            row = "(" + ", ".join(casts) + ")"
            params: list = []
            for obj in batch:
                params.append(pk.get_db_prep_value(obj.pk, connection))
                for field in columns:
                    params.append(field.get_db_prep_save(getattr(obj, field.attname), connection))
            names = ", ".join(["id_"] + [f"c{i}" for i in range(len(columns))])
            assignments = ", ".join(
                f"{connection.ops.quote_name(field.column)} = v.c{i}"
                for i, field in enumerate(columns)
            )
            sql = (
                f"UPDATE {table} SET {assignments} FROM (VALUES "
                + ", ".join([row] * len(batch))
                + f") AS v({names}) WHERE {table}.{connection.ops.quote_name(pk.column)}"
                " = v.id_"
            )
            cursor.execute(sql, params)
            total += cursor.rowcount
    return total


# PostgreSQL's binary array: dimensions, has-nulls flag, element type, then (size, lower bound)
# of its one dimension; each element is its length and its bytes.
_ARRAY_HEAD = struct.Struct("!iIIii")
_ELEMENT_LENGTH = struct.Struct("!i").pack
# Element types whose values struct packs directly: bigint, integer, smallint.
_INTEGER_CODES = {20: ("q", 8), 23: ("i", 4), 21: ("h", 2)}


# Integers are packed `_BLOCK` at a time: a compiled format costs 64 bytes an element, so one
# per array length held in a cache grew with the arrays' sizes (12 MB at 2,000-row chunks, the
# worker's peak memory growing with webinar size); blocks keep it under a megabyte, for 6 µs
# more per 300 integers.
_BLOCK = 128


@lru_cache(maxsize=3 * _BLOCK)
def _integer_block(code: str, count: int) -> struct.Struct:
    return struct.Struct("!" + ("i" + code) * count)


def _pack_integers(code: str, size: int, values: list) -> bytes:
    """Each integer as its length (`size`) then its bytes, big-endian."""
    pairs = [size] * (2 * len(values))
    pairs[1::2] = values
    step = 2 * _BLOCK
    return b"".join(
        [
            _integer_block(code, min(_BLOCK, len(values) - start // 2)).pack(
                *pairs[start : start + step]
            )
            for start in range(0, len(pairs), step)
        ]
    )


class ArrayDumper(ListBinaryDumper):
    """psycopg's binary list dumper, with the one-dimensional arrays of integers and strings
    without nulls (most of the sync's page parameters) packed in C loops: psycopg's own calls
    its element dumper and appends twice per element in Python, 42-53 µs for 300 elements,
    where integers take 8 µs here and strings 34 µs (2026-12-06). The bytes are the same
    (tested against psycopg's); anything else (nulls, nested lists, other types) is psycopg's
    own path."""

    def dump(self, obj: list):
        sub = self.sub_dumper
        if sub is None or not obj or type(obj[0]) is list:
            return super().dump(obj)
        count, oid = len(obj), sub.oid
        try:
            if oid in _INTEGER_CODES and type(obj[0]) is int:
                body = _pack_integers(*_INTEGER_CODES[oid], obj)
            else:
                utf8 = type(obj[0]) is str and sub.dump("\u00e9") == b"\xc3\xa9"
                items = list(map(str.encode, obj)) if utf8 else list(map(sub.dump, obj))
                parts: list = [None] * (2 * count)
                parts[0::2] = map(_ELEMENT_LENGTH, map(len, items))
                parts[1::2] = items
                body = b"".join(parts)
        except Exception:  # a null among them, or a value the fast way does not take
            return super().dump(obj)
        return _ARRAY_HEAD.pack(1, 0, oid, count, 1) + body


class _JsonBinaryLoader(Loader):
    """Binary `json` results parsed by orjson (the binary format is the text itself)."""

    format = Format.BINARY

    def load(self, data):
        return orjson.loads(data)


class _JsonbBinaryLoader(Loader):
    """Binary `jsonb` results parsed by orjson: a version byte (1), then the text."""

    format = Format.BINARY

    def load(self, data):
        if data[:1] != b"\x01":
            raise DataError(f"unknown jsonb binary format: {bytes(data[:1])!r}")
        return orjson.loads(data[1:])


# The psycopg connections whose binary adapters are this module's (`_binary_adapters`).
_configured: weakref.WeakSet = weakref.WeakSet()


def _binary_adapters(conn) -> None:
    """Registers on a psycopg connection, once, the binary adapters `bound_cursor` uses: the
    array dumper above and orjson for binary JSON results. Django's own cursors bind and read
    text, so they never meet these; registering them per cursor instead copied the
    connection's adapter maps each time (about 3 % of the sync worker's CPU, py-spy)."""
    if conn in _configured:
        return
    conn.adapters.register_dumper(list, ArrayDumper)
    conn.adapters.register_loader("json", _JsonBinaryLoader)
    conn.adapters.register_loader("jsonb", _JsonbBinaryLoader)
    _configured.add(conn)


def bound_cursor():
    """A Django cursor (execute wrappers, query logging, error mapping) over a psycopg cursor
    that binds parameters on the server: an array parameter travels as one value instead of
    being rendered into the SQL text element by element, as the default client-side binding
    cursor does (that quoting costs more than the statements themselves). Arrays go as `%b`
    (binary: no text escaping either), and results come back binary too: psycopg's C loaders
    read them, where text timestamps go through a Python parser (Django's time-zone loader).
    JSON results are parsed by orjson: psycopg's binary jsonb loader calls the standard
    library's `json.loads`, which was a third of this cursor's result reading in a first sync
    (contacts' properties, 45,000 rows; py-spy)."""
    from django.db.backends.postgresql.base import ServerBindingCursor

    default_connection.close_if_health_check_failed()
    default_connection.ensure_connection()
    _binary_adapters(default_connection.connection)
    cursor = ServerBindingCursor(default_connection.connection)
    cursor.format = Format.BINARY  # what `connection.cursor(binary=True)` sets
    # A private API on purpose: Django's public switch (OPTIONS "server_side_binding") binds
    # every query of the site server-side, and the raw psycopg cursor would skip Django's
    # execute wrappers (query counts asserted by the tests, the bench's per-statement times).
    # `_prepare_cursor` wraps this one cursor as `connection.cursor()` wraps its own. The cost it
    # avoids: client-side binding renders each array element into the SQL text. Measured
    # again on 2026-12-06 (this 2-core machine, alternately, 5 runs each): 400 page-shaped
    # statements (eight 300-element arrays: e-mails, ids, timestamps, names) through the
    # public `connection.cursor()` took 6.2-13.9 s of loop time against 0.7-2.4 s here;
    # whole process CPU, this cursor / the public one: median 0.41.
    return default_connection._prepare_cursor(cursor)


@contextmanager
def local_settings(values: Mapping[str, str], *, savepoint: bool = False) -> Iterator[None]:
    """PostgreSQL settings (`set_config(…, true)`) for the statements within only. Within a
    caller's transaction they are set back after those statements (a savepoint would not end
    them); outside one, the transaction this opens ends them. A failure within rolls them
    back with the transaction, or with the savepoint (`savepoint=True`: a caller may catch it,
    a statement timeout say, and go on). PostgreSQL only."""
    names = list(values)
    read = ", ".join(f"current_setting('{name}')" for name in names)
    write = ", ".join(f"set_config('{name}', %s, true)" for name in names)
    nested = default_connection.in_atomic_block
    with transaction.atomic(savepoint=savepoint), default_connection.cursor() as cursor:
        cursor.execute(f"SELECT {read}, {write}", [values[name] for name in names])
        before = list(cursor.fetchone()[: len(names)])
        yield
        if nested:  # else the transaction's end sets them back
            cursor.execute(f"SELECT {write}", before)


def pg_fetch(sql: str, params: Sequence | Mapping) -> list[tuple]:
    """Rows of one PostgreSQL statement (parameters bound server-side)."""
    with bound_cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


# A transaction that lost a deadlock, or a serialization conflict: nothing it did stays, and
# the same work done again succeeds.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


def lost_a_conflict(exc: BaseException) -> bool:
    """Whether a database error is a deadlock or serialization failure (worth a retry)."""
    return getattr(exc.__cause__, "sqlstate", None) in RETRYABLE_SQLSTATES


def atomic_retried(work: Callable[[], T], *, attempts: int = 4, label: str = "") -> T:
    """`work()` in a transaction of its own, run again (after a short pause) when that
    transaction lost a deadlock or a serialization conflict; other errors, and the last
    attempt's, propagate. `work` must be safe to run again: everything it wrote was rolled
    back."""
    for attempt in range(1, attempts + 1):
        try:
            with transaction.atomic():
                return work()
        except OperationalError as exc:
            if attempt == attempts or not lost_a_conflict(exc):
                raise
            logger.info(
                "db.transaction_retried",
                extra={"label": label, "attempt": attempt, "sqlstate": exc.__cause__.sqlstate},
            )
            time.sleep(0.01 * attempt)
    raise AssertionError("unreachable")
