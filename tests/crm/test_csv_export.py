"""`crm.csv_export`: the one CSV writer every export uses (OWASP "CSV Injection")."""

import csv
import io
from decimal import Decimal

import pytest

from crm.csv_export import csv_lines, csv_response, safe_cell


@pytest.mark.parametrize(
    "value, cell",
    [
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("+SUM(1,2)", "'+SUM(1,2)"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("=1+2@evil.example", "'=1+2@evil.example"),
        ("ana@example.com", "ana@example.com"),
        ("Ana = 1", "Ana = 1"),
        ("", ""),
        (None, ""),
        (42, 42),
        (-5, -5),
        (Decimal("-1.5"), Decimal("-1.5")),
    ],
)
def test_safe_cell(value, cell):
    assert safe_cell(value) == cell


def test_csv_lines_make_every_cell_safe():
    text = "".join(csv_lines([["email", "name"], ["=1+2@evil.example", "@x"], ["a@b.co", "Ana"]]))
    assert list(csv.reader(io.StringIO(text))) == [
        ["email", "name"],
        ["'=1+2@evil.example", "'@x"],
        ["a@b.co", "Ana"],
    ]


def test_csv_response_streams_a_named_utf8_download_of_safe_cells():
    # The one download helper of the audit log, the participants and the segment exports.
    consumed = []

    def rows():
        for row in (["email", "name"], ["=1+2@evil.example", "Zoë"]):
            consumed.append(row)
            yield row

    response = csv_response(rows(), filename="segment-3-20260101.csv")
    assert consumed == []  # nothing is read before the response is streamed
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="segment-3-20260101.csv"'
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body == "email,name\r\n'=1+2@evil.example,Zoë\r\n"
