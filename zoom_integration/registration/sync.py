"""What the sync and webhooks read once per webinar for registration answers (rules E2, E4)."""

from __future__ import annotations

import logging

from ..models import ZoomWebinar
from ..models_registration import WebinarRegistrationInfo
from .mappings import AnswerMappings, Refusal
from .services import property_targets, webinar_rules

logger = logging.getLogger(__name__)


def answer_mappings(webinar: ZoomWebinar) -> AnswerMappings:
    """The mappings in force for the webinar and the properties they may write (two queries)."""
    return AnswerMappings(rules=webinar_rules(webinar), targets=property_targets())


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
