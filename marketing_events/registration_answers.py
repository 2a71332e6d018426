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
