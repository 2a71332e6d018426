"""The OpenAPI 3.0 schema of the Filter JSON's filters (DESIGN "Filter JSON"), in two directions:
`REQUEST` says what a filter type's `clean` accepts (ids as integers or strings, numbers as
strings, null for an absent part, ...), `RESPONSE` the normalized node it returns, which is what
the API stores and sends back. Each filter type describes its own node (`FilterType.schema`);
the pieces they share (comparisons, relative dates) are components named here. Plain data: the
API layer turns it into components (segments' `tree_schema_components`)."""

from __future__ import annotations

from collections.abc import Iterable

from .contact_filters import DATE_OPERATORS, NO_VALUE, NUMBER_OPERATORS, TEXT_OPERATORS

REQUEST, RESPONSE = "request", "response"
# Comparisons of measures (durations, percents): a value is always needed.
MEASURE_OPERATORS = tuple(op for op in NUMBER_OPERATORS if op not in NO_VALUE)
LIST_OPERATORS = ("between", "in", "not_in")
DIGITS = "^[0-9]+$"
# What `clean_id` and `str.isdigit` take: digits, spaces around them ignored.
DIGITS_SPACED = "^\\s*[0-9]+\\s*$"


def component_name(base: str, direction: str) -> str:
    """drf-spectacular's naming: a component read from requests ends in `Request`."""
    return f"{base}Request" if direction == REQUEST else base


def ref(base: str, direction: str | None = None) -> dict:
    name = component_name(base, direction) if direction else base
    return {"$ref": f"#/components/schemas/{name}"}


def nullable_ref(base: str, direction: str) -> dict:
    return {"allOf": [ref(base, direction)], "nullable": True}


def operator_enum(operators: Iterable[str]) -> dict:
    return {"type": "string", "enum": list(operators)}


def relative_date() -> dict:
    return {
        "type": "object",
        "description": "A day relative to today, resolved when the filter is evaluated: "
        '{"days_ago": N} or {"days_ahead": N}.',
        "properties": {
            "days_ago": {"type": "integer", "minimum": 0, "maximum": 36500},
            "days_ahead": {"type": "integer", "minimum": 0, "maximum": 36500},
        },
        "minProperties": 1,
        "maxProperties": 1,
        "additionalProperties": False,
    }


def text_item(direction: str) -> list[dict]:
    # `clean_comparison` takes numbers for text and returns them as text.
    if direction == REQUEST:
        return [{"type": "string"}, {"type": "number"}]
    return [{"type": "string"}]


def number_item(direction: str, *, minimum=None, maximum=None) -> list[dict]:
    number = {"type": "number"}
    if minimum is not None:
        number["minimum"] = minimum
    if maximum is not None:
        number["maximum"] = maximum
    if direction == REQUEST:
        return [number, {"type": "string", "description": "A number written as text"}]
    return [number]


def date_item(direction: str) -> list[dict]:
    if direction == REQUEST:
        return [
            {"type": "string", "description": "ISO-8601 date or date-time"},
            {"type": "integer", "description": "Epoch milliseconds"},
            ref("RelativeDate"),
        ]
    return [{"type": "string", "description": "ISO-8601 date or date-time"}, ref("RelativeDate")]


def any_item(direction: str) -> list[dict]:
    """A value of any kind (a property filter's kind depends on the property)."""
    return [{"type": "string"}, {"type": "number"}, ref("RelativeDate")]


def comparison_value(item: list[dict], operators: Iterable[str], direction: str) -> dict:
    """`value` of `{"operator", "value"}`: one item, or a list of them for `between` (two) and
    `in`/`not_in` (one or more); none for `is_known`/`is_unknown` (null accepted in requests)."""
    operators = tuple(operators)
    variants = list(item)
    if any(op in LIST_OPERATORS for op in operators):
        item_schema = item[0] if len(item) == 1 else {"anyOf": list(item)}
        variants.append({"type": "array", "items": item_schema, "minItems": 1})
    schema = variants[0] if len(variants) == 1 else {"anyOf": variants}
    if direction == REQUEST and any(op in NO_VALUE for op in operators):
        schema = {**schema, "nullable": True}
    return schema


def comparison(item: list[dict], operators: Iterable[str], direction: str) -> dict:
    operators = tuple(operators)
    return {
        "type": "object",
        "properties": {
            "operator": operator_enum(operators),
            "value": comparison_value(item, operators, direction),
        },
        "required": ["operator"],
        # `clean_comparison` ignores other keys; what it returns has these two only.
        "additionalProperties": direction == REQUEST,
    }


def shared_components(direction: str) -> dict[str, dict]:
    """Components the filter types refer to with `ref(name, direction)` (RelativeDate: `ref`)."""
    return {
        "RelativeDate": relative_date(),
        component_name("TextComparison", direction): comparison(
            text_item(direction), TEXT_OPERATORS, direction
        ),
        component_name("MeasureComparison", direction): comparison(
            number_item(direction), MEASURE_OPERATORS, direction
        ),
        component_name("PercentComparison", direction): comparison(
            number_item(direction, minimum=0, maximum=100), MEASURE_OPERATORS, direction
        ),
        component_name("DateComparison", direction): comparison(
            date_item(direction), DATE_OPERATORS, direction
        ),
    }


def sub_comparison(base: str, direction: str) -> dict:
    """A filter's optional part (`"webinar_name": {"operator", "value"}`): null in a request
    means the part is absent."""
    return nullable_ref(base, direction) if direction == REQUEST else ref(base, direction)


def reference_id(direction: str, *, response: dict, description: str) -> dict:
    """An id of the Filter JSON: strings, integers accepted (DESIGN "Decisions"); null = any."""
    if direction == REQUEST:
        return {
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": DIGITS_SPACED},
            ],
            "nullable": True,
            "description": description,
        }
    return {**response, "nullable": True, "description": description}


def negate() -> dict:
    return {"type": "boolean", "description": "true: contacts the filter does not match"}


def node(
    type_name: str,
    direction: str,
    properties: dict[str, dict],
    *,
    required: Iterable[str] = (),
    always: Iterable[str] = (),
) -> dict:
    """A filter node: `{"type": type_name, ...properties}`, no other key (`expect_keys`).
    `required` must be sent; `always` are optional in requests but always in what is sent back."""
    required = ["type", *required]
    if direction == RESPONSE:
        required += [name for name in always if name not in required]
    return {
        "type": "object",
        "properties": {"type": {"type": "string", "enum": [type_name]}, **properties},
        "required": required,
        "additionalProperties": False,
    }


def generic_node(type_name: str) -> dict:
    """The schema of a filter type that does not describe itself."""
    return {
        "type": "object",
        "properties": {"type": {"type": "string", "enum": [type_name]}},
        "required": ["type"],
    }
