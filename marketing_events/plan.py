"""What a page of activity changes, as plain data. Planners (the Zoom sync, the attendance API)
produce a `Plan`; `services.plan_apply` writes it in one transaction with bulk upserts.

Participation state is derived from facts (registered at, cancelled at, attended or not), not
from the order of arrival, so the same facts delivered in any order give the same rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import NamedTuple

from .rules import SkipReason


@dataclass(frozen=True)
class NewContact:
    email: str
    first_name: str = ""
    last_name: str = ""


@dataclass(frozen=True)
class RegistrationFact:
    email: str
    registered_at: dt.datetime | None = None
    cancelled_at: dt.datetime | None = None
    external_registrant_id: str = ""
    join_url: str = ""
    # Rules E1, E4, E5: (question, value) pairs, the tracking source, (utm key, value) pairs and
    # the referrer; empty when the fact does not say (a cancellation), which keeps stored ones.
    # A multi-choice answer is a tuple of its choices (stored as a JSON list).
    answers: tuple[tuple[str, str | tuple[str, ...]], ...] = ()
    source_id: str = ""
    source_name: str = ""
    utm: tuple[tuple[str, str], ...] = ()
    referrer: str = ""


def answer_text(value, *, separator: str = "; ") -> str:
    """An answer as one string (rule E1): a multi-choice answer's choices joined."""
    if isinstance(value, list | tuple):
        return separator.join(str(v) for v in value)
    return "" if value is None else str(value)


class PropertyWrite(NamedTuple):
    """A contact property to set from a registration answer (rule E2): `overwrite` False
    writes only where the contact has no value (`fill_empty`). A named tuple: a first sync
    builds one per mapped answer (several per registrant), a quarter the cost of a frozen
    dataclass's construction."""

    email: str
    property: str
    value: str
    overwrite: bool = False
    column: str | None = None  # the Contact column of a standard property


@dataclass(frozen=True)
class SessionFact:
    """One join/leave row of one occurrence."""

    email: str
    occurrence_key: str
    external_participant_id: str
    join_at: dt.datetime
    leave_at: dt.datetime | None
    name: str = ""


@dataclass(frozen=True)
class OccurrenceFact:
    key: str
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None


@dataclass(frozen=True)
class Skip:
    reason: SkipReason
    email: str = ""
    name: str = ""
    webinar_id: str = ""


@dataclass
class Plan:
    event_id: int
    new_contacts: list[NewContact] = field(default_factory=list)
    registrations: list[RegistrationFact] = field(default_factory=list)
    occurrences: list[OccurrenceFact] = field(default_factory=list)
    sessions: list[SessionFact] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    # Sessions of a live webinar stay provisional until it ends (rule B4).
    event_over: bool = True
    # Ids of the existing contacts the planner's snapshot found, by e-mail: `plan_apply` looks
    # up only the others (a contact deleted since makes the page fail, and the caller plans
    # it again).
    contact_ids: dict[str, int] = field(default_factory=dict)
    # Contact properties from mapped registration answers (rule E2).
    property_writes: list[PropertyWrite] = field(default_factory=list)
    # Answers that could not be written (a value the property does not take), with why.
    property_refusals: list = field(default_factory=list)

    @property
    def records(self) -> int:
        return len(self.registrations) + len(self.sessions) + len(self.skips)
