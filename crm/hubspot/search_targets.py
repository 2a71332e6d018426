"""Targets of HubSpot search filters: how each kind of contact property is reached in the
database (columns, secondary e-mails, id, timestamps, custom JSON values) and compared.
Pure: builds `Q` objects and expressions, runs no query. Semantics: see `crm.hubspot.search`."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from django.db.models import Exists, F, FloatField, OuterRef, Q, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Lower, NullIf
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    IRegex,
    IsNull,
    LessThan,
    LessThanOrEqual,
)
from django.utils.translation import gettext as _

from ..ids import is_id_text
from ..models import PropertyType, SecondaryEmail
from ..properties import PropertySpec, PropertyValueError, clean_value, parse_datetime_value

TOKEN_SEPARATORS = r"\s;,"
_RANGE = {"LT": LessThan, "LTE": LessThanOrEqual, "GT": GreaterThan, "GTE": GreaterThanOrEqual}
_MS = dt.timedelta(milliseconds=1)
# An always-true condition; an empty Q() is not one: `Q(x) | Q()` is just `Q(x)`.
ALWAYS = Q(pk__isnull=False)


class FilterError(ValueError):
    def __init__(self, message: str, code: str = "INVALID_FILTER"):
        super().__init__(message)
        self.code = code


def token_pattern(word: str) -> str:
    """A regular expression (valid for Python and PostgreSQL) matching `word` as a whole
    token, `*` standing for any characters within the token."""
    body = f"[^{TOKEN_SEPARATORS}]*".join(re.escape(part) for part in word.lower().split("*"))
    return f"(^|[{TOKEN_SEPARATORS}]){body}($|[{TOKEN_SEPARATORS}])"


def _token_q(expression, raw: str) -> Q:
    words = str(raw).split()
    if not words:
        raise FilterError(_("CONTAINS_TOKEN needs a non-empty value"), "MISSING_VALUE")
    condition = Q()
    for word in words:
        condition &= Q(IRegex(expression, token_pattern(word)))
    return condition


class Target:
    """How one property is reached in the database. Subclasses build the positive
    conditions; negations are derived (`~positive | missing`)."""

    def __init__(self, spec: PropertySpec):
        self.spec = spec

    def missing(self) -> Q:
        raise NotImplementedError

    def has(self) -> Q:
        return ~self.missing()

    def convert(self, raw):
        return raw

    def compare(self, op: str, value) -> Q:
        raise NotImplementedError

    def contains_token(self, raw) -> Q:
        raise FilterError(
            _("CONTAINS_TOKEN is not supported for %(property)s") % {"property": self.spec.name},
            "UNSUPPORTED_OPERATOR",
        )

    def positive(self, op: str, value=None, high=None, values=None) -> Q:
        if op == "HAS_PROPERTY":
            return self.has()
        if op == "CONTAINS_TOKEN":
            return self.contains_token(value)
        if op == "IN":
            return self.in_(values)
        if op == "EQ":
            return self.compare(op, self.convert(value))
        # Ranges never match a contact without a value ('' would sort first otherwise).
        if op == "BETWEEN":
            low, high = self.convert(value), self.convert(high)
            return self.has() & self.compare("GTE", low) & self.compare("LTE", high)
        return self.has() & self.compare(op, self.convert(value))

    def in_(self, values) -> Q:
        condition = Q(pk__in=[])
        for raw in values:
            condition |= self.compare("EQ", self.convert(raw))
        return condition

    def negate(self, positive: Q) -> Q:
        return ~positive | self.missing()

    def ordering(self):
        raise FilterError(
            _("Sorting by %(property)s is not supported") % {"property": self.spec.name},
            "UNSUPPORTED_SORT",
        )


class IdTarget(Target):
    def missing(self) -> Q:
        return Q(pk__in=[])

    def has(self) -> Q:
        return ALWAYS

    def convert(self, raw):
        text = str(raw).strip()
        if not is_id_text(text):
            raise FilterError(
                _("%(value)s is not a valid record id") % {"value": repr(raw)}, "INVALID_VALUE"
            )
        return int(text)

    def compare(self, op: str, value) -> Q:
        if op == "EQ":
            return Q(pk=value)
        return Q(**{f"pk__{op.lower()}": value})

    def in_(self, values) -> Q:
        return Q(pk__in=[self.convert(v) for v in values])

    def ordering(self):
        return F("pk")


class DateTimeTarget(Target):
    """A timestamp column compared at millisecond precision."""

    def missing(self) -> Q:
        return Q(pk__in=[])

    def has(self) -> Q:
        return ALWAYS

    def convert(self, raw):
        parsed = parse_datetime_value(raw) if raw is not None else None
        if parsed is None:
            raise FilterError(
                _("%(value)s is not a valid date: use epoch milliseconds or ISO-8601")
                % {"value": repr(raw)},
                "INVALID_DATE",
            )
        return parsed.replace(microsecond=parsed.microsecond // 1000 * 1000)

    def compare(self, op: str, value) -> Q:
        column = self.spec.column
        if op == "EQ":
            return Q(**{f"{column}__gte": value, f"{column}__lt": value + _MS})
        lookup, bound = {
            "LT": ("lt", value),
            "LTE": ("lt", value + _MS),
            "GT": ("gte", value + _MS),
            "GTE": ("gte", value),
        }[op]
        return Q(**{f"{column}__{lookup}": bound})

    def ordering(self):
        return F(self.spec.column)


class TextColumnTarget(Target):
    """A text column of `Contact` (unset is '' or, for the e-mail, NULL)."""

    def __init__(self, spec: PropertySpec, column: str | None = None):
        super().__init__(spec)
        self.column = column or spec.column

    def missing(self) -> Q:
        return Q(**{f"{self.column}__isnull": True}) | Q(**{self.column: ""})

    def convert(self, raw):
        return (
            str(raw).strip().lower()
            if self.spec.name in ("email", "hs_additional_emails")
            else str(raw).lower()
        )

    def compare(self, op: str, value) -> Q:
        expression = Lower(F(self.column))
        if op == "EQ":
            return Q(Exact(expression, value))
        return Q(_RANGE[op](expression, value))

    def in_(self, values) -> Q:
        return Q(In(Lower(F(self.column)), [self.convert(v) for v in values]))

    def contains_token(self, raw) -> Q:
        return _token_q(F(self.column), raw)

    def ordering(self):
        return Lower(NullIf(F(self.column), Value("")))


class SecondaryEmailTarget(Target):
    """`hs_additional_emails`: true when any secondary e-mail of the contact matches."""

    def __init__(self, spec: PropertySpec):
        super().__init__(spec)
        self.inner = TextColumnTarget(spec, column="email")

    def _exists(self, condition: Q) -> Q:
        return Q(Exists(SecondaryEmail.objects.filter(condition, contact=OuterRef("pk"))))

    def missing(self) -> Q:
        return ~self._exists(Q())

    def has(self) -> Q:
        return self._exists(Q())

    def positive(self, op: str, value=None, high=None, values=None) -> Q:
        if op == "HAS_PROPERTY":
            return self.has()
        return self._exists(self.inner.positive(op, value, high, values))

    def negate(self, positive: Q) -> Q:
        return ~positive


class CustomTarget(Target):
    """A custom property: a key of the `properties` JSON column, whose values are strings."""

    def __init__(self, spec: PropertySpec):
        super().__init__(spec)
        self.text = KeyTextTransform(spec.name, "properties")

    def missing(self) -> Q:
        return Q(IsNull(self.text, True)) | Q(Exact(self.text, ""))

    def has(self) -> Q:
        return Q(IsNull(self.text, False)) & ~Q(Exact(self.text, ""))

    @property
    def _typed(self) -> bool:
        return self.spec.type in (
            PropertyType.NUMBER,
            PropertyType.DATE,
            PropertyType.DATETIME,
            PropertyType.BOOL,
        )

    def convert(self, raw):
        if not self._typed:
            return str(raw).lower()
        try:
            return clean_value(self.spec, raw)  # the canonical form values are stored in
        except PropertyValueError as exc:
            raise FilterError(str(exc), "INVALID_VALUE")

    def compare(self, op: str, value) -> Q:
        if self.spec.type == PropertyType.NUMBER:
            if op == "EQ":
                return Q(Exact(self.text, value))
            return Q(_RANGE[op](self._number(), float(Decimal(value))))
        expression = self.text if self._typed else Lower(self.text)
        if op == "EQ":
            return Q(Exact(expression, value))
        return Q(_RANGE[op](expression, value))

    def _number(self):
        return Cast(NullIf(self.text, Value("")), FloatField())

    def in_(self, values) -> Q:
        expression = self.text if self._typed else Lower(self.text)
        return Q(In(expression, [self.convert(v) for v in values]))

    def contains_token(self, raw) -> Q:
        return _token_q(self.text, raw)

    def ordering(self):
        if self.spec.type == PropertyType.NUMBER:
            return self._number()
        return Lower(NullIf(self.text, Value("")))


def target_for(spec: PropertySpec) -> Target:
    if spec.name == "hs_object_id":
        return IdTarget(spec)
    if spec.name == "hs_additional_emails":
        return SecondaryEmailTarget(spec)
    if spec.column and spec.type == PropertyType.DATETIME:
        return DateTimeTarget(spec)
    if spec.column:
        return TextColumnTarget(spec)
    return CustomTarget(spec)
