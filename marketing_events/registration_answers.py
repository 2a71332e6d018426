"""Reads of registration answers for the event page, its CSV and the contact page (rule E1)."""

from __future__ import annotations

from django.db import connection
from django.utils.translation import gettext_lazy as _

from .models import MarketingEvent
from .models_registration import RegistrationDetails

# Zoom's standard registration fields, in the order Zoom's form shows them, with their labels.
STANDARD_QUESTIONS = {
    "address": _("Address"),
    "city": _("City"),
    "state": _("State/Region"),
    "zip": _("Postal code"),
    "country": _("Country/Region"),
    "phone": _("Phone"),
    "industry": _("Industry"),
    "org": _("Organization"),
    "job_title": _("Job title"),
    "purchasing_time_frame": _("Purchasing time frame"),
    "role_in_purchase_process": _("Role in purchase process"),
    "no_of_employees": _("Number of employees"),
    "comments": _("Questions and comments"),
}


def question_label(question: str):
    """A standard field's translated label; a custom question's title as the host wrote it."""
    return STANDARD_QUESTIONS.get(question, question)


def question_order(questions) -> list[str]:
    standard = [q for q in STANDARD_QUESTIONS if q in questions]
    return standard + sorted(q for q in questions if q not in STANDARD_QUESTIONS)


def event_questions(event: MarketingEvent) -> tuple[list[str], bool]:
    """(the questions any registrant of the event answered, whether any came through a
    tracking source): one query, keys read in the database. A column each on the participants
    table and its CSV."""
    table = connection.ops.quote_name(RegistrationDetails._meta.db_table)
    if connection.vendor == "postgresql":
        keys = "LEFT JOIN LATERAL jsonb_object_keys(t.answers) k ON true"
    else:
        keys = "LEFT JOIN json_each(t.answers) j ON true"
    column = "k" if connection.vendor == "postgresql" else "j.key"
    sql = f"SELECT DISTINCT {column}, t.source_id <> '' FROM {table} t {keys} WHERE t.event_id = %s"
    with connection.cursor() as cursor:
        cursor.execute(sql, [event.pk])
        rows = cursor.fetchall()
    return question_order({k for k, _s in rows if k}), any(s for _k, s in rows)


def answers_of(participation) -> dict:
    """The participation's answers, or {} (no registration details row)."""
    details = getattr(participation, "registration", None) if _loaded(participation) else None
    return details.answers if details is not None else {}


def details_of(participation) -> RegistrationDetails | None:
    return getattr(participation, "registration", None) if _loaded(participation) else None


def _loaded(participation) -> bool:
    # Read through select_related only: never a query per row.
    return participation._state.fields_cache.__contains__("registration")


# -- attribution (rules E4, E5) ------------------------------------------------------------------

# Functions (event) → [{"id", "name", "visitor_count", "registration_count"}] that a higher
# app registers (the Zoom integration: the webinar's tracking sources as Zoom counts them).
SOURCE_PROVIDERS: list = []

BAR_WIDTH = 240


def _bars(counts: dict[str, int]) -> list[dict]:
    top = max(counts.values(), default=0)
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [
        {
            "label": label,
            "count": count,
            "width": max(2, round(BAR_WIDTH * count / top)) if top else 0,
            "y": index * 28,
            "text_y": index * 28 + 15,
        }
        for index, (label, count) in enumerate(rows)
    ]


def event_attribution(event: MarketingEvent) -> dict:
    """Registrations by tracking source, by `utm_source` and by `utm_campaign` (one query,
    grouped in the database), with Zoom's visitor counts per source when known."""
    from django.db.models import Count, F
    from django.db.models.fields.json import KT

    rows = (
        RegistrationDetails.objects.filter(event=event)
        .exclude(participation__state="CANCELLED")
        .values(
            name=F("source_name"),
            utm_source=KT("utm__utm_source"),
            utm_campaign=KT("utm__utm_campaign"),
        )
        .annotate(n=Count("pk"))
        .order_by()
    )
    by_source: dict[str, int] = {}
    by_utm_source: dict[str, int] = {}
    by_campaign: dict[str, int] = {}
    for row in rows:
        if row["name"]:
            by_source[row["name"]] = by_source.get(row["name"], 0) + row["n"]
        if row["utm_source"]:
            by_utm_source[row["utm_source"]] = by_utm_source.get(row["utm_source"], 0) + row["n"]
        if row["utm_campaign"]:
            by_campaign[row["utm_campaign"]] = by_campaign.get(row["utm_campaign"], 0) + row["n"]
    tracked = []
    for provider in SOURCE_PROVIDERS:
        tracked.extend(provider(event))
    charts = [
        (key, title, _bars(counts))
        for key, title, counts in (
            ("source", _("By tracking source"), by_source),
            ("utm_source", _("By utm_source"), by_utm_source),
            ("utm_campaign", _("By utm_campaign"), by_campaign),
        )
        if counts
    ]
    return {
        "charts": [
            {"key": key, "title": title, "bars": bars, "height": max(28, 28 * len(bars))}
            for key, title, bars in charts
        ],
        "tracking_sources": tracked,
        "empty": not charts and not tracked,
    }
