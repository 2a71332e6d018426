"""Question mappings (rule E2): reads, the replacing write, the properties they can target, and
applying them to past answers (a background run with progress)."""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Sequence
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.bulk_properties import ContactPropertyWrite, contacts_write_properties
from crm.errors import ValidationFailed
from crm.hooks import contacts_changed
from crm.models import Contact, PropertyDefinition
from crm.properties import all_property_specs, clean_value, property_value
from crm.services.properties import property_definition_create
from marketing_events.models import RegistrationDetails

from ..models import ZoomConnection, ZoomWebinar
from ..models_registration import MappingApplyRun, QuestionMapping
from .fill import registration_fill
from .mappings import (
    BUILTIN_MAPPINGS,
    POLICIES,
    MappingRule,
    PropertyTarget,
    answer_writes,
    effective_mappings,
    target_problem,
)

logger = logging.getLogger(__name__)
MAX_MAPPINGS = 200
APPLY_PAGE = 500


def property_targets() -> dict[str, PropertyTarget]:
    """Every contact property a mapping may name, with the length its column holds (one
    query: the custom property definitions)."""
    lengths = {
        f.attname: f.max_length
        for f in Contact._meta.concrete_fields
        if getattr(f, "max_length", None)
    }
    return {
        name: PropertyTarget(
            name,
            spec.column,
            spec.read_only,
            lengths.get(spec.column) if spec.column else None,
            partial(clean_value, spec),
        )
        for name, spec in all_property_specs().items()
    }


def _rule(row: QuestionMapping) -> MappingRule:
    return MappingRule(row.question, row.property, row.policy)


def rule_of(item: dict) -> MappingRule:
    return MappingRule(item["question"], item["property"], item["policy"])


def webinar_rules(webinar: ZoomWebinar) -> dict[str, MappingRule]:
    """The mappings in force for a webinar: built-ins < connection defaults < its overrides
    (one query)."""
    rows = list(
        QuestionMapping.objects.filter(connection_id=webinar.connection_id).filter(
            Q(webinar__isnull=True) | Q(webinar=webinar)
        )
    )
    return effective_mappings(
        [_rule(r) for r in rows if r.webinar_id is None],
        [_rule(r) for r in rows if r.webinar_id is not None],
    )


def mappings_list(connection: ZoomConnection, webinar: ZoomWebinar | None = None) -> list[dict]:
    """Connection level: the effective defaults, built-in ones flagged; webinar level: that
    webinar's overrides only (DESIGN "Engagement and attribution")."""
    rows = QuestionMapping.objects.filter(connection=connection, webinar=webinar)
    items = [
        {"question": r.question, "property": r.property, "policy": r.policy, "builtin": False}
        for r in rows
    ]
    if webinar is None:
        own = {item["question"] for item in items}
        items += [
            {"question": q, "property": p, "policy": "fill_empty", "builtin": True}
            for q, p in BUILTIN_MAPPINGS.items()
            if q not in own
        ]
    return items


def mappings_replace(
    *, connection: ZoomConnection, webinar: ZoomWebinar | None, items: Any
) -> list[dict]:
    """Replaces one level's whole list. Every bad item is named (`[i].field`); a mapping to an
    unknown or read-only property names the property; nothing changes on any error."""
    if not isinstance(items, list):
        raise ValidationFailed(
            _("Send a list of mappings."), errors=[_err("", _("Expected a list."))]
        )
    if len(items) > MAX_MAPPINGS:
        message = _("At most %(n)s mappings.") % {"n": MAX_MAPPINGS}
        raise ValidationFailed(message, errors=[_err("", message)])
    targets = property_targets()
    errors, cleaned, seen = [], [], set()
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append(_err(f"[{index}]", _("Each mapping is an object.")))
            continue
        question = item.get("question")
        prop = item.get("property")  # required; "" maps the question to nothing
        policy = item.get("policy", "fill_empty")
        if (
            not isinstance(question, str)
            or not question.strip()
            or len(question) > 300
            or "\x00" in question  # PostgreSQL text holds no NUL (found by the API fuzzer)
        ):
            errors.append(_err(f"[{index}].question", _("A question of 1 to 300 characters.")))
            continue
        question = question.strip()
        if question in seen:
            errors.append(
                _err(
                    f"[{index}].question",
                    _("The question %(q)s is mapped twice.") % {"q": question},
                )
            )
        seen.add(question)
        if not isinstance(prop, str):
            errors.append(_err(f"[{index}].property", _("A property name.")))
            continue
        if prop:
            problem = target_problem(prop, targets)
            if problem:
                errors.append(_err(f"[{index}].property", problem))
        if policy not in POLICIES:
            errors.append(
                _err(
                    f"[{index}].policy",
                    _("The policy is fill_empty or overwrite, not %(p)s.") % {"p": repr(policy)},
                )
            )
        cleaned.append((question, prop, policy))
    if errors:
        raise ValidationFailed("; ".join(e["message"] for e in errors), errors=errors)
    with transaction.atomic():
        QuestionMapping.objects.filter(connection=connection, webinar=webinar).delete()
        QuestionMapping.objects.bulk_create(
            [
                QuestionMapping(
                    connection=connection,
                    webinar=webinar,
                    question=q,
                    property=p,
                    policy=policy,
                    position=i,
                )
                for i, (q, p, policy) in enumerate(cleaned)
            ]
        )
    return mappings_list(connection, webinar)


