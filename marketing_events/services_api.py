"""Writes behind the HubSpot-compatible marketing events API (hubspot-api.md §1): events by
external id, cancel/complete, and attendance recorded through the same `Plan` as the Zoom sync,
so the same rules (Z4-Z8) decide who receives activity.

Events created here have `source="api"`. A write by external id updates the event that reads
would find (source "api" first, then "zoom"), else creates an "api" event."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.errors import Conflict, NotFound, ValidationFailed
from crm.models import Contact

from .activity import contacts_recompute_activity
from .models import AttendanceSession, EventOccurrence, MarketingEvent, Participation
from .plan import NewContact, OccurrenceFact, Plan, RegistrationFact, SessionFact, Skip
from .rules import FIX_HINTS, CrmSnapshot, SkipReason, normalize, resolve_person
from .selectors import crm_snapshot
from .services import event_recompute_counters, plan_apply

API_SOURCE = "api"
# Reads by external id look across sources, in this order of preference.
SOURCE_PREFERENCE = ("api", "zoom")
API_OCCURRENCE_KEY = "api"  # the one occurrence API attendance is recorded against
API_PARTICIPANT_ID = "api"
TIMELINE_KIND = "marketing_event"

SUBSCRIBER_STATES = ("register", "attend", "cancel")
# The longest a session still open (no leave) may have run: no webinar lasts a month.
MAX_OPEN_SESSION = dt.timedelta(days=31)


def event_find_external(
    *, external_account_id: str | None, external_event_id: str
) -> MarketingEvent | None:
    """The event with these external ids, whatever its source ("api" preferred, then "zoom").
    Without an account id, the event id alone must name one event."""
    qs = MarketingEvent.objects.filter(external_event_id=str(external_event_id))
    if external_account_id is not None:
        qs = qs.filter(external_account_id=str(external_account_id))
    candidates = list(qs)
    if not candidates:
        return None

    def rank(event: MarketingEvent) -> tuple:
        order = (
            SOURCE_PREFERENCE.index(event.source)
            if event.source in SOURCE_PREFERENCE
            else len(SOURCE_PREFERENCE)
        )
        return (event.external_account_id, order, event.pk)

    candidates.sort(key=rank)
    if external_account_id is None and len({e.external_account_id for e in candidates}) > 1:
        message = _(
            "Several accounts have an event with externalEventId %(id)s: give externalAccountId."
        ) % {"id": repr(external_event_id)}
        raise ValidationFailed(
            message,
            errors=[{"name": "externalAccountId", "code": "REQUIRED", "message": message}],
        )
    return candidates[0]


# --- events ---------------------------------------------------------------------------------

_FIELD_COLUMNS = {
    "eventName": "name",
    "eventType": "event_type",
    "eventOrganizer": "organizer",
    "eventDescription": "description",
    "eventUrl": "url",
    "startDateTime": "starts_at",
    "endDateTime": "ends_at",
    "eventCancelled": "cancelled",
    "eventCompleted": "completed",
    "customProperties": "custom_properties",
}


def _columns(fields: Mapping) -> dict:
    """HubSpot field names → model columns; fields absent from the input are left alone."""
    out = {}
    for name, column in _FIELD_COLUMNS.items():
        if name in fields:
            value = fields[name]
            if column in ("description", "url", "organizer", "event_type") and value is None:
                value = ""
            out[column] = value
    return out


def _recount(event: MarketingEvent) -> MarketingEvent:
    event_recompute_counters([event.pk])
    event.refresh_from_db()
    return event


@transaction.atomic
def event_create(*, fields: Mapping) -> MarketingEvent:
    """Creates an "api" event; 409 when one with these external ids exists (use PUT)."""
    existing = event_find_external(
        external_account_id=fields["externalAccountId"],
        external_event_id=fields["externalEventId"],
    )
    if existing is not None:
        raise Conflict(
            _(
                "A marketing event with externalAccountId %(account_id)s and externalEventId "
                "%(event_id)s already exists (objectId %(object_id)s). Use PUT "
                "/marketing/v3/marketing-events/events/{externalEventId} to update it."
            )
            % {
                "account_id": repr(fields["externalAccountId"]),
                "event_id": repr(fields["externalEventId"]),
                "object_id": existing.pk,
            },
            object_id=existing.pk,
        )
    event = _insert(fields)
    if event is None:  # a concurrent request created it first
        raise Conflict(
            _("A marketing event with externalEventId %(id)s was just created by another request.")
            % {"id": repr(fields["externalEventId"])}
        )
    return event


def _insert(fields: Mapping) -> MarketingEvent | None:
    """The new "api" event, or None when a concurrent request inserted these ids first."""
    now = timezone.now()
    try:
        with transaction.atomic():
            return MarketingEvent.objects.create(
                source=API_SOURCE,
                external_account_id=str(fields["externalAccountId"]),
                external_event_id=str(fields["externalEventId"]),
                created_at=now,
                updated_at=now,
                **_columns(fields),
            )
    except IntegrityError:
        return None


def _locked(event: MarketingEvent) -> MarketingEvent:
    """The event's row as it is now, locked until the transaction ends, so that a concurrent
    delete waits for this write (or wins before it, and this write is then a 404): the
    instance a view read moments ago may be gone (`save(update_fields=…)` would then fail)."""
    fresh = MarketingEvent.objects.select_for_update().filter(pk=event.pk).first()
    if fresh is None:
        raise NotFound(_("Marketing event %(id)s was deleted meanwhile.") % {"id": event.pk})
    return fresh


@transaction.atomic
def event_upsert_external(*, fields: Mapping) -> tuple[MarketingEvent, bool]:
    """Creates or updates by external ids; idempotent, also against concurrent requests: an
    event deleted meanwhile is created again, one created meanwhile is updated. Returns
    (event, created)."""
    key = {
        "external_account_id": fields["externalAccountId"],
        "external_event_id": fields["externalEventId"],
    }
    for _attempt in range(3):
        existing = event_find_external(**key)
        if existing is None:
            created = _insert(fields)
            if created is not None:
                return created, True
            continue  # created by a concurrent request: update it
        try:
            return event_update(event=existing, fields=fields), False
        except NotFound:
            continue  # deleted by a concurrent request: create it again
    raise Conflict(
        _("The marketing event with externalEventId %(id)s is being changed by other requests.")
        % {"id": repr(fields["externalEventId"])}
    )


@transaction.atomic
def events_upsert_batch(*, inputs: Sequence[Mapping]) -> list[MarketingEvent]:
    """All inputs in one transaction: one bad input writes nothing."""
    return [event_upsert_external(fields=item)[0] for item in inputs]


@transaction.atomic
def event_update(*, event: MarketingEvent, fields: Mapping) -> MarketingEvent:
    """Updates the given fields only. Changing the end or the completed flag can turn
    registrants into no-shows, so counters are recomputed."""
    event = _locked(event)
    columns = _columns(fields)
    for column, value in columns.items():
        setattr(event, column, value)
    if event.starts_at and event.ends_at and event.ends_at < event.starts_at:
        # One of the two given alone, against the other as stored (the input checks a pair).
        message = _("endDateTime must not be before startDateTime.")
        raise ValidationFailed(
            message, errors=[{"name": "endDateTime", "code": "INVALID_VALUE", "message": message}]
        )
    event.updated_at = timezone.now()
    event.save(update_fields=[*columns, "updated_at"])
    return _recount(event)


@transaction.atomic
def event_delete(*, event: MarketingEvent) -> None:
    """Deletes the event with its occurrences, participations and sessions; its
    participants' rollups follow."""
    _delete_events([event])


