"""`crm.csv_export`: the one CSV writer every export uses (OWASP "CSV Injection")."""

import csv
import io
from decimal import Decimal

import pytest

from crm.csv_export import csv_lines, safe_cell


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
