"""Batch writes of the HubSpot-compatible API, built on `crm.services.contacts`.

Isolation: a batch runs in one transaction and each input in its own savepoint. An input
that fails (bad value, e-mail in use, unknown id) is rolled back alone and reported as an
error entry — the 207 multi-status answer; the other inputs are kept. A body that is not
well-formed as a whole (not JSON, wrong types, no inputs, more than 100 inputs, duplicate ids,
an unsupported idProperty) is refused with 400 before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from ..errors import ApplicationError, NotFound, ValidationFailed
from ..models import Contact, User, normalize_email
from ..services.contacts import contact_archive, contact_create, contact_update
from . import selectors


@dataclass
class BatchOutcome:
    """Results as `(contact, extra fields)` in input order, and HubSpot batch errors."""

    results: list[tuple[Contact, dict[str, Any]]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)


def batch_error(exc: ApplicationError, **context: Any) -> dict[str, Any]:
    """HubSpot's `StandardError` for one failed input."""
    values = {**context, **{_camel(k): v for k, v in exc.context.items() if v is not None}}
    body: dict[str, Any] = {
        "status": "error",
        "category": exc.category,
        "message": exc.message,
        "context": {
            k: [str(x) for x in v] if isinstance(v, list | tuple) else [str(v)]
            for k, v in values.items()
        },
    }
    if exc.errors:
        body["errors"] = [
            {
                "message": e.get("message", ""),
                "code": e.get("code", exc.category),
                "in": e.get("name", ""),
                "context": {"propertyName": [e["name"]]} if e.get("name") else {},
            }
            for e in exc.errors
        ]
    return body


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _refuse_duplicates(keys: Sequence[str]) -> None:
    seen, duplicates = set(), []
    for key in keys:
        if key in seen and key not in duplicates:
            duplicates.append(key)
        seen.add(key)
    if duplicates:
        message = _("Duplicate ids found in batch input: %(ids)s") % {"ids": ", ".join(duplicates)}
        raise ValidationFailed(
            message, errors=[{"name": "inputs", "code": "DUPLICATE_ID", "message": message}]
        )


def batch_create(*, inputs: Sequence[Mapping], actor: User | None) -> BatchOutcome:
    outcome = BatchOutcome()
    with transaction.atomic():
        for index, item in enumerate(inputs):
            try:
                with transaction.atomic():
                    contact = contact_create(
                        properties=item["properties"], actor=actor, source="api"
                    )
            except ApplicationError as exc:
                outcome.errors.append(batch_error(exc, index=index))
            else:
                outcome.results.append((contact, {}))
    return outcome


def _key(item: Mapping) -> str:
    id_property = selectors.check_id_property(item.get("idProperty"))
    return normalize_email(item["id"]) if id_property == "email" else str(item["id"]).strip()


def batch_update(*, inputs: Sequence[Mapping], actor: User | None) -> BatchOutcome:
    """Updates live contacts by id or e-mail; unknown ids are errors of their input."""
    _refuse_duplicates([_key(item) for item in inputs])
    found: dict[tuple[str, str], Contact] = {}
    for id_property in {selectors.check_id_property(i.get("idProperty")) for i in inputs}:
        ids = [
            i["id"]
            for i in inputs
            if selectors.check_id_property(i.get("idProperty")) == id_property
        ]
        for given, contact in selectors.contacts_by_ids(ids, id_property=id_property).items():
            found[(id_property, given)] = contact
    outcome = BatchOutcome()
    with transaction.atomic():
        for index, item in enumerate(inputs):
            contact = found.get((selectors.check_id_property(item.get("idProperty")), item["id"]))
            try:
                if contact is None:
                    raise NotFound(_("Contact %(id)s does not exist.") % {"id": item["id"]})
                with transaction.atomic():
                    contact = contact_update(
                        contact=contact, properties=item["properties"], actor=actor
                    )
            except ApplicationError as exc:
                outcome.errors.append(batch_error(exc, index=index, ids=[item["id"]]))
            else:
                outcome.results.append((contact, {}))
    return outcome


def batch_upsert(*, inputs: Sequence[Mapping], actor: User | None) -> BatchOutcome:
    """Creates or updates by e-mail (`idProperty: "email"`); results carry `new`. A deleted
    contact's e-mail creates a new contact, as a person creating one by hand would."""
    for item in inputs:
        if item.get("idProperty") != "email":
            message = _('idProperty must be "email" for upsert; got %(value)s') % {
                "value": repr(item.get("idProperty"))
            }
            raise ValidationFailed(
                message,
                errors=[{"name": "idProperty", "code": "INVALID_ID_PROPERTY", "message": message}],
            )
    _refuse_duplicates([normalize_email(item["id"]) for item in inputs])
    existing = selectors.contacts_by_ids([i["id"] for i in inputs], id_property="email")
    outcome = BatchOutcome()
    with transaction.atomic():
        for index, item in enumerate(inputs):
            contact = existing.get(item["id"])
            try:
                with transaction.atomic():
                    if contact is not None:
                        contact = contact_update(
                            contact=contact, properties=item["properties"], actor=actor
                        )
                    else:
                        contact = contact_create(
                            properties={**item["properties"], "email": item["id"]},
                            actor=actor,
                            source="api",
                        )
            except ApplicationError as exc:
                outcome.errors.append(batch_error(exc, index=index, ids=[item["id"]]))
            else:
                outcome.results.append((contact, {"new": item["id"] not in existing}))
    return outcome


def batch_archive(*, ids: Sequence[str], actor: User | None) -> int:
    """Archives the contacts with these ids (leaving tombstones, rule Z6). Unknown or already
    archived ids are ignored, as HubSpot does. Returns how many were archived."""
    live = selectors.contacts_by_ids(ids)
    with transaction.atomic():
        for contact in {c.pk: c for c in live.values()}.values():
            contact_archive(contact=contact, actor=actor)
    return len({c.pk for c in live.values()})
