"""Small helpers the step types share: reading a configuration's keys, schema fragments."""

from __future__ import annotations

from django.utils.translation import gettext as _

from crm.filter_schema import REQUEST

from ..actions import ActionInvalid


def only_keys(config: dict, allowed: set[str]) -> None:
    unknown = sorted(set(config) - allowed - {"type"})
    if unknown:
        raise ActionInvalid(_("Unknown key %(key)s") % {"key": repr(unknown[0])}, unknown[0])


def given(config: dict, key: str) -> bool:
    return config.get(key) not in (None, "")


def whole_number(config: dict, key: str, *, low: int, high: int) -> int:
    value = config.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ActionInvalid(_("must be a whole number"), key)
    text = str(value).strip()
    if not text.lstrip("-").isdigit():
        raise ActionInvalid(_("must be a whole number"), key)
    number = int(text)
    if not low <= number <= high:
        raise ActionInvalid(
            _("must be between %(low)s and %(high)s") % {"low": low, "high": high}, key
        )
    return number


def object_schema(type_name: str, properties: dict, *, direction: str, required=()) -> dict:
    """A step type's settings: `type` plus `properties`; a response carries exactly what was
    saved, a request may carry nulls for absent optional keys."""
    if direction == REQUEST:
        properties = {
            name: ({**schema, "nullable": True} if name not in required else schema)
            for name, schema in properties.items()
        }
    return {
        "type": "object",
        "properties": {"type": {"type": "string", "enum": [type_name]}, **properties},
        "required": ["type", *required],
        "additionalProperties": False,
    }


def id_schema(direction: str, description: str) -> dict:
    if direction == REQUEST:
        return {
            "anyOf": [
                {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
                {"type": "string", "pattern": "^[0-9]{1,18}$"},
            ],
            "description": description,
        }
    return {"type": "integer", "description": description}
