"""What the sync and webhooks read once per webinar for registration answers (rules E2, E4)."""

from __future__ import annotations

import logging

from django.utils import timezone

from ..models import ZoomWebinar
from ..models_registration import WebinarRegistrationInfo
from .mappings import AnswerMappings, Refusal
from .services import property_targets, webinar_rules

logger = logging.getLogger(__name__)
MULTI_CHOICE_TYPE = "multiple"  # Zoom's custom question type with several choices


def answer_mappings(webinar: ZoomWebinar) -> AnswerMappings:
    """The mappings in force for the webinar, the properties they may write and its
    multi-choice questions (three queries)."""
    questions = (
        WebinarRegistrationInfo.objects.filter(webinar=webinar)
        .values_list("questions", flat=True)
        .first()
    )
    return AnswerMappings(
        rules=webinar_rules(webinar),
        targets=property_targets(),
        multi_choice=multi_choice_questions(questions or []),
    )


def multi_choice_questions(questions: list) -> frozenset[str]:
    """The titles of a stored form's multi-choice questions (Zoom's type `multiple`)."""
    return frozenset(
        str(q.get("question"))
        for q in questions
        if isinstance(q, dict) and q.get("type") == MULTI_CHOICE_TYPE and q.get("question")
    )


def tracking_source_names(webinar: ZoomWebinar) -> dict[str, str]:
    """The webinar's stored tracking sources, name by id (rule E4; one query)."""
    info = WebinarRegistrationInfo.objects.filter(webinar=webinar).first()
    if info is None:
        return {}
    return {str(s.get("id")): str(s.get("name", "")) for s in info.tracking_sources}


def log_refusals(refusals: list[Refusal], webinar: ZoomWebinar) -> None:
    for refusal in refusals:
        logger.warning(
            "zoom.answers.refused",
            extra={
                "webinar": webinar.zoom_webinar_id,
                "question": refusal.question,
                "property": refusal.property,
                "reason": refusal.reason,
            },
        )


def registration_form_store(webinar: ZoomWebinar, questions: dict, sources: list) -> None:
    """Zoom's `/registrants/questions` and `/tracking_sources` answers → the stored form."""
    items = []
    for question in questions.get("questions") or []:
        if isinstance(question, dict) and question.get("field_name"):
            items.append(
                {
                    "question": str(question["field_name"]),
                    "type": "standard",
                    "required": bool(question.get("required")),
                    "answers": [],
                }
            )
    for question in questions.get("custom_questions") or []:
        if isinstance(question, dict) and question.get("title"):
            items.append(
                {
                    "question": str(question["title"]),
                    "type": str(question.get("type") or "short"),
                    "required": bool(question.get("required")),
                    "answers": [str(a) for a in question.get("answers") or []],
                }
            )
    tracked = [
        {
            "id": str(source.get("id")),
            "name": str(source.get("source_name") or ""),
            "url": str(source.get("tracking_url") or ""),
            "visitor_count": int(source.get("visitor_count") or 0),
            "registration_count": int(source.get("registration_count") or 0),
        }
        for source in sources
        if isinstance(source, dict) and source.get("id")
    ]
    WebinarRegistrationInfo.objects.update_or_create(
        webinar=webinar,
        defaults={"questions": items, "tracking_sources": tracked, "fetched_at": timezone.now()},
    )


def event_tracking_sources(event) -> list[dict]:
    """The event's webinar's tracking sources as Zoom counts them (rule E4; one query), for the
    event page (`marketing_events.registration_answers.SOURCE_PROVIDERS`)."""
    info = WebinarRegistrationInfo.objects.filter(webinar__event=event).first()
    return list(info.tracking_sources) if info else []
