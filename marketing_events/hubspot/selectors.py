"""Reads of the HubSpot-compatible marketing events API. Counters are computed from the
participations when read (no-shows depend on the clock: an event whose end has passed has
no-shows even if nothing was written since). Every page costs a fixed number of queries."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.errors import NotFound, ValidationFailed
from crm.ids import is_id_text
from crm.models import normalize_email

from ..models import MarketingEvent, Participation, ParticipationState
from ..services_api import event_find_external

BREAKDOWN_STATES = ("REGISTERED", "ATTENDED", "CANCELLED", "NO_SHOW", "VIEWED_RECORDING")


def events_with_counters() -> QuerySet[MarketingEvent]:
    """Events annotated with their counters (one query, whatever the page size)."""
    S = ParticipationState
    return MarketingEvent.objects.annotate(
        c_registered=Count(
            "participations", filter=Q(participations__state__in=[S.REGISTERED, S.ATTENDED])
        ),
        c_attended=Count("participations", filter=Q(participations__state=S.ATTENDED)),
        c_cancelled=Count("participations", filter=Q(participations__state=S.CANCELLED)),
        c_waiting=Count("participations", filter=Q(participations__state=S.REGISTERED)),
    )


def counters(event: MarketingEvent) -> dict[str, int]:
    """DESIGN "Decisions on details": registered = registered and not cancelled (attendees
    included); no-shows = registered, never attended, event over."""
    if not hasattr(event, "c_registered"):
        event = events_with_counters().get(pk=event.pk)
    return {
        "registered": event.c_registered,
        "attended": event.c_attended,
        "cancelled": event.c_cancelled,
        "noShows": event.c_waiting if event.is_over else 0,
    }


def event_by_object_id(object_id) -> MarketingEvent:
    text = str(object_id).strip()
    event = events_with_counters().filter(pk=int(text)).first() if is_id_text(text) else None
    if event is None:
        raise NotFound(
            _("Marketing event with objectId %(id)s does not exist.") % {"id": object_id}
        )
    return event


def require_account_id(raw) -> str:
    if raw is None or str(raw).strip() == "":
        message = _("externalAccountId is required (query parameter).")
        raise ValidationFailed(
            message, errors=[{"name": "externalAccountId", "code": "REQUIRED", "message": message}]
        )
    return str(raw).strip()


def event_by_external(external_account_id: str | None, external_event_id: str) -> MarketingEvent:
    """Across sources ("api" preferred, then "zoom"); with counters."""
    event = event_find_external(
        external_account_id=external_account_id, external_event_id=external_event_id
    )
    # Read again with its counters: None too when another request deleted it meanwhile.
    event = event and events_with_counters().filter(pk=event.pk).first()
    if event is None:
        if external_account_id:
            message = _(
                "Marketing event with externalAccountId %(account_id)s, externalEventId "
                "%(event_id)s does not exist."
            )
        else:
            message = _("Marketing event with externalEventId %(event_id)s does not exist.")
        raise NotFound(
            message % {"account_id": repr(external_account_id), "event_id": repr(external_event_id)}
        )
    return event


def events_page(*, after_id: int | None, limit: int) -> tuple[list[MarketingEvent], bool]:
    """All events of the portal (any source), by objectId ascending."""
    qs = events_with_counters().order_by("pk")
    if after_id is not None:
        qs = qs.filter(pk__gt=after_id)
    rows = list(qs[: limit + 1])
    return rows[:limit], len(rows) > limit


def events_search(external_event_id: str) -> list[MarketingEvent]:
    return list(MarketingEvent.objects.filter(external_event_id=external_event_id).order_by("pk"))


def _over() -> Q:
    return Q(event__completed=True) | Q(event__ends_at__lte=timezone.now())


# What `state` takes, as the schema lists it: each state in capitals or in lower case, or an
# empty value, which (like no `state` at all) means every state.
STATE_PARAMETER_VALUES = (*BREAKDOWN_STATES, *(s.lower() for s in BREAKDOWN_STATES), "")


def state_condition(raw: str | None) -> Q:
    """The `state` filter reads the displayed state: NO_SHOW is REGISTERED once the event is
    over, so REGISTERED then means registered for an event not over yet."""
    if raw is None or raw == "":
        return Q()
    state = str(raw).upper()
    if raw not in STATE_PARAMETER_VALUES:
        message = _("state must be one of %(choices)s; got %(value)s") % {
            "choices": ", ".join(BREAKDOWN_STATES),
            "value": repr(raw),
        }
        raise ValidationFailed(
            message, errors=[{"name": "state", "code": "INVALID_VALUE", "message": message}]
        )
    if state == "NO_SHOW":
        return Q(state=ParticipationState.REGISTERED) & _over()
    if state == "REGISTERED":
        return Q(state=ParticipationState.REGISTERED) & ~_over()
    return Q(state=state)


def contact_condition(raw: str | None) -> Q:
    """`contactIdentifier`: an e-mail (matched trimmed, case-insensitive) or a contact id."""
    if raw is None or str(raw).strip() == "":
        return Q()
    text = str(raw).strip()
    if "@" in text:
        return Q(contact__email=normalize_email(text))
    if is_id_text(text):
        return Q(contact_id=int(text))
    message = _("contactIdentifier must be an e-mail or a contact id; got %(value)s") % {
        "value": repr(raw)
    }
    raise ValidationFailed(
        message, errors=[{"name": "contactIdentifier", "code": "INVALID_VALUE", "message": message}]
    )


def participations_page(
    condition: Q, *, after_id: int | None, limit: int
) -> tuple[int, list[Participation], bool]:
    """(total, page, more): two queries whatever the page size."""
    qs = Participation.objects.filter(condition)
    total = qs.count()
    page = qs.select_related("contact", "event", "engagement", "registration").order_by("pk")
    if after_id is not None:
        page = page.filter(pk__gt=after_id)
    rows = list(page[: limit + 1])
    return total, rows[:limit], len(rows) > limit
