"""The pure core of the sync: a page of Zoom records + a snapshot of the CRM + the settings →
a `Plan` of contacts, participations, sessions and skips. No I/O: every rule is a unit test.

Rules: Z1 (Zoom Events), Z2 + B1 (guests, joined by registrant id), Z3 (see the workflow
action), Z4-Z8 (via `marketing_events.rules.resolve_person`), Z9 (skips with reasons),
S3 (host-domain exclusions, subdomains too), S6 (per-webinar toggle); S1 is the caller's gate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from marketing_events.plan import (
    NewContact,
    OccurrenceFact,
    Plan,
    RegistrationFact,
    SessionFact,
    Skip,
)
from marketing_events.rules import (
    CrmSnapshot,
    SkipReason,
    domain_listed,
    normalize,
    resolve_person,
)

from ..registration.mappings import AnswerMappings, choice_answers
from .records import Instance, Participant, Registrant, WebinarInfo


@dataclass(frozen=True)
class SyncSettings:
    webinar_exclusion_domains: tuple[str, ...] = ()
    contact_exclusion_domains: tuple[str, ...] = ()


def webinar_gate(webinar: WebinarInfo, settings: SyncSettings) -> SkipReason | None:
    """Why a whole webinar is not synced, if it is not (counted once per webinar per run)."""
    if webinar.is_zoom_events:
        return SkipReason.ZOOM_EVENTS  # rule Z1
    if domain_listed(normalize(webinar.host_email), settings.webinar_exclusion_domains):
        return SkipReason.EXCLUDED_HOST_DOMAIN  # rule S3
    if not webinar.sync_enabled:
        return SkipReason.WEBINAR_SYNC_OFF  # rule S6
    return None


def _skip(reason, email, name, webinar) -> Skip:
    return Skip(
        reason=reason,
        email=normalize(email),
        name=name.strip(),
        webinar_id=str(webinar.zoom_webinar_id),
    )


def _dedupe(skips: Iterable[Skip]) -> list[Skip]:
    """Rule Z9 counts one skip per (reason, person, webinar)."""
    seen, out = set(), []
    for skip in skips:
        key = (skip.reason, skip.email or skip.name, skip.webinar_id)
        if key not in seen:
            seen.add(key)
            out.append(skip)
    return out


def plan_registrants(
    webinar: WebinarInfo,
    registrants: Iterable[Registrant],
    snapshot: CrmSnapshot,
    settings: SyncSettings,
    sources: Mapping[str, str] | None = None,
    mappings: AnswerMappings | None = None,
) -> Plan:
    """`sources`: the webinar's tracking source names by id (rule E4); `mappings`: the
    question → property mappings in force and the properties they may write (rule E2)."""
    sources = sources or {}
    plan = Plan(event_id=webinar.event_id)
    skips = []
    new = {}
    for registrant in registrants:
        resolution = resolve_person(
            registrant.email, snapshot, contact_exclusion_domains=settings.contact_exclusion_domains
        )
        if resolution.skip is not None:
            skips.append(
                _skip(
                    resolution.skip,
                    registrant.email,
                    f"{registrant.first_name} {registrant.last_name}",
                    webinar,
                )
            )
            continue
        if resolution.contact is not None:
            plan.contact_ids[resolution.email] = resolution.contact.id
        elif resolution.create and resolution.email not in new:
            # Rule Z8: names keep their original form.
            new[resolution.email] = NewContact(
                resolution.email, registrant.first_name, registrant.last_name
            )
        cancelled = registrant.status == "cancelled"
        # Rule E1: a multi-choice answer is a list (the webinar's form says which are).
        answers = (
            choice_answers(registrant.answers, mappings.multi_choice)
            if mappings is not None
            else registrant.answers
        )
        plan.registrations.append(
            RegistrationFact(
                email=resolution.email,
                registered_at=None if cancelled else registrant.create_time,
                cancelled_at=registrant.create_time if cancelled else None,
                external_registrant_id=registrant.id,
                join_url=registrant.join_url or webinar.join_url,
                answers=answers,
                source_id=registrant.source_id,
                source_name=registrant.source_name or sources.get(registrant.source_id, ""),
            )
        )
        if mappings is not None and answers and not cancelled:
            writes, refused = mappings.writer(resolution.email, answers)
            plan.property_writes.extend(writes)
            plan.property_refusals.extend(refused)
    plan.new_contacts = list(new.values())
    plan.skips = _dedupe(skips)
    return plan


def plan_participants(
    webinar: WebinarInfo,
    instance: Instance,
    participants: Iterable[Participant],
    snapshot: CrmSnapshot,
    settings: SyncSettings,
    registrant_emails: Mapping[str, str],
    *,
    event_over: bool = True,
) -> Plan:
    """`registrant_emails` maps Zoom registrant ids to the e-mails they registered with, so a
    guest whose address Zoom hides is still matched to their registration (rule B1)."""
    plan = Plan(
        event_id=webinar.event_id,
        event_over=event_over,
        occurrences=[OccurrenceFact(instance.uuid, instance.start_time, instance.end_time)],
    )
    skips = []
    new = {}
    for participant in participants:
        email = participant.email
        if not normalize(email) and participant.registrant_id:
            email = registrant_emails.get(participant.registrant_id, "")  # rule B1
        resolution = resolve_person(
            email, snapshot, contact_exclusion_domains=settings.contact_exclusion_domains
        )
        if resolution.skip is not None:
            skips.append(_skip(resolution.skip, email, participant.name, webinar))
            continue
        if resolution.contact is not None:
            plan.contact_ids[resolution.email] = resolution.contact.id
        elif resolution.create and resolution.email not in new:
            first, _space, last = participant.name.strip().partition(" ")
            new[resolution.email] = NewContact(resolution.email, first, last)
        plan.sessions.append(
            SessionFact(
                email=resolution.email,
                occurrence_key=instance.uuid,
                external_participant_id=participant.participant_id or participant.registrant_id,
                join_at=participant.join_time,
                leave_at=participant.leave_time,
                name=participant.name,
            )
        )
    plan.new_contacts = list(new.values())
    plan.skips = _dedupe(skips)
    return plan


def emails_of(
    records: Iterable[Registrant | Participant], registrant_emails: Mapping[str, str] | None = None
) -> set[str]:
    """The e-mails a snapshot must cover for these records."""
    out = set()
    for record in records:
        email = normalize(record.email)
        if not email and isinstance(record, Participant) and registrant_emails:
            email = normalize(registrant_emails.get(record.registrant_id, ""))
        if email:
            out.add(email)
    return out
