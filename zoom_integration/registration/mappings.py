"""Question → contact property mappings (rule E2), as pure functions over plain data.

The effective mappings of a webinar: the built-in defaults for Zoom's standard fields, replaced
question by question by the connection's defaults, then by the webinar's overrides. An answer
becomes a property write when its question is mapped and the value fits the property (its
type, its options, its length); one that does not fit is refused with the reason, and nothing
is written for it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

from django.utils.translation import gettext

from marketing_events.plan import PropertyWrite, answer_text

FILL_EMPTY = "fill_empty"
OVERWRITE = "overwrite"
POLICIES = (FILL_EMPTY, OVERWRITE)
# Rule E2's built-in defaults (Zoom's field name → property).
BUILTIN_MAPPINGS = {
    "org": "company",
    "job_title": "jobtitle",
    "phone": "phone",
    "city": "city",
    "state": "state",
    "zip": "zip",
    "country": "country",
    "industry": "industry",
}
# Properties nothing but the CRM itself writes.
PROTECTED_PROPERTIES = frozenset({"email", "hs_additional_emails", "hs_object_id"})


@dataclass(frozen=True)
class MappingRule:
    question: str
    property: str  # "" → not mapped
    policy: str = FILL_EMPTY
    builtin: bool = False


@dataclass(frozen=True)
class PropertyTarget:
    """What a write needs to know of a property: its column (None: kept in the contact's
    custom values), whether it is read-only, the length its column holds, and `clean`, its
    value check (`crm.properties.clean_value`; raises ValueError with the reason)."""

    name: str
    column: str | None
    read_only: bool
    max_length: int | None
    clean: Callable[[object], str]


@dataclass(frozen=True)
class Refusal:
    email: str
    question: str
    property: str
    reason: str


@dataclass(frozen=True)
class AnswerMappings:
    """What the planner needs to turn answers into property writes."""

    rules: Mapping[str, MappingRule]
    targets: Mapping[str, PropertyTarget]
    # The webinar's multi-choice questions (Zoom's type `multiple`): their answers are lists.
    multi_choice: frozenset[str] = frozenset()

    @cached_property
    def writer(self) -> AnswerWriter:
        """`answer_writes` under these mappings, for many registrants in turn."""
        return AnswerWriter(self.rules, self.targets)


# Zoom sends the choices of a multi-choice answer in one string, separated as in its reports.
CHOICE_SEPARATOR = ";"


def choice_answers(answers: Iterable[tuple[str, object]], multi_choice: Collection[str]):
    """The answers with those of multi-choice questions as tuples of their choices (rule E1:
    a multi-choice answer is a list): a string is split on `;`, its items trimmed, empty ones
    dropped. Other answers are left as they are."""
    out = []
    for question, value in answers:
        if question in multi_choice and isinstance(value, str):
            items = tuple(p.strip() for p in value.split(CHOICE_SEPARATOR) if p.strip())
            value = items or value
        out.append((question, value))
    return tuple(out)


def effective_mappings(
    defaults: Iterable[MappingRule], overrides: Iterable[MappingRule] = ()
) -> dict[str, MappingRule]:
    rules = {q: MappingRule(q, p, FILL_EMPTY, builtin=True) for q, p in BUILTIN_MAPPINGS.items()}
    for rule in defaults:
        rules[rule.question] = rule
    for rule in overrides:
        rules[rule.question] = rule
    return {q: r for q, r in rules.items() if r.property}


def target_problem(name: str, targets: Mapping[str, PropertyTarget]) -> str | None:
    """Why `name` cannot be a mapping's property (unknown or read-only), or None."""
    target = targets.get(name)
    if target is None:
        return gettext("Unknown property: %(name)s.") % {"name": name}
    if target.read_only or name in PROTECTED_PROPERTIES:
        return gettext("The property %(name)s is read-only.") % {"name": name}
    return None


def answer_writes(
    email: str,
    answers: Iterable[tuple[str, object]],
    rules: Mapping[str, MappingRule],
    targets: Mapping[str, PropertyTarget],
) -> tuple[list[PropertyWrite], list[Refusal]]:
    """The property writes of one registrant's answers, and the answers refused (rule E2). A
    multi-choice answer is written as its choices separated by `;`."""
    return AnswerWriter(rules, targets)(email, answers)


class AnswerWriter:
    """`answer_writes` for one set of rules and properties: each question's rule and property
    looked up once, and each distinct answer of a property checked once (a sync plans every
    registrant of a webinar against the same mappings, and answers repeat: 28 µs a registrant
    of the benchmark's against 6 µs this way, 2026-12-06). The memo of checked answers is
    bounded, so a webinar of unique answers (phone numbers) keeps the worker's memory flat."""

    MEMO = 4096

    def __init__(self, rules: Mapping[str, MappingRule], targets: Mapping[str, PropertyTarget]):
        # question -> (property, overwrite, target or None, problem or None, built-in)
        self._questions = {
            question: (
                rule.property,
                rule.policy == OVERWRITE,
                targets.get(rule.property),
                target_problem(rule.property, targets),
                rule.builtin,
            )
            for question, rule in rules.items()
        }
        self._checked: dict[tuple[str, str], tuple[str, str | None]] = {}

    def _check(self, target: PropertyTarget, raw: str) -> tuple[str, str | None]:
        """(the value to write, or the reason it is refused)."""
        key = (target.name, raw)
        found = self._checked.get(key)
        if found is not None:
            return found
        try:
            value, reason = target.clean(raw), None
        except ValueError as error:
            value, reason = "", str(error)
        if reason is None and target.max_length is not None and len(value) > target.max_length:
            reason = gettext(
                "The answer has %(n)s characters; the property %(name)s holds at most %(max)s."
            ) % {"n": len(value), "name": target.name, "max": target.max_length}
        if len(self._checked) >= self.MEMO:
            self._checked.clear()
        self._checked[key] = (value, reason)
        return value, reason

    def __call__(
        self, email: str, answers: Iterable[tuple[str, object]]
    ) -> tuple[list[PropertyWrite], list[Refusal]]:
        writes, refused = [], []
        questions = self._questions
        for question, raw in answers:
            entry = questions.get(question)
            if entry is None:
                continue
            name, overwrite, target, problem, builtin = entry
            if problem is not None or target is None:
                # A built-in default whose property this CRM does not have is simply not used.
                if not builtin:
                    refused.append(Refusal(email, question, name, problem or ""))
                continue
            # As HubSpot's checkbox properties hold several values: separated by ";".
            value, reason = self._check(target, answer_text(raw, separator=CHOICE_SEPARATOR))
            if reason is not None:
                refused.append(Refusal(email, question, name, reason))
            elif value != "":
                writes.append(PropertyWrite(email, name, value, overwrite, target.column))
        return writes, refused
