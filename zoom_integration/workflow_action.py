"""The workflow action "Add contact to Zoom webinar" (rules W2–W8), registered into the
workflows' action registry.

Configuration: `{"webinar_id": "81234567890"}` (digits only, W2) or
`{"webinar_id_property": "prop"}` (a contact property holding the id, checked when it runs).

Running it for a contact: the primary brand's Zoom connection only (W4); not the webinar's host
or the connected user (W5); the webinar's registration questions checked before registering,
so that a webinar asking for more than first name, last name and e-mail fails naming those
fields (W6); then `POST /webinars/{id}/registrants` with the contact's names and primary e-mail
(W3). Idempotent (W7): a contact already registered (a participation with a registrant id) is
not posted again, and a retry looks the registrant up before posting. Success records the
participation and the timeline entry at once and recomputes the legacy properties (W8).
429, 5xx and timeouts are handed back to the workflow runner, which retries with back-off."""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from crm.filter_schema import REQUEST
from crm.models import Brand, normalize_email
from crm.properties import all_property_specs, property_value, spec_label
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
from .models import ConnectionStatus, ZoomConnection, ZoomUser, ZoomWebinar
from .registration.services import contact_registration_fill
from .sync.events import webinar_event_ensure, webinar_from_payload
from .workflow_steps import (
    WEBINAR_ID,
    Stop,
    call,
    clean_webinar_id,
    limiter_for,
    only_keys,
    primary_connection,
    webinar_times,
    workflows,
    zoom_failure,
)

logger = logging.getLogger(__name__)

ACTION_TYPE = "zoom.add_contact_to_webinar"
FILLED_FIELDS = {"first_name", "last_name", "email"}
HOST_MESSAGE = gettext_noop("Webinar host cannot register to the webinar")
FACTS_TTL_SECONDS = 60
ZOOM_HOST_CODE = 3027


# ---- configuration (W2) -------------------------------------------------------------------


def clean(config: dict) -> dict:
    actions = workflows()
    only_keys(config, {"webinar_id", "webinar_id_property"})
    raw_id = config.get("webinar_id")
    prop = config.get("webinar_id_property")
    has_id = raw_id not in (None, "")
    has_prop = prop not in (None, "")
    if has_id == has_prop:
        raise actions.ActionInvalid(
            _("Give either a webinar id or a contact property that holds one"), "webinar_id"
        )
    if has_id:
        return {"webinar_id": clean_webinar_id(raw_id)}
    if not isinstance(prop, str) or prop not in all_property_specs():
        raise actions.ActionInvalid(
            _("Contact property %(name)s does not exist") % {"name": repr(prop)},
            "webinar_id_property",
        )
    return {"webinar_id_property": prop}


def schema(direction: str) -> dict:
    """Either `webinar_id` or `webinar_id_property` (an empty or null one counts as absent in
    requests; a saved configuration has exactly one)."""
    if direction == REQUEST:
        webinar_id = {
            "anyOf": [
                {"type": "string", "pattern": "^([0-9]{9,12})?$"},
                {"type": "integer", "minimum": 100_000_000, "maximum": 999_999_999_999},
            ],
            "nullable": True,
        }
        webinar_id_property = {"type": "string", "nullable": True}
    else:
        webinar_id = {"type": "string", "pattern": "^[0-9]{9,12}$"}
        webinar_id_property = {"type": "string", "minLength": 1}
    webinar_id["description"] = "The Zoom webinar's id (rule W2)"
    webinar_id_property["description"] = "A contact property holding the webinar's id"
    result = {
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": [ACTION_TYPE]},
            "webinar_id": webinar_id,
            "webinar_id_property": webinar_id_property,
        },
        "required": ["type"],
        "additionalProperties": False,
    }
    if direction != REQUEST:
        result["minProperties"] = result["maxProperties"] = 2
    return result


def describe(config: dict) -> str:
    if config.get("webinar_id"):
        return _("Add contact to Zoom webinar %(id)s") % {"id": config["webinar_id"]}
    return _("Add contact to the Zoom webinar in property “%(p)s”") % {
        "p": config.get("webinar_id_property")
    }


# ---- running it -----------------------------------------------------------------------------


def _webinar_id(config: dict, contact) -> str:
    if config.get("webinar_id"):
        return config["webinar_id"]
    name = config["webinar_id_property"]
    spec = all_property_specs().get(name)
    if spec is None:
        raise Stop(
            stored_text(
                gettext_noop("The contact property %(name)s no longer exists"), name=repr(name)
            )
        )
    value = (property_value(contact, spec) or "").strip()
    if not value:
        raise Stop(
            stored_text(
                gettext_noop(
                    "The contact's property “%(property)s” is empty: no webinar to register to"
                ),
                property=str(spec_label(spec)),
            )
        )
    if not WEBINAR_ID.fullmatch(value):
        raise Stop(
            stored_text(
                gettext_noop(
                    "The contact's property “%(property)s” holds %(value)s, which is not a Zoom "
                    "webinar id (9 to 12 digits, no spaces or dashes)"
                ),
                property=str(spec_label(spec)),
                value=repr(value),
            )
        )
    return value


