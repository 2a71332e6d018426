"""Contact properties by their HubSpot internal names.

Standard properties are defined here and map onto `Contact` columns; custom ones are
`PropertyDefinition` rows whose values live in `Contact.properties`. This module turns
HubSpot-style `{"name": "value"}` input into validated column/JSON values and back.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils import translation
from django.utils.translation import gettext, gettext_noop

from .errors import ValidationFailed
from .models import LeadStatus, LifecycleStage, PropertyType


@dataclass(frozen=True)
class PropertySpec:
    """A property. A standard property's `label`, `description` and option labels are English
    (the API sends them as they are, rule L2) and marked for translation: the HTML views show
    them through `spec_label` / `option_label`. A custom property's are shown as defined."""

    name: str  # HubSpot internal name
    label: str
    type: str  # PropertyType value
    field_type: str = "text"
    column: str | None = None  # Contact column, None for custom/computed
    options: tuple[tuple[str, str], ...] = ()  # (value, label)
    read_only: bool = False
    group_name: str = "contactinformation"
    custom: bool = False
    description: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def option_values(self) -> set[str]:
        return {value for value, _label in self.options}


def spec_label(spec: PropertySpec) -> str:
    """The label to show: standard labels translated into the active language, custom ones as
    they were defined."""
    return spec.label if spec.custom else gettext(spec.label)


def option_label(spec: PropertySpec, label: str) -> str:
    """One option's label to show (see `spec_label`)."""
    return label if spec.custom else gettext(label)


def _choices(enum) -> tuple[tuple[str, str], ...]:
    # The English labels whatever language is active when this module is imported: the API
    # sends them (rule L2); views translate them when they show them (`option_label`).
    with translation.override(None):
        return tuple((str(value), str(label)) for value, label in enum.choices)


# A list, so that apps can add their read-only properties (`register_property`).
STANDARD_PROPERTIES: list[PropertySpec] = [
    PropertySpec("email", gettext_noop("Email"), PropertyType.STRING, "text", "email"),
    PropertySpec(
        "firstname", gettext_noop("First name"), PropertyType.STRING, "text", "first_name"
    ),
    PropertySpec("lastname", gettext_noop("Last name"), PropertyType.STRING, "text", "last_name"),
    PropertySpec(
        "phone", gettext_noop("Phone number"), PropertyType.STRING, "phonenumber", "phone"
    ),
    PropertySpec(
        "mobilephone",
        gettext_noop("Mobile phone number"),
        PropertyType.STRING,
        "phonenumber",
        "mobile_phone",
    ),
    PropertySpec("company", gettext_noop("Company name"), PropertyType.STRING, "text", "company"),
    PropertySpec("jobtitle", gettext_noop("Job title"), PropertyType.STRING, "text", "job_title"),
    PropertySpec("website", gettext_noop("Website URL"), PropertyType.STRING, "text", "website"),
    PropertySpec("address", gettext_noop("Street address"), PropertyType.STRING, "text", "address"),
    PropertySpec("city", gettext_noop("City"), PropertyType.STRING, "text", "city"),
    PropertySpec("state", gettext_noop("State/Region"), PropertyType.STRING, "text", "state"),
    PropertySpec("zip", gettext_noop("Postal code"), PropertyType.STRING, "text", "zip"),
    PropertySpec("country", gettext_noop("Country/Region"), PropertyType.STRING, "text", "country"),
    PropertySpec(
        "lifecyclestage",
        gettext_noop("Lifecycle stage"),
        PropertyType.ENUMERATION,
        "radio",
        "lifecycle_stage",
        _choices(LifecycleStage),
    ),
    PropertySpec(
        "hs_lead_status",
        gettext_noop("Lead status"),
        PropertyType.ENUMERATION,
        "radio",
        "lead_status",
        _choices(LeadStatus),
    ),
    # Our extension: writable as well as readable (DESIGN "Interfaces").
    PropertySpec(
        "hs_additional_emails",
        gettext_noop("Additional email addresses"),
        PropertyType.STRING,
        "textarea",
        None,
        description=gettext_noop("Secondary e-mail addresses, separated by semicolons."),
    ),
    PropertySpec(
        "hs_object_id",
        gettext_noop("Record ID"),
        PropertyType.NUMBER,
        "number",
        "id",
        read_only=True,
    ),
    PropertySpec(
        "createdate",
        gettext_noop("Create date"),
        PropertyType.DATETIME,
        "date",
        "created_at",
        read_only=True,
    ),
    PropertySpec(
        "lastmodifieddate",
        gettext_noop("Last modified date"),
        PropertyType.DATETIME,
        "date",
        "updated_at",
        read_only=True,
    ),
]
STANDARD_BY_NAME = {spec.name: spec for spec in STANDARD_PROPERTIES}