@transaction.atomic
def events_delete_batch(*, keys: Iterable[tuple[str, str]]) -> int:
    """Deletes the events with these (account id, event id); unknown ones are ignored."""
    events = []
    for account_id, event_id in keys:
        event = event_find_external(external_account_id=account_id, external_event_id=event_id)
        if event is not None:
            events.append(event)
    _delete_events(events)
    return len(events)


def _delete_events(events: list[MarketingEvent]) -> None:
    # Locked first, in this order: a writer adding rows under them waits, then finds them gone
    # (their children keep no foreign keys: see the note above `Participation`).
    ids = sorted(event.pk for event in events)
    list(MarketingEvent.objects.select_for_update().filter(pk__in=ids).order_by("pk").values("pk"))
    list(
        EventOccurrence.objects.select_for_update()
        .filter(event_id__in=ids)
        .order_by("pk")
        .values("pk")
    )
    contact_ids = set(
        Participation.objects.select_for_update()
        .filter(event_id__in=ids)
        .order_by("contact_id")
        .values_list("contact_id", flat=True)
    )
    for event in events:
        event.delete()
    contacts_recompute_activity(contact_ids)


@transaction.atomic
def event_cancel(*, event: MarketingEvent) -> MarketingEvent:
    event = _locked(event)
    event.cancelled = True
    event.updated_at = timezone.now()
    event.save(update_fields=["cancelled", "updated_at"])
    return _recount(event)


