"""The workflow step `zoom.cancel_registration` (rule W9): cancels the contact's registration to
a Zoom webinar of the primary brand (rule W4), through `PUT /webinars/{id}/registrants/status`
(`action: cancel`), and records the cancellation on the participation at once, as the
registration is recorded (W8).

Idempotent: a contact with no live registration is skipped (the log says so), and Zoom leaves
an already cancelled registrant as it is; 429, 5xx and timeouts go back to the engine, which
retries with back-off."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from crm.filter_schema import REQUEST
from crm.models import normalize_email
from crm.stored_text import stored_text
from marketing_events.models import Participation, ParticipationState
from marketing_events.plan import Plan, RegistrationFact
from marketing_events.services import plan_apply

from .client import (
    ZoomAuthError,
    ZoomNotFound,
    ZoomRateLimited,
    ZoomTransientError,
    ZoomValidationError,
)
from .legacy import contacts_recompute_legacy
from .workflow_steps import (
    Stop,
    call,
    clean_webinar_id,
    limiter_for,
    only_keys,
    primary_connection,
    workflows,
    zoom_failure,
)

ACTION_TYPE = "zoom.cancel_registration"


def clean(config: dict) -> dict:
    only_keys(config, {"webinar_id"})
    return {"webinar_id": clean_webinar_id(config.get("webinar_id"))}


def run(ctx):
    actions = workflows()
    webinar_id = ctx.config["webinar_id"]
    contact = ctx.contact
    participation = (
        Participation.objects.select_related("event")
        .filter(contact=contact, event__source="zoom", event__external_event_id=webinar_id)
        .first()
    )
    if participation is None or participation.state == ParticipationState.CANCELLED:
        return actions.ActionResult.skipped(
            stored_text(
                gettext_noop("Not registered to webinar %(webinar)s: nothing to cancel"),
                webinar=webinar_id,
            )
        )
    try:
        _brand, connection = primary_connection()
        from .services.client import zoom_client

        client = zoom_client(connection)
        limiter = limiter_for(connection)
        person = {"email": contact.email or ""}
        if participation.external_registrant_id:
            person["id"] = participation.external_registrant_id
        call(limiter, "medium", lambda: client.cancel_registrants(webinar_id, [person]))
    except Stop as stop:
        return actions.ActionResult.failed(stop.message)
    except ZoomNotFound:
        return actions.ActionResult.failed(
            stored_text(
                gettext_noop(
                    "Webinar %(webinar)s was not found in the primary brand's Zoom account"
                ),
                webinar=webinar_id,
            )
        )
    except ZoomValidationError as exc:
        return actions.ActionResult.failed(
            stored_text(gettext_noop("Zoom refused the cancellation: %(error)s"), error=exc.message)
        )
    except (ZoomRateLimited, ZoomTransientError, ZoomAuthError) as exc:
        return zoom_failure(exc)
    now = timezone.now()
    plan_apply(
        Plan(
            event_id=participation.event_id,
            registrations=[
                RegistrationFact(
                    email=normalize_email(contact.email),
                    registered_at=participation.registered_at,
                    cancelled_at=now,
                    external_registrant_id=participation.external_registrant_id,
                    join_url=participation.join_url,
                )
            ],
        ),
    )
    contacts_recompute_legacy([contact.pk])
    return actions.ActionResult.succeeded(
        stored_text(
            gettext_noop("Registration to “%(webinar)s” cancelled"),
            webinar=participation.event.name,
        ),
        registrant_id=participation.external_registrant_id,
    )


def describe(config: dict) -> str:
    return _("Cancel the registration to Zoom webinar %(id)s") % {"id": config.get("webinar_id")}


def schema(direction: str) -> dict:
    webinar_id = {"type": "string", "pattern": "^[0-9]{9,12}$"}
    if direction == REQUEST:
        webinar_id = {
            "anyOf": [
                webinar_id,
                {"type": "integer", "minimum": 100_000_000, "maximum": 999_999_999_999},
            ]
        }
    return {
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": [ACTION_TYPE]},
            "webinar_id": {**webinar_id, "description": "The Zoom webinar's id"},
        },
        "required": ["type", "webinar_id"],
        "additionalProperties": False,
    }


def register() -> None:
    actions = workflows()
    from .workflow_action import webinar_choices

    actions.register_action(
        actions.ActionType(
            type=ACTION_TYPE,
            label=gettext_lazy("Cancel the Zoom webinar registration"),
            clean=clean,
            run=run,
            describe=describe,
            choices=webinar_choices,
            schema=schema,
            fields=(
                {
                    "name": "webinar_id",
                    "kind": "webinar",
                    "label": gettext_lazy("Webinar"),
                    "required": True,
                },
            ),  # fmt: skip
        )
    )
