"""Database helpers for bulk writes whose cost must not grow with Python-side SQL building."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from django.db import OperationalError, models, transaction
from django.db import connection as default_connection

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