@transaction.atomic
def event_complete(
    *, event: MarketingEvent, starts_at: dt.datetime, ends_at: dt.datetime
) -> MarketingEvent:
    """Marks the event completed with its actual start and end. Attendance recorded through
    the API is measured against that span, so it is recomputed (final, no longer provisional),
    and registrants who never attended become no-shows. Idempotent."""
    event = _locked(event)
    event.starts_at, event.ends_at, event.completed = starts_at, ends_at, True
    event.updated_at = timezone.now()
    event.save(update_fields=["starts_at", "ends_at", "completed", "updated_at"])
    sessions = list(
        AttendanceSession.objects.filter(
            occurrence__event=event, occurrence__external_id=API_OCCURRENCE_KEY
        ).select_related("participation__contact")
    )
    if sessions:
        # Re-applying the recorded sessions with the new span recomputes their attendance.
        plan_apply(
            Plan(
                event_id=event.pk,
                occurrences=[OccurrenceFact(API_OCCURRENCE_KEY, starts_at, ends_at)],
                sessions=[
                    SessionFact(
                        email=s.participation.contact.email,
                        occurrence_key=API_OCCURRENCE_KEY,
                        external_participant_id=s.external_participant_id,
                        join_at=s.join_at,
                        leave_at=s.leave_at,
                        name=s.name,
                    )
                    for s in sessions
                ],
                event_over=True,
            ),
            timeline_kind=TIMELINE_KIND,
        )
    return _recount(event)


# --- attendance -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AttendanceInput:
    """One input of `…/email-create` (by `email`) or `…/create` (by `contact_id`)."""

    interaction_at: dt.datetime
    email: str = ""
    contact_id: int | None = None
    joined_at: dt.datetime | None = None
    left_at: dt.datetime | None = None
    first_name: str = ""
    last_name: str = ""


@dataclass
class AttendanceOutcome:
    results: list[dict] = field(default_factory=list)  # {"email", "vid"} in input order
    errors: list[dict] = field(default_factory=list)  # HubSpot StandardError entries


def attendance_plan(
    *, event: MarketingEvent, state: str, inputs: Sequence[AttendanceInput], snapshot: CrmSnapshot
) -> Plan:
    """Pure: the plan for these inputs, people resolved by the sync's rules (Z4-Z8; the API
    has no contact-exclusion domains). `state` is register, attend or cancel."""
    plan = Plan(event_id=event.pk, event_over=event.is_over)
    for item in inputs:
        resolution = resolve_person(item.email, snapshot)
        if resolution.skip is not None:
            plan.skips.append(Skip(reason=resolution.skip, email=resolution.email))
            continue
        email = resolution.email
        if resolution.create:
            plan.new_contacts.append(NewContact(email, item.first_name, item.last_name))
        if state == "register":
            plan.registrations.append(RegistrationFact(email, registered_at=item.interaction_at))
        elif state == "cancel":
            plan.registrations.append(RegistrationFact(email, cancelled_at=item.interaction_at))
        else:
            plan.sessions.append(
                SessionFact(
                    email=email,
                    occurrence_key=API_OCCURRENCE_KEY,
                    external_participant_id=API_PARTICIPANT_ID,
                    join_at=item.joined_at or item.interaction_at,
                    leave_at=item.left_at,
                )
            )
    if plan.sessions:
        plan.occurrences.append(OccurrenceFact(API_OCCURRENCE_KEY, event.starts_at, event.ends_at))
    return plan