def _other_brand_owner(connection: ZoomConnection, webinar_id: str) -> ZoomWebinar | None:
    return (
        ZoomWebinar.objects.select_related("connection__brand")
        .filter(zoom_webinar_id=int(webinar_id))
        .exclude(connection=connection)
        .first()
    )


def run(ctx):
    actions = workflows()
    contact = ctx.contact
    try:
        webinar_id = _webinar_id(ctx.config, contact)
        if not contact.email:
            raise Stop(
                stored_text(gettext_noop("The contact has no primary e-mail to register with"))
            )
        if not contact.first_name.strip():
            raise Stop(
                stored_text(
                    gettext_noop(
                        "Zoom needs a first name to register someone; the contact has none"
                    )
                )
            )
        brand, connection = primary_connection()
        known_here = ZoomWebinar.objects.filter(
            connection=connection, zoom_webinar_id=int(webinar_id)
        ).exists()
        other = None if known_here else _other_brand_owner(connection, webinar_id)
        if other is not None:
            raise Stop(
                stored_text(
                    gettext_noop(
                        "Webinar %(webinar)s belongs to the Zoom account of brand “%(brand)s”; "
                        "only webinars of the primary brand (“%(primary)s”) can be used"
                    ),
                    webinar=webinar_id,
                    brand=other.connection.brand.name,
                    primary=brand.name,
                )
            )
        return _register(ctx, brand, connection, webinar_id)
    except Stop as stop:
        return actions.ActionResult.failed(stop.message)
    except (ZoomRateLimited, ZoomTransientError, ZoomAuthError) as exc:
        return zoom_failure(exc)


def _register(ctx, brand: Brand, connection: ZoomConnection, webinar_id: str):
    actions = workflows()
    from .services.client import zoom_client

    contact = ctx.contact
    client = zoom_client(connection)
    limiter = limiter_for(connection)
    webinar, questions = _webinar_facts(client, limiter, connection, brand, webinar_id)
    # Rule W5: the host and the connected user cannot register.
    host_email = ""
    host = ZoomUser.objects.filter(
        connection=connection, zoom_user_id=webinar.get("host_id")
    ).first()
    if host is not None:
        host_email = host.email
    blocked = {normalize_email(host_email), normalize_email(connection.connected_user_email)}
    if normalize_email(contact.email) in blocked - {""}:
        raise Stop(stored_text(HOST_MESSAGE))

    # Already registered (a re-enrollment, or a retry after the answer was recorded).
    existing = (
        Participation.objects.filter(
            contact=contact, event__source="zoom", event__external_event_id=webinar_id
        )
        .exclude(state=ParticipationState.CANCELLED)
        .exclude(external_registrant_id="")
        .first()
    )
    if existing is not None:
        return actions.ActionResult.succeeded(
            stored_text(
                gettext_noop("Already registered to “%(webinar)s”"),
                webinar=webinar.get("topic", webinar_id),
            ),
            registrant_id=existing.external_registrant_id,
            join_url=existing.join_url,
        )

    # Rules W6 and E3: the webinar's other required fields and custom questions come from the
    # contact's mapped properties; only what none of them holds makes the registration fail.
    extra_fields, missing = contact_registration_fill(connection, webinar_id, questions, contact)
    if missing:
        raise Stop(
            stored_text(
                gettext_noop(
                    "Webinar %(webinar)s requires fields a workflow cannot fill: %(fields)s"
                ),
                webinar=webinar_id,
                fields=", ".join(missing),
            )
        )

    answer = None
    if ctx.attempt > 1:  # the previous try may have registered before it failed
        answer = _find_registrant(client, limiter, webinar_id, contact.email)
    if answer is None:
        body = {"email": contact.email, "first_name": contact.first_name, **extra_fields}
        if contact.last_name:
            body["last_name"] = contact.last_name
        try:
            answer = call(limiter, "light", lambda: client.add_registrant(webinar_id, body))
        except ZoomValidationError as exc:
            if exc.code == ZOOM_HOST_CODE:
                raise Stop(stored_text(HOST_MESSAGE))
            fields = [e.get("field") for e in exc.errors if e.get("field")]
            if fields:
                raise Stop(
                    stored_text(
                        gettext_noop("Zoom refused the registration; it needs: %(fields)s"),
                        fields=", ".join(fields),
                    )
                )
            raise Stop(
                stored_text(
                    gettext_noop("Zoom refused the registration: %(error)s"), error=exc.message
                )
            )
        except ZoomNotFound:
            raise Stop(
                stored_text(
                    gettext_noop(
                        "Webinar %(webinar)s was not found in the primary brand's Zoom account"
                    ),
                    webinar=webinar_id,
                )
            )
    _record(connection, webinar, contact, answer)
    return actions.ActionResult.succeeded(
        stored_text(
            gettext_noop("Registered to “%(webinar)s”"), webinar=webinar.get("topic", webinar_id)
        ),
        registrant_id=str(answer.get("registrant_id") or answer.get("id") or ""),
        join_url=answer.get("join_url", ""),
    )


