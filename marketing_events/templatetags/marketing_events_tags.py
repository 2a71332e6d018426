"""Template helpers of the marketing-events pages, and the two pieces the contact page (a crm
template) borrows: `{% contact_participations contact %}` and `{% timeline_activity event as a %}`.
Templates may load this library; crm's Python never imports marketing_events (layer contract)."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import time_format
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _lazy

from crm.timeline import timeline_kind

from .. import selectors_ui

register = template.Library()


def _seconds(value) -> int | None:
    try:
        return int(round(float(value)))
    except (TypeError, ValueError):
        return None


@register.filter
def duration(value) -> str:
    """Seconds as a short human duration: `45 s`, `38 min`, `1 h 05 min`."""
    seconds = _seconds(value)
    if seconds is None:
        return ""
    if seconds < 60:
        return gettext("%(s)d s") % {"s": seconds}
    minutes = int((Decimal(seconds) / 60).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
    hours, minutes = divmod(minutes, 60)
    if hours:
        return gettext("%(h)d h %(m)02d min") % {"h": hours, "m": minutes}
    return gettext("%(m)d min") % {"m": minutes}


@register.filter
def minutes(value) -> str:
    """Seconds as whole minutes (rounded), `< 1` for a short visit."""
    seconds = _seconds(value)
    if seconds is None:
        return ""
    if 0 < seconds < 30:
        return "< 1"
    return str(int((Decimal(seconds) / 60).quantize(Decimal("1"), rounding=ROUND_HALF_UP)))


@register.filter
def is_past(value) -> bool:
    return isinstance(value, dt.datetime) and value <= timezone.now()


@register.filter
def is_web_url(value) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


@register.simple_tag
def state_badge(state: str) -> str:
    label = selectors_ui.STATE_LABELS.get(state, state)
    return format_html(
        '<span class="badge me-state me-state--{}" data-state="{}">{}</span>',
        state.lower(),
        state,
        label,
    )


# Rule E8's parts, as the score's tooltip names them.
SCORE_PARTS = {
    "attendance": _lazy("Attendance"),
    "questions": _lazy("Questions"),
    "polls": _lazy("Polls"),
    "survey": _lazy("Survey"),
    "recording": _lazy("Recording"),
}


@register.simple_tag
def engagement_cell(participation) -> str:
    """A participation's engagement score with its parts as a tooltip (rule E8); "—" before
    the first computation. Reads `participation.engagement` (selected with it)."""
    try:
        engagement = participation.engagement
    except AttributeError:  # RelatedObjectDoesNotExist is one
        return "—"
    parts = engagement.parts or {}
    explained = " · ".join(f"{label} {parts.get(key, 0)}" for key, label in SCORE_PARTS.items())
    return format_html(
        '<span class="me-score" title="{}" data-score="{}" data-parts="{}">{}</span>',
        explained,
        engagement.score,
        ",".join(f"{key}={parts.get(key, 0)}" for key in SCORE_PARTS),
        engagement.score,
    )


@register.inclusion_tag("marketing_events/_contact_participations.html", takes_context=True)
def contact_participations(context, contact):
    """The contact page's "Marketing events" card: one query whatever the number of events."""
    participations = selectors_ui.contact_participations(contact, limit=51)
    return {
        "participations": participations[:50],
        "truncated": len(participations) > 50,
        "contact": contact,
        "request": context.get("request"),
    }


# Timeline (rule M4) ---------------------------------------------------------------------------


def _when(value) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = parse_datetime(value)
        except ValueError:
            return None
    else:
        return None
    if parsed is None:
        return None
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, dt.UTC)
    return timezone.localtime(parsed)


def _event_link(data: dict) -> str:
    name = data.get("webinar_name") or data.get("event_name") or ""
    event_id = data.get("event_id")
    url = None
    if event_id not in (None, ""):
        try:
            url = reverse("marketing_events:detail", args=[int(event_id)])
        except (TypeError, ValueError, NoReverseMatch):
            url = None
    if not name:
        name = gettext("a webinar")
        return (
            format_html("{}", name)
            if url is None
            else format_html('<a href="{}">{}</a>', url, name)
        )
    if url is None:
        return format_html("<strong>{}</strong>", name)
    return format_html('<a href="{}"><strong>{}</strong></a>', url, name)


def _sentence(message: str, **parts) -> str:
    # The translated sentence is escaped, then the (already safe) parts are put in.
    return mark_safe(escape(message) % parts)


@register.simple_tag
def timeline_activity(event) -> dict | None:
    """A readable sentence for webinar / marketing-event timeline entries, or None for other
    kinds (the contact page then renders them generically)."""
    kind = timeline_kind(getattr(event, "kind", ""))
    verb = kind.activity if kind is not None else ""
    if not verb:
        return None
    data = event.data if isinstance(event.data, dict) else {}
    webinar = _event_link(data)
    activity = {
        "verb": verb,
        "webinar_id": str(data.get("webinar_id") or ""),
        "provisional": bool(data.get("provisional")),
        "recording_url": None,
    }
    if verb == "registered":
        activity["sentence"] = _sentence(gettext("Registered for %(webinar)s"), webinar=webinar)
    elif verb == "cancelled":
        activity["sentence"] = _sentence(
            gettext("Cancelled registration for %(webinar)s"), webinar=webinar
        )
    elif verb == "recording":
        activity["sentence"] = _sentence(
            gettext("Recording available for %(webinar)s"), webinar=webinar
        )
        url = data.get("recording_url")
        activity["recording_url"] = url if is_web_url(url) else None
    else:
        joined, left = _when(data.get("joined_at")), _when(data.get("left_at"))
        spent = duration(data.get("duration_seconds")) if "duration_seconds" in data else ""
        parts = {"webinar": webinar}
        if joined and left:
            message = gettext(
                "Attended %(webinar)s — joined %(joined)s, left %(left)s, %(duration)s"
            )
            parts.update(joined=time_format(joined, "H:i"), left=time_format(left, "H:i"))
        elif joined:
            message = gettext("Attended %(webinar)s — joined %(joined)s, %(duration)s so far")
            parts["joined"] = time_format(joined, "H:i")
        else:
            message = gettext("Attended %(webinar)s — %(duration)s")
        parts["duration"] = escape(spent or "—")
        activity["sentence"] = _sentence(message, **parts)
    return activity
