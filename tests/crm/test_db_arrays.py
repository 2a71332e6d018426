"""`crm.db.ArrayDumper`: array parameters of the server-bound cursor packed in C loops, byte
for byte what psycopg's own binary list dumper sends."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from psycopg import DataError
from psycopg.adapt import PyFormat, Transformer
from psycopg.types.array import ListBinaryDumper

from crm.db import ArrayDumper, pg_fetch

NOW = dt.datetime(2026, 12, 6, 17, 30, 12, 345678, tzinfo=dt.UTC)

LISTS = {
    "bigint": [10**10 + i for i in range(300)],
    "integer": [10**9 + i for i in range(300)],
    "smallint": list(range(300)),
    # Integers are packed a block (128) at a time: a whole block, one more, many blocks.
    "one block": list(range(128)),
    "a block and one": [10**10 + i for i in range(129)],
    "many blocks": [10**9 + i for i in range(2000)],
    "negative": [-(2**63), -1, 0, 2**63 - 1],
    "numeric": [2**64, 1],
    "text": [f"person{i}@example.com" for i in range(300)],
    "unicode and empty": ["Åsa Ñúñez", "", "日本語", 'quote " and \\ backslash'],
    "timestamps": [NOW, NOW + dt.timedelta(days=1)],
    "dates": [NOW.date(), dt.date(1999, 12, 31)],
    "booleans": [True, False, True],
    "decimals": [Decimal("12.5"), Decimal("0")],
    "uuids": [uuid.UUID(int=1), uuid.UUID(int=2)],
    "nulls among integers": [1, None, 3],
    "nulls among text": [None, "a", ""],
    "only nulls": [None, None],
    "nested": [[1, 2], [3, 4]],
    "empty": [],
}


def dumped(dumper_class, values):
    dumper = dumper_class(list, Transformer()).upgrade(values, PyFormat.BINARY)
    return bytes(dumper.dump(values))


@pytest.mark.parametrize("values", LISTS.values(), ids=LISTS.keys())
def test_the_same_bytes_as_psycopgs_own(values):
    assert dumped(ArrayDumper, values) == dumped(ListBinaryDumper, values)


def test_the_fast_ways_are_taken_for_integers_and_text():
    # Not psycopg's path: its element loop is never entered for these.
    calls = []

    class Watched(ArrayDumper):
        def _dump_list(self, *args):
            calls.append(args[0])
            return super()._dump_list(*args)

    dumped(Watched, LISTS["bigint"])
    dumped(Watched, LISTS["text"])
    assert calls == []
    dumped(Watched, LISTS["nulls among integers"])
    assert calls == [LISTS["nulls among integers"]]


def test_mixed_types_are_still_refused():
    with pytest.raises(DataError):
        dumped(ArrayDumper, [1, "a"])


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's arrays")
def test_postgresql_reads_them_back():
    sent = [
        LISTS[name]
        for name in (
            "bigint",
            "integer",
            "text",
            "unicode and empty",
            "timestamps",
            "nulls among integers",
        )
    ]
    rows = pg_fetch(
        "SELECT %b::bigint[], %b::int[], %b::text[], %b::text[], %b::timestamptz[], %b::bigint[]",
        sent,
    )
    assert list(rows[0]) == sent
