"""Custom contact property definitions (HubSpot-compatible `/crm/v3/properties/contacts`)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..errors import Conflict, ValidationFailed
from ..models import PropertyDefinition, PropertyType
from ..properties import STANDARD_BY_NAME

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
# HubSpot's pairs of property type and field type (the form control).
FIELD_TYPES: dict[str, tuple[str, ...]] = {
    PropertyType.STRING: ("text", "textarea", "phonenumber", "html", "file"),
    PropertyType.NUMBER: ("number",),
    PropertyType.DATE: ("date",),
    PropertyType.DATETIME: ("date",),
    PropertyType.ENUMERATION: ("select", "radio", "checkbox", "booleancheckbox"),
    PropertyType.BOOL: ("booleancheckbox", "radio", "select"),
}
BOOL_OPTIONS = [
    {"label": "Yes", "value": "true", "displayOrder": 0, "hidden": False},
    {"label": "No", "value": "false", "displayOrder": 1, "hidden": False},
]


def _error(name: str, code: str, message: str) -> dict[str, str]:
    return {"name": name, "code": code, "message": message}


def _clean_options(type_: str, options: Sequence[Mapping[str, Any]] | None) -> tuple[list, list]:
    errors: list[dict] = []
    cleaned = []
    for index, option in enumerate(options or []):
        value = str(option.get("value", "")).strip()
        label = str(option.get("label", "")).strip()
        if not value or not label:
            errors.append(
                _error(
                    "options",
                    "INVALID_OPTION",
                    _("options[%(index)s] needs a label and a value") % {"index": index},
                )
            )
            continue
        cleaned.append(
            {
                "label": label,
                "value": value,
                "displayOrder": option.get("displayOrder", index),
                "hidden": bool(option.get("hidden", False)),
            }
        )
    values = [o["value"] for o in cleaned]
    duplicates = sorted({v for v in values if values.count(v) > 1})
    if duplicates:
        errors.append(
            _error(
                "options",
                "DUPLICATE_OPTION",
                _("Option values must be unique: %(values)s") % {"values": ", ".join(duplicates)},
            )
        )
    if type_ == PropertyType.ENUMERATION and not cleaned and not errors:
        errors.append(
            _error(
                "options",
                "MISSING_OPTIONS",
                _("An enumeration property needs at least one option"),
            )
        )
    if type_ == PropertyType.BOOL:
        if not cleaned:
            cleaned = [dict(o) for o in BOOL_OPTIONS]
        elif set(values) != {"true", "false"}:
            errors.append(
                _error(
                    "options",
                    "INVALID_OPTION",
                    _('A bool property has exactly the options "true" and "false"'),
                )
            )
    if type_ not in (PropertyType.ENUMERATION, PropertyType.BOOL) and cleaned:
        errors.append(
            _error(
                "options",
                "INVALID_OPTION",
                _("Options are only for enumeration and bool properties, not %(type)s")
                % {"type": type_},
            )
        )
    return cleaned, errors


def property_definition_create(
    *,
    name: str,
    label: str,
    type: str,  # HubSpot's field name
    field_type: str,
    group_name: str,
    description: str = "",
    options: Sequence[Mapping[str, Any]] | None = None,
) -> PropertyDefinition:
    """Defines a custom contact property. Raises `ValidationFailed` (400) listing every bad
    field, `Conflict` (409) when the name is already a standard or custom property. The name
    is a lowercase identifier; HubSpot reserves the `hs_` prefix, and so do we."""
    errors: list[dict] = []
    name = (name or "").strip()
    if not NAME_RE.match(name) or len(name) > 100:
        errors.append(
            _error(
                "name",
                "INVALID_NAME",
                _(
                    "%(name)s is not a valid property name: use lowercase letters, "
                    "digits and underscores, starting with a letter"
                )
                % {"name": repr(name)},
            )
        )
    elif name in STANDARD_BY_NAME or PropertyDefinition.objects.filter(name=name).exists():
        raise Conflict(_name_taken(name), name=name)
    elif name.startswith("hs_"):
        errors.append(_error("name", "INVALID_NAME", _('The prefix "hs_" is reserved')))
    if not (label or "").strip():
        errors.append(_error("label", "INVALID_VALUE", _("label is required")))
    if not (group_name or "").strip():
        errors.append(_error("groupName", "INVALID_VALUE", _("groupName is required")))
    if type not in FIELD_TYPES:
        errors.append(
            _error(
                "type",
                "INVALID_TYPE",
                _("%(type)s is not a property type: use one of %(types)s")
                % {"type": repr(type), "types": ", ".join(FIELD_TYPES)},
            )
        )
        cleaned_options: list = []
    else:
        if field_type not in FIELD_TYPES[type]:
            errors.append(
                _error(
                    "fieldType",
                    "INVALID_FIELD_TYPE",
                    _(
                        "%(field_type)s is not a field type for %(type)s properties: "
                        "use one of %(field_types)s"
                    )
                    % {
                        "field_type": repr(field_type),
                        "type": type,
                        "field_types": ", ".join(FIELD_TYPES[type]),
                    },
                )
            )
        cleaned_options, option_errors = _clean_options(type, options)
        errors.extend(option_errors)
    if errors:
        raise ValidationFailed("; ".join(e["message"] for e in errors), errors=errors)
    now = timezone.now()
    try:
        with transaction.atomic():
            return PropertyDefinition.objects.create(
                name=name,
                label=label.strip(),
                type=type,
                field_type=field_type,
                group_name=group_name.strip(),
                description=description or "",
                options=cleaned_options,
                created_at=now,
                updated_at=now,
            )
    except IntegrityError:  # a concurrent request defined it first
        raise Conflict(_name_taken(name), name=name)


def _name_taken(name: str) -> str:
    return _("Property named '%(name)s' already exists.") % {"name": name}
