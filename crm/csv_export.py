"""CSV the product writes (segment exports, event participants, the audit log): one place that
streams it as a download and keeps spreadsheet programs from running a cell as a formula.

A text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is read as a formula by
Excel, LibreOffice and Google Sheets; such a cell gets a leading apostrophe, which they show as
text (OWASP, "CSV Injection"). Every text cell goes through it: e-mails, names and properties are
all typed by someone outside the account."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> object:
    """The value as a CSV cell: None is empty, numbers stay numbers, text that a spreadsheet
    would run as a formula starts with an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Echo:
    """A write-only file: csv.writer hands back each formatted line, to stream it."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[Sequence]) -> Iterator[str]:
    """CSV text a line at a time (for a streaming response), every cell made safe."""
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow([safe_cell(value) for value in row])


def csv_response(rows: Iterable[Sequence], *, filename: str) -> StreamingHttpResponse:
    """A CSV download streamed a line at a time (any size, bounded memory): UTF-8, every cell
    made safe, saved as `filename`. `rows` is consumed lazily, the header row first."""
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


__all__ = ["FORMULA_STARTS", "csv_lines", "csv_response", "safe_cell"]