def _webinar_facts(client, limiter, connection, brand, webinar_id: str) -> tuple[dict, dict]:
    """The webinar and its registration questions, kept a minute: enrolling a thousand
    contacts in one webinar then costs Zoom one registration call each, not three."""
    key = f"zoom-wf:webinar:{connection.pk}:{webinar_id}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    try:
        webinar = call(limiter, "light", lambda: client.get_webinar(webinar_id))
    except ZoomNotFound:
        raise Stop(
            stored_text(
                gettext_noop(
                    "Webinar %(webinar)s was not found in the Zoom account of the primary brand "
                    "(“%(brand)s”)"
                ),
                webinar=webinar_id,
                brand=brand.name,
            )
        )
    questions = call(limiter, "light", lambda: client.registration_questions(webinar_id))
    cache.set(key, (webinar, questions), FACTS_TTL_SECONDS)
    return webinar, questions


def _find_registrant(client, limiter, webinar_id: str, email: str) -> dict | None:
    wanted = normalize_email(email)
    for status in ("approved", "pending"):
        pages = client.registrant_pages(webinar_id, status=status)
        while True:
            try:
                page = call(limiter, "medium", lambda pages=pages: next(pages))
            except StopIteration:
                break
            for registrant in page.get("registrants") or []:
                if normalize_email(registrant.get("email")) == wanted:
                    return {
                        "registrant_id": registrant.get("id"),
                        "join_url": registrant.get("join_url", ""),
                    }
    return None


def _record(connection: ZoomConnection, webinar: dict, contact, answer: dict) -> None:
    """Rule W8: the participation (and its timeline entry) at once, whatever S1 says; the
    legacy properties follow (they only move where they are live, rule P5)."""
    cached = webinar_from_payload(connection, webinar)
    if cached is None:
        return
    event = webinar_event_ensure(connection, cached)
    plan = Plan(
        event_id=event.pk,
        registrations=[
            RegistrationFact(
                email=normalize_email(contact.email),
                registered_at=timezone.now(),
                external_registrant_id=str(answer.get("registrant_id") or ""),
                join_url=answer.get("join_url", ""),
            )
        ],
    )
    result = plan_apply(plan)
    contacts_recompute_legacy(result.contact_ids or [contact.pk])


PICKER_WEBINARS = 200


def webinar_choices() -> dict:
    """The webinars the action may use (rule W4: the primary brand's connection only),
    upcoming first, then the most recent past ones, for the workflow editor's picker."""
    from django.db.models import Q

    connection = ZoomConnection.objects.filter(
        brand__is_primary=True, status=ConnectionStatus.CONNECTED
    ).first()
    if connection is None:
        return {"connected": False, "webinars": []}
    now = timezone.now()
    webinars = ZoomWebinar.objects.filter(connection=connection, is_zoom_events=False).only(
        "zoom_webinar_id", "topic", "start_time", "end_time"
    )
    upcoming = list(
        webinars.filter(Q(start_time__gte=now) | Q(end_time__gte=now)).order_by(
            "start_time", "zoom_webinar_id"
        )[:PICKER_WEBINARS]
    )
    past = list(
        webinars.exclude(pk__in=[w.pk for w in upcoming]).order_by(
            "-start_time", "zoom_webinar_id"
        )[: PICKER_WEBINARS - len(upcoming)]
    )
    return {
        "connected": True,
        "webinars": [
            {"id": str(w.zoom_webinar_id), "topic": w.topic, "start_time": w.start_time,
             "upcoming": w in upcoming}
            for w in upcoming + past
        ],
    }  # fmt: skip


def register() -> None:
    actions = workflows()
    # A delay relative to a webinar listed here but not synced yet still knows its times.
    actions.register_webinar_times(webinar_times)
    actions.register_action(
        actions.ActionType(
            type=ACTION_TYPE,
            label=gettext_lazy("Add contact to Zoom webinar"),
            clean=clean,
            run=run,
            describe=describe,
            choices=webinar_choices,
            schema=schema,
            fields=(
                {
                    "name": "mode",
                    "kind": "mode",
                    "label": gettext_lazy("Webinar"),
                    "virtual": True,
                    "choices": [
                        ["webinar_id", gettext_lazy("A webinar")],
                        ["webinar_id_property", gettext_lazy("The webinar in a contact property")],
                    ],
                },
                {
                    "name": "webinar_id",
                    "kind": "webinar",
                    "label": gettext_lazy("Webinar"),
                    "required": True,
                    "when": "webinar_id",
                },
                {
                    "name": "webinar_id_property",
                    "kind": "property",
                    "label": gettext_lazy("Contact property"),
                    "required": True,
                    "when": "webinar_id_property",
                },
            ),  # fmt: skip
        )
    )


__all__ = ["ACTION_TYPE", "register"]