def _err(field: str, message: str) -> dict:
    return {"name": field or "body", "code": "INVALID_VALUE", "message": message}


def property_name_for(question: str) -> str:
    """A property's internal name made from a question's title: `zoom_` + its words."""
    plain = unicodedata.normalize("NFKD", question).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "_", plain).strip("_")[:80] or "answer"
    return f"zoom_{slug}"


def property_create_from_question(question: str) -> PropertyDefinition:
    """ "Create a property from this question": a text property named after it (an existing
    custom property of that name is reused)."""
    question = (question or "").strip()
    if not question:
        raise ValidationFailed(_("Which question?"), errors=[_err("question", _("Required."))])
    name = property_name_for(question)
    existing = PropertyDefinition.objects.filter(name=name).first()
    if existing is not None:
        return existing
    return property_definition_create(
        name=name,
        label=question[:200],
        type="string",
        field_type="text",
        group_name="zoom_registration",
        description=_("Created from the Zoom registration question “%(q)s”.") % {"q": question},
    )


# -- applying to past answers ------------------------------------------------------------------


def mapping_apply_request(
    *, connection: ZoomConnection, webinar: ZoomWebinar | None = None
) -> MappingApplyRun:
    from ..tasks import apply_question_mappings

    run = MappingApplyRun.objects.create(connection=connection, webinar=webinar)
    transaction.on_commit(lambda: apply_question_mappings.delay(run.pk))
    return run


def mapping_apply_execute(run_id: int) -> MappingApplyRun:
    """Writes the mappings in force into the contacts of every stored answer of the run's
    webinar (or of all the connection's webinars), a page of answers per transaction, with the
    same bulk writer as the sync. Re-running it writes nothing more (idempotent)."""
    run = MappingApplyRun.objects.select_related("connection", "webinar").get(pk=run_id)
    if run.status in ("succeeded", "failed"):
        return run
    webinars = (
        [run.webinar]
        if run.webinar is not None
        else list(ZoomWebinar.objects.filter(connection=run.connection, event__isnull=False))
    )
    event_ids = [w.event_id for w in webinars if w.event_id]
    details = RegistrationDetails.objects.filter(event_id__in=event_ids).exclude(answers={})
    run.total = details.count()
    run.status = "running"
    run.save(update_fields=["total", "status"])
    targets = property_targets()
    rules_by_event = {w.event_id: webinar_rules(w) for w in webinars if w.event_id}
    last_pk = 0
    while True:
        page = list(
            details.filter(pk__gt=last_pk)
            .order_by("pk")
            .values_list("pk", "event_id", "participation__contact_id", "answers")[:APPLY_PAGE]
        )
        if not page:
            break
        last_pk = page[-1][0]
        writes, refused = [], 0
        for _pk, event_id, contact_id, answers in page:
            found, refusals = answer_writes(
                str(contact_id), list(answers.items()), rules_by_event[event_id], targets
            )
            refused += len(refusals)
            writes += [
                ContactPropertyWrite(contact_id, w.property, w.column, w.value, w.overwrite)
                for w in found
            ]
        with transaction.atomic():
            changed = contacts_write_properties(writes, timezone.now())
            contacts_changed(changed)
            MappingApplyRun.objects.filter(pk=run.pk).update(
                done=run.done + len(page),
                written=run.written + len(changed),
                refused=run.refused + refused,
            )
        run.done += len(page)
        run.written += len(changed)
        run.refused += refused
    run.status = "succeeded"
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "finished_at"])
    logger.info(
        "zoom.mappings.applied",
        extra={"run": run.pk, "done": run.done, "written": run.written, "refused": run.refused},
    )
    return run


def contact_registration_fill(
    connection: ZoomConnection, webinar_id: str | int, questions: dict, contact
) -> tuple[dict, list[str]]:
    """Rule E3 for one contact: the extra registration fields its mapped properties fill, and
    the required ones none holds (three queries: mappings, custom properties, nothing per
    field)."""
    webinar = ZoomWebinar.objects.filter(
        connection=connection, zoom_webinar_id=int(webinar_id)
    ).first()
    if webinar is not None:
        rules = webinar_rules(webinar)
    else:
        rows = QuestionMapping.objects.filter(connection=connection, webinar__isnull=True)
        rules = effective_mappings([_rule(r) for r in rows])
    specs = all_property_specs()
    values = {
        rule.property: property_value(contact, specs[rule.property])
        for rule in rules.values()
        if rule.property in specs
    }
    return registration_fill(questions, rules, values)


def connection_webinar(connection: ZoomConnection, zoom_webinar_id: int) -> ZoomWebinar:
    from crm.errors import NotFound

    webinar = ZoomWebinar.objects.filter(
        connection=connection, zoom_webinar_id=zoom_webinar_id
    ).first()
    if webinar is None:
        raise NotFound(_("No such webinar on this connection."))
    return webinar


__all__: Sequence[str] = [
    "rule_of",
    "target_problem",
    "mapping_apply_execute",
    "mapping_apply_request",
    "mappings_list",
    "mappings_replace",
    "property_create_from_question",
    "property_targets",
    "webinar_rules",
]