def register_property(spec: PropertySpec) -> None:
    """Lets a higher app (e.g. the Zoom integration's legacy properties) add a property that
    lives in `Contact.properties`; registering the same name twice keeps one."""
    if spec.name in STANDARD_BY_NAME:
        return
    STANDARD_PROPERTIES.append(spec)
    STANDARD_BY_NAME[spec.name] = spec


DEFAULT_RETURNED = ("email", "firstname", "lastname")
# Properties that are always sent back by search (HubSpot's behaviour).
SEARCH_DEFAULT_RETURNED = (
    "createdate",
    "email",
    "firstname",
    "hs_object_id",
    "lastmodifieddate",
    "lastname",
)


# Bounds of the property names a request asks for. A name is at most as long as
# PropertyDefinition.name allows, in the characters a name has. In a body (batch read, search)
# up to MAX_REQUESTED_PROPERTIES names; in an address (`?properties=a,b`, repeated or not) up to
# MAX_PROPERTIES_IN_ADDRESS, so that the longest list fits the request line gunicorn and
# common proxies accept (8,190 bytes; see gunicorn.conf.py).
MAX_PROPERTY_NAME_LENGTH = 100
MAX_REQUESTED_PROPERTIES = 200
MAX_PROPERTIES_IN_ADDRESS = 60
MAX_PROPERTY_LIST_LENGTH = MAX_PROPERTIES_IN_ADDRESS * (MAX_PROPERTY_NAME_LENGTH + 1)
PROPERTY_NAME_CHARACTERS = "^[A-Za-z0-9_]*$"
PROPERTY_LIST_CHARACTERS = "^[A-Za-z0-9_, ]*$"


def requested_property_names(texts: Iterable[str], *, field: str = "properties") -> list[str]:
    """The names in comma-separated `texts` (an address's `properties=`), without duplicates,
    in order. Too many texts or names, a name too long, or a character no name has, is a
    `ValidationFailed` naming `field`; nothing is looked up."""
    texts = list(texts)
    names: list[str] = []
    problem = None
    if len(texts) > MAX_PROPERTIES_IN_ADDRESS:
        problem = gettext("%(field)s: at most %(max)s values are allowed; got %(n)s.") % {
            "field": field,
            "max": MAX_PROPERTIES_IN_ADDRESS,
            "n": len(texts),
        }
    elif any(len(text) > MAX_PROPERTY_LIST_LENGTH for text in texts):
        problem = gettext("%(field)s: a value has at most %(max)s characters.") % {
            "field": field,
            "max": MAX_PROPERTY_LIST_LENGTH,
        }
    elif any(re.search(r"[^A-Za-z0-9_, ]", text) for text in texts):
        problem = gettext(
            "%(field)s: property names have only letters, digits and underscores, "
            "separated by commas."
        ) % {"field": field}
    else:
        for text in texts:
            names.extend(part.strip() for part in text.split(",") if part.strip())
        names = list(dict.fromkeys(names))
        long_name = next((n for n in names if len(n) > MAX_PROPERTY_NAME_LENGTH), None)
        if len(names) > MAX_PROPERTIES_IN_ADDRESS:
            problem = gettext(
                "%(field)s: at most %(max)s property names are allowed; got %(n)s."
            ) % {"field": field, "max": MAX_PROPERTIES_IN_ADDRESS, "n": len(names)}
        elif long_name is not None:
            problem = gettext(
                "%(field)s: a property name has at most %(max)s characters; “%(start)s…” has %(n)s."
            ) % {
                "field": field,
                "max": MAX_PROPERTY_NAME_LENGTH,
                "start": long_name[:20],
                "n": len(long_name),
            }
    if problem:
        raise ValidationFailed(
            problem, errors=[{"name": field, "code": "INVALID_VALUE", "message": problem}]
        )
    return names


