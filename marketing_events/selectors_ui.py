"""Reads for the marketing-events pages: the filtered event list, an event's counters, funnel and
attendance-duration histogram (one aggregate query, never loading participants), occurrences,
participants by state, the CSV rows, and a contact's participations.

States in filters follow DESIGN's counter definitions, so a filter's row count equals the counter
card above it: `REGISTERED` = registered and not cancelled (attendees included), `ATTENDED`,
`CANCELLED`, `NO_SHOW` = registered, never attended, event over (rule M2, derived when read)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import (
    Avg,
    Case,
    Count,
    F,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.models import Contact

from .models import (
    REGISTERED_STATES,
    EventOccurrence,
    MarketingEvent,
    Participation,
    ParticipationState,
)
from .plan import answer_text
from .registration_answers import event_questions

NO_SHOW = "NO_SHOW"
STATE_FILTERS = ("REGISTERED", "ATTENDED", "NO_SHOW", "CANCELLED")
STATE_LABELS = {
    "REGISTERED": pgettext_lazy("participation state", "Registered"),
    "ATTENDED": pgettext_lazy("participation state", "Attended"),
    "NO_SHOW": _("No-show"),
    "CANCELLED": _("Cancelled"),
    "VIEWED_RECORDING": _("Viewed the recording"),
}

# Attendance-duration histogram buckets, in minutes: [low, high); the last one is open.
BUCKETS: tuple[tuple[int, int | None], ...] = (
    (0, 5),
    (5, 15),
    (15, 30),
    (30, 45),
    (45, 60),
    (60, None),
)


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _over_q(now: dt.datetime) -> Q:
    """SQL twin of `MarketingEvent.is_over`."""
    return Q(completed=True) | Q(ends_at__lte=now)


def event_list(
    *, search: str = "", starts_from: dt.date | None = None, starts_to: dt.date | None = None
) -> QuerySet[MarketingEvent]:
    """Events by name and start date (both ends inclusive, in the current time zone), newest
    first. `no_shows` is derived from the counters and the clock, so an event that ended after
    its last sync already shows its no-shows."""
    events = MarketingEvent.objects.all()
    if search:
        events = events.filter(name__icontains=search)
    if starts_from:
        events = events.filter(starts_at__gte=_day_start(starts_from))
    if starts_to:
        events = events.filter(starts_at__lt=_day_start(starts_to + dt.timedelta(days=1)))
    return events.annotate(
        no_shows=Case(
            When(_over_q(timezone.now()), then=F("registered_count") - F("attended_count")),
            default=Value(0),
            output_field=IntegerField(),
        )
    ).order_by(F("starts_at").desc(nulls_last=True), "-pk")


@dataclass(frozen=True)
class Bucket:
    low: int
    high: int | None
    count: int

    @property
    def key(self) -> str:
        return f"{self.low}-{self.high}" if self.high is not None else f"{self.low}+"

    @property
    def label(self) -> str:
        return f"{self.low}–{self.high}" if self.high is not None else f"{self.low}+"


@dataclass(frozen=True)
class EventStats:
    registered: int
    attended: int
    cancelled: int
    no_shows: int
    waiting: int
    average_duration_seconds: int | None
    buckets: tuple[Bucket, ...]

    @property
    def total(self) -> int:
        return self.registered + self.cancelled

    @property
    def attended_percent(self) -> Decimal | None:
        return _percent(self.attended, self.registered)

    @property
    def no_show_percent(self) -> Decimal | None:
        return _percent(self.no_shows, self.registered)

    def count_for(self, state: str) -> int:
        return {
            "": self.total,
            "REGISTERED": self.registered,
            "ATTENDED": self.attended,
            "NO_SHOW": self.no_shows,
            "CANCELLED": self.cancelled,
        }[state]


def _percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _bucket_q(low: int, high: int | None) -> Q:
    q = Q(state=ParticipationState.ATTENDED, duration_seconds__gte=low * 60)
    if high is not None:
        q &= Q(duration_seconds__lt=high * 60)
    return q


def event_stats(event: MarketingEvent) -> EventStats:
    """Counters and histogram buckets of one event in ONE aggregate query."""
    attended = Q(state=ParticipationState.ATTENDED)
    aggregates = {
        "registered": Count("id", filter=Q(state__in=REGISTERED_STATES)),
        "attended": Count("id", filter=attended),
        "cancelled": Count("id", filter=Q(state=ParticipationState.CANCELLED)),
        "waiting": Count("id", filter=Q(state=ParticipationState.REGISTERED)),
        "average": Avg("duration_seconds", filter=attended),
    }
    for index, (low, high) in enumerate(BUCKETS):
        aggregates[f"b{index}"] = Count("id", filter=_bucket_q(low, high))
    row = Participation.objects.filter(event=event).aggregate(**aggregates)
    waiting = row["waiting"]
    return EventStats(
        registered=row["registered"],
        attended=row["attended"],
        cancelled=row["cancelled"],
        waiting=0 if event.is_over else waiting,
        no_shows=waiting if event.is_over else 0,
        average_duration_seconds=None if row["average"] is None else round(row["average"]),
        buckets=tuple(
            Bucket(low, high, row[f"b{index}"]) for index, (low, high) in enumerate(BUCKETS)
        ),
    )


def funnel(stats: EventStats) -> list[dict]:
    """Registered → attended, each step with its count, its share of the registrants, and the
    bar width (a plain string, safe in CSS whatever the locale)."""
    steps = [
        ("registered", pgettext_lazy("people", "Registered"), stats.registered),
        ("attended", pgettext_lazy("people", "Attended"), stats.attended),
    ]
    rows = []
    for key, label, count in steps:
        percent = _percent(count, stats.registered)
        width = float(percent or 0)
        rows.append(
            {
                "key": key,
                "label": label,
                "count": count,
                "percent": percent,
                "width": f"{max(width, 0.5 if count else 0):.1f}",
            }
        )
    return rows


def _nice_max(value: int) -> int:
    """A round axis maximum at or above `value` (1, 2, 5 × 10^n), at least 1."""
    if value <= 1:
        return 1
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude >= value:
                return step * magnitude
        magnitude *= 10


# Histogram geometry (SVG user units).
CHART_WIDTH, CHART_HEIGHT = 640, 260
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 44, 16, 18, 42


def histogram(stats: EventStats) -> dict:
    """Everything the template needs to draw the attendance-duration histogram as inline SVG.
    Coordinates are preformatted strings so no locale turns `12.5` into `12,5`."""
    buckets = stats.buckets
    top = _nice_max(max((b.count for b in buckets), default=0))
    plot_w = CHART_WIDTH - PLOT_LEFT - PLOT_RIGHT
    plot_h = CHART_HEIGHT - PLOT_TOP - PLOT_BOTTOM
    slot = plot_w / len(buckets)
    bar_w = slot * 0.64
    base_y = PLOT_TOP + plot_h
    bars = []
    for index, bucket in enumerate(buckets):
        height = plot_h * bucket.count / top
        x = PLOT_LEFT + slot * index + (slot - bar_w) / 2
        bars.append(
            {
                "bucket": bucket,
                "x": f"{x:.1f}",
                "y": f"{base_y - height:.1f}",
                "width": f"{bar_w:.1f}",
                "height": f"{height:.1f}",
                "label_x": f"{x + bar_w / 2:.1f}",
                "count_y": f"{base_y - height - 6:.1f}",
                "percent": _percent(bucket.count, stats.attended),
            }
        )
    ticks = []
    tick_step = top / 4 if top >= 4 else 1
    value = 0.0
    while value <= top + 1e-9:
        y = base_y - plot_h * value / top
        ticks.append({"value": f"{value:g}", "y": f"{y:.1f}", "text_y": f"{y + 4:.1f}"})
        value += tick_step
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "plot_left": PLOT_LEFT,
        "plot_right": CHART_WIDTH - PLOT_RIGHT,
        "axis_label_x": f"{PLOT_LEFT - 8}",
        "base_y": f"{base_y:.1f}",
        "x_label_y": f"{base_y + 18:.1f}",
        "x_title_y": f"{CHART_HEIGHT - 4:.1f}",
        "x_title_x": f"{PLOT_LEFT + plot_w / 2:.1f}",
        "bars": bars,
        "ticks": ticks,
        "empty": stats.attended == 0,
    }


def occurrence_list(event: MarketingEvent) -> QuerySet[EventOccurrence]:
    """Occurrences (rule B3) with their attendee count and mean merged duration: one query."""
    return event.occurrences.annotate(
        attendees=Count("attendances"),
        average_duration=Avg("attendances__duration_seconds"),
    ).order_by(F("starts_at").asc(nulls_last=True), "pk")


def participants(
    event: MarketingEvent, *, state: str = "", sort: str = ""
) -> QuerySet[Participation]:
    """An event's participations with their contacts (and engagement, rule E8: `engagement` is
    the reverse one-to-one the Zoom integration's engagement app adds), filtered by
    `STATE_FILTERS` semantics; `sort="score"`: highest engagement score first."""
    rows = Participation.objects.filter(event=event).select_related(
        "contact", "engagement", "registration"
    )
    if state == "REGISTERED":
        rows = rows.filter(state__in=REGISTERED_STATES)
    elif state in (ParticipationState.ATTENDED, ParticipationState.CANCELLED):
        rows = rows.filter(state=state)
    elif state == NO_SHOW:
        rows = rows.filter(state=ParticipationState.REGISTERED) if event.is_over else rows.none()
    first = (F("engagement__score").desc(nulls_last=True),) if sort == "score" else ()
    return rows.order_by(
        *first,
        F("contact__last_name").asc(),
        F("contact__first_name").asc(),
        "contact__email",
        "pk",
    )


CSV_COLUMNS = (
    "contact_id",
    "email",
    "firstname",
    "lastname",
    "state",
    "registered_at",
    "first_join_at",
    "last_leave_at",
    "duration_seconds",
    "attendance_percent",
)


def _csv_when(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).isoformat() if value is not None else ""


def participant_csv_rows(
    event: MarketingEvent, *, state: str = "", chunk_size: int = 2000
) -> Iterator[list]:
    """CSV rows (header first), read with a server-side iterator in chunks: memory stays flat
    whatever the number of participants. Raw values: `crm.csv_export` makes them safe. After
    the fixed columns: the tracking source (when any registrant came through one) and a column
    per question answered (rules E1, E4), headed by Zoom's field name or the custom question's
    title."""
    questions, has_sources = event_questions(event)
    yield [*CSV_COLUMNS, *(["tracking_source"] if has_sources else []), *questions]
    over = event.is_over
    rows = (
        participants(event, state=state)
        .order_by("pk")
        .values_list(
            "contact_id",
            "contact__email",
            "contact__first_name",
            "contact__last_name",
            "state",
            "registered_at",
            "first_join_at",
            "last_leave_at",
            "duration_seconds",
            "attendance_percent",
            "registration__source_name",
            "registration__answers",
        )
    )
    for (
        contact_id,
        email,
        first,
        last,
        row_state,
        registered,
        joined,
        left,
        duration,
        percent,
        source_name,
        answers,
    ) in rows.iterator(chunk_size=chunk_size):
        if row_state == ParticipationState.REGISTERED and over:
            row_state = NO_SHOW
        answers = answers or {}
        yield [
            contact_id,
            email or "",
            first or "",
            last or "",
            row_state,
            _csv_when(registered),
            _csv_when(joined),
            _csv_when(left),
            duration,
            "" if percent is None else str(percent),
            *([source_name or ""] if has_sources else []),
            *(answer_text(answers.get(q, "")) for q in questions),
        ]


def contact_participations(contact: Contact, *, limit: int = 50) -> list[Participation]:
    """A contact's participations with their events, newest event first: one query."""
    return list(
        Participation.objects.filter(contact=contact)
        .select_related("event", "engagement", "registration")
        .order_by(F("event__starts_at").desc(nulls_last=True), "-pk")[:limit]
    )
