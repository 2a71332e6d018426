"""Reads of engagement facts for the pages and the API (rules E6-E8): a constant number of
queries per call whatever the event's size."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Min, QuerySet, Sum

from marketing_events.models import MarketingEvent

from .kinds import POLL, QUESTION, REPORT_POLLS, REPORT_QA, REPORT_SURVEY, SURVEY
from .models import EngagementAnswer, EngagementReport, ParticipationEngagement, RecordingView

CHART_WIDTH = 480
BAR_HEIGHT = 22
BAR_GAP = 8
LABEL_WIDTH = 170
# Room right of the longest bar for its count and share ("1,234 (100%)": 12 characters of the
# 12-unit font, about 7 units each).
COUNT_WIDTH = 96
QA_PAGE_SIZE = 25
VIEWERS_LIMIT = 200


@dataclass
class QuestionChart:
    """One poll or survey question: its answers' distribution, ready to draw as SVG bars."""

    question: str
    total: int
    bars: list[dict] = field(default_factory=list)
    height: int = 0
    width: int = CHART_WIDTH
    label_width: int = LABEL_WIDTH


def _charts(rows) -> list[QuestionChart]:
    by_question: dict[str, Counter] = defaultdict(Counter)
    for question, answer, n in rows:
        by_question[question][answer] += n
    charts = []
    plot = CHART_WIDTH - LABEL_WIDTH - COUNT_WIDTH
    for question, answers in by_question.items():
        total = sum(answers.values())
        top = max(answers.values())
        chart = QuestionChart(question=question, total=total)
        for index, (answer, n) in enumerate(sorted(answers.items(), key=lambda a: (-a[1], a[0]))):
            y = index * (BAR_HEIGHT + BAR_GAP)
            chart.bars.append(
                {
                    "answer": answer,
                    "count": n,
                    "percent": round(100 * n / total) if total else 0,
                    "y": y,
                    "text_y": y + BAR_HEIGHT - 6,
                    "width": max(2, round(plot * n / top)),
                    "count_x": LABEL_WIDTH + max(2, round(plot * n / top)) + 6,
                }
            )
        chart.height = len(chart.bars) * (BAR_HEIGHT + BAR_GAP)
        charts.append(chart)
    return charts


def _distribution(event: MarketingEvent, kind: str) -> list[QuestionChart]:
    rows = (
        EngagementAnswer.objects.filter(event=event, kind=kind)
        .values_list("question", "answer")
        .annotate(n=Count("id"))
        .order_by("question", "answer")
    )
    return _charts(rows)


def event_engagement(event: MarketingEvent) -> dict:
    """The event page's engagement sections: polls (a chart per question), survey results,
    recording views, anonymous answers counted per report (the Q&A is paged: `event_questions`)."""
    anonymous = dict(
        EngagementReport.objects.filter(occurrence__event=event)
        .values_list("kind")
        .annotate(n=Sum("anonymous_count"))
    )
    viewers = list(
        RecordingView.objects.filter(participation__event=event)
        .values(
            "participation__contact_id",
            "participation__contact__email",
            "participation__contact__first_name",
            "participation__contact__last_name",
        )
        .annotate(first=Min("viewed_at"), seconds=Sum("seconds"), views=Count("id"))
        .order_by("-seconds")[:VIEWERS_LIMIT]
    )
    return {
        "polls": _distribution(event, POLL),
        "survey": _distribution(event, SURVEY),
        "viewers": [
            {
                "contact_id": v["participation__contact_id"],
                "email": v["participation__contact__email"],
                "name": " ".join(
                    n
                    for n in (
                        v["participation__contact__first_name"],
                        v["participation__contact__last_name"],
                    )
                    if n
                ),
                "first": v["first"],
                "minutes": round((v["seconds"] or 0) / 60),
                "views": v["views"],
            }
            for v in viewers
        ],
        "anonymous": {
            POLL: anonymous.get(REPORT_POLLS, 0),
            QUESTION: anonymous.get(REPORT_QA, 0),
            SURVEY: anonymous.get(REPORT_SURVEY, 0),
        },
    }


def event_questions(event: MarketingEvent) -> QuerySet[EngagementAnswer]:
    """The event's Q&A in the order asked, with the askers (a page of it is two queries: its
    count and its rows)."""
    return (
        EngagementAnswer.objects.filter(event=event, kind=QUESTION)
        .select_related("participation__contact")
        .order_by("answered_at", "pk")
    )


SCORE_BUCKETS = ((0, 19), (20, 39), (40, 59), (60, 79), (80, 100))


def score_distribution(event: MarketingEvent) -> dict:
    """How many participations fall in each fifth of the score range (a bar chart)."""
    scores = ParticipationEngagement.objects.filter(event=event).values_list("score", flat=True)
    counts = Counter()
    for score in scores:
        for low, high in SCORE_BUCKETS:
            if low <= score <= high:
                counts[(low, high)] += 1
    top = max(counts.values(), default=0)
    bars, width, height = [], 56, 120
    for index, (low, high) in enumerate(SCORE_BUCKETS):
        n = counts[(low, high)]
        bar_height = round(height * n / top) if top else 0
        bars.append(
            {
                "label": f"{low}–{high}",
                "count": n,
                "x": 40 + index * (width + 12),
                "y": 10 + height - bar_height,
                "height": bar_height,
                "width": width,
                "label_x": 40 + index * (width + 12) + width // 2,
            }
        )
    return {"bars": bars, "total": sum(counts.values()), "base_y": 10 + height}


def participation_engagement(participation_ids) -> dict[int, dict]:
    """`{"score", "parts"}` (and the facts) by participation id, for API reads."""
    return {
        row["participation_id"]: row
        for row in ParticipationEngagement.objects.filter(
            participation_id__in=list(participation_ids)
        ).values(
            "participation_id",
            "score",
            "parts",
            "polls_answered",
            "questions_asked",
            "survey_answered",
            "recording_first_viewed_at",
            "recording_seconds",
        )
    }


__all__ = [
    "event_engagement",
    "event_questions",
    "participation_engagement",
    "score_distribution",
]