def spec_from_definition(definition) -> PropertySpec:
    return PropertySpec(
        name=definition.name,
        label=definition.label,
        type=definition.type,
        field_type=definition.field_type,
        column=None,
        options=tuple((o.get("value", ""), o.get("label", "")) for o in definition.options or []),
        group_name=definition.group_name,
        custom=True,
        description=definition.description,
    )


def all_property_specs() -> dict[str, PropertySpec]:
    """Standard and custom properties by name (one query)."""
    from .models import PropertyDefinition

    specs = dict(STANDARD_BY_NAME)
    for definition in PropertyDefinition.objects.all():
        specs[definition.name] = spec_from_definition(definition)
    return specs


class PropertyValueError(ValueError):
    pass


def clean_value(spec: PropertySpec, raw) -> str:
    """Validates one property value and returns its canonical string form ('' clears it)."""
    if raw is None:
        return ""
    if isinstance(raw, bool):
        raw = "true" if raw else "false"
    value = str(raw).strip() if spec.name == "email" else str(raw)
    if value == "":
        return ""
    if spec.name == "email":
        value = value.lower()
        try:
            validate_email(value)
        except DjangoValidationError:
            raise PropertyValueError(
                gettext("%(value)s is not a valid email address") % {"value": repr(raw)}
            )
        return value
    if spec.type == PropertyType.NUMBER:
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            raise PropertyValueError(
                gettext("%(value)s is not a valid number") % {"value": repr(raw)}
            )
        return (
            format(number.normalize(), "f") if number != number.to_integral() else str(int(number))
        )
    if spec.type in (PropertyType.DATE, PropertyType.DATETIME):
        parsed = parse_datetime_value(value)
        if parsed is None:
            raise PropertyValueError(
                gettext("%(value)s is not a valid date: use epoch milliseconds or ISO-8601")
                % {"value": repr(raw)}
            )
        if spec.type == PropertyType.DATE:
            return parsed.date().isoformat()
        return parsed.isoformat().replace("+00:00", "Z")
    if spec.type == PropertyType.BOOL:
        lowered = value.strip().lower()
        if lowered not in ("true", "false"):
            raise PropertyValueError(
                gettext("%(value)s is not a valid boolean: use true or false")
                % {"value": repr(raw)}
            )
        return lowered
    if spec.type == PropertyType.ENUMERATION and spec.options:
        allowed = spec.option_values
        # HubSpot's checkbox enumerations take several values separated by semicolons.
        parts = value.split(";") if spec.field_type == "checkbox" else [value]
        bad = [p for p in parts if p not in allowed]
        if bad:
            raise PropertyValueError(
                gettext("%(value)s is not one of the allowed options: %(options)s")
                % {"value": repr(bad[0]), "options": ", ".join(sorted(allowed))}
            )
    return value


def parse_datetime_value(value) -> dt.datetime | None:
    """Epoch milliseconds or ISO-8601 (date or date-time) → aware UTC datetime."""
    text = str(value).strip()
    if not text:
        return None
    if text.lstrip("-").isdigit():
        try:
            return dt.datetime.fromtimestamp(int(text) / 1000, tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            return None
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before year 1 in UTC
        return None


def format_datetime(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def property_value(contact, spec: PropertySpec) -> str | None:
    """One property of a contact (a `crm.models.Contact`) as HubSpot renders it: a string, or
    null when it has no value. The API, the exports and workflow steps read it the same way."""
    if spec.name == "hs_object_id":
        return str(contact.pk)
    if spec.name == "createdate":
        return format_datetime(contact.created_at)
    if spec.name == "lastmodifieddate":
        return format_datetime(contact.updated_at)
    if spec.name == "hs_additional_emails":
        emails = [s.email for s in contact.secondary_emails.all()]  # prefetched by selectors
        return ";".join(sorted(emails)) or None
    if spec.column:
        value = getattr(contact, spec.column)
    else:
        value = (contact.properties or {}).get(spec.name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
