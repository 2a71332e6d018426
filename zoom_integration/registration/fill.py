"""Rule E3: a registration's required fields and custom questions filled from the contact's
mapped properties (pure). Only a required field that no mapped property of the contact holds
is missing; it is named as Zoom names it (a standard field by its field name, a custom
question by its title)."""

from __future__ import annotations

from collections.abc import Mapping

from .mappings import MappingRule

# Filled from the contact itself (rule W3).
OWN_FIELDS = frozenset({"first_name", "last_name", "email"})
# Zoom takes at most 128 characters in a custom answer (zoom-api.md §3.5).
CUSTOM_ANSWER_MAX = 128


def registration_fill(
    questions: Mapping,
    rules: Mapping[str, MappingRule],
    values: Mapping[str, str | None],
) -> tuple[dict, list[str]]:
    """(the body's extra fields — standard ones and `custom_questions` —, the missing required
    fields). `questions` is Zoom's `/registrants/questions` answer; `values` the contact's
    values of the mapped properties."""

    def value_of(question: str) -> str:
        rule = rules.get(question)
        value = values.get(rule.property) if rule is not None else None
        return str(value).strip() if value else ""

    body: dict = {}
    missing: list[str] = []
    for question in questions.get("questions") or []:
        name = str(question.get("field_name") or "")
        if not name or name in OWN_FIELDS:
            continue
        value = value_of(name)
        if value:
            body[name] = value
        elif question.get("required"):
            missing.append(name)
    custom = []
    for question in questions.get("custom_questions") or []:
        title = str(question.get("title") or "")
        if not title:
            continue
        value = value_of(title)
        if value and len(value) <= CUSTOM_ANSWER_MAX:
            custom.append({"title": title, "value": value})
        elif question.get("required"):
            missing.append(title)
    if custom:
        body["custom_questions"] = custom
    return body, missing