def _skip_error(reason: str, email: str) -> dict:
    return {
        "status": "error",
        "category": "VALIDATION_ERROR",
        "subCategory": reason,
        "message": _("%(email)s was not recorded (%(reason)s): %(fix_hint)s")
        % {"email": email or _("(no e-mail)"), "reason": reason, "fix_hint": FIX_HINTS[reason]},
        "context": {"emails": [email], "reason": [reason]},
    }


def _open_too_long(event: MarketingEvent, item: AttendanceInput) -> bool:
    """A session with no leave, at an event not over, counts until now (rule B4): one that
    began longer ago than any webinar lasts is not a live session (and its seconds would
    overflow the 32-bit duration columns)."""
    joined = item.joined_at or item.interaction_at
    return item.left_at is None and not event.is_over and joined < timezone.now() - MAX_OPEN_SESSION


def _open_session_error(item: AttendanceInput) -> dict:
    who = item.email or str(item.contact_id)
    return {
        "status": "error",
        "category": "VALIDATION_ERROR",
        "message": _(
            "%(who)s was not recorded: a session without properties.leftAt counts until now "
            "while the event is not over, and this one began more than %(days)s days ago; "
            "give properties.leftAt, or complete the event first."
        )
        % {"who": who, "days": MAX_OPEN_SESSION.days},
        "context": {"emails" if item.email else "ids": [who]},
    }


def attendance_record(
    *, event: MarketingEvent, state: str, inputs: Sequence[AttendanceInput]
) -> AttendanceOutcome:
    """Records participations of `state` (register, attend, cancel), creating missing contacts
    allowed by the rules; people the rules refuse, and unknown contact ids, are reported as
    errors and nothing is recorded for them. Idempotent: re-posting the same inputs changes
    nothing (sessions are keyed by their join time, facts merge)."""
    outcome = AttendanceOutcome()
    by_id = {}
    wanted_ids = {i.contact_id for i in inputs if i.contact_id is not None}
    if wanted_ids:
        by_id = dict(
            Contact.objects.filter(pk__in=wanted_ids, archived_at__isnull=True).values_list(
                "pk", "email"
            )
        )
    resolved: list[AttendanceInput] = []
    for item in inputs:
        if item.contact_id is not None:
            email = by_id.get(item.contact_id)
            if not email:
                outcome.errors.append(
                    {
                        "status": "error",
                        "category": "OBJECT_NOT_FOUND",
                        "message": (
                            _("Contact %(id)s does not exist or has no e-mail.")
                            if item.contact_id in by_id
                            else _("Contact %(id)s does not exist.")
                        )
                        % {"id": item.contact_id},
                        "context": {"ids": [str(item.contact_id)]},
                    }
                )
                continue
            item = replace(item, email=email)
        if state == "attend" and _open_too_long(event, item):
            outcome.errors.append(_open_session_error(item))
            continue
        resolved.append(item)
    snapshot = crm_snapshot(i.email for i in resolved)
    plan = attendance_plan(event=event, state=state, inputs=resolved, snapshot=snapshot)
    skipped = {skip.email: skip.reason for skip in plan.skips}
    if plan.records > len(plan.skips):
        try:
            plan_apply(plan, timeline_kind=TIMELINE_KIND)
        except IntegrityError:
            # The event was deleted by another request since it was read: nothing was
            # recorded (the page's transaction rolled back), and the event is gone.
            if not MarketingEvent.objects.filter(pk=event.pk).exists():
                raise NotFound(
                    _("Marketing event %(id)s was deleted meanwhile.") % {"id": event.pk}
                )
            raise
    ids = dict(
        Contact.objects.filter(
            email__in={normalize(i.email) for i in resolved} - set(skipped),
            archived_at__isnull=True,
        ).values_list("email", "pk")
    )
    for item in resolved:
        email = normalize(item.email)
        if email in skipped or not email:
            outcome.errors.append(_skip_error(skipped.get(email, SkipReason.NO_EMAIL), email))
        elif email in ids:
            outcome.results.append({"email": email, "vid": ids[email]})
    return outcome
