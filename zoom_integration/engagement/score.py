"""Rule E8, pure: a participation's engagement facts and the weights → a score 0-100 and its
parts, in points, that add up to it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

PARTS = ("attendance", "questions", "polls", "survey", "recording")
# A part gives its whole weight at: 100 % attendance; this many questions asked; every poll
# question of the webinar answered; the survey answered; the recording watched for as long as
# the webinar lasted. Less gives a share of it (shown in the UI with the weights).
QUESTIONS_FOR_FULL = 2


@dataclass(frozen=True)
class Facts:
    attendance_percent: float = 0.0
    questions_asked: int = 0
    polls_answered: int = 0
    poll_questions: int = 0  # the webinar's poll questions
    survey_answered: bool = False
    recording_seconds: int = 0
    length_seconds: int = 0  # the webinar's length


class WeightsInvalid(ValueError):
    """Weights must name exactly the parts, be whole numbers 0-100 and add up to 100."""


def clean_weights(value: object) -> dict[str, int]:
    if not isinstance(value, Mapping) or set(value) != set(PARTS):
        raise WeightsInvalid("parts")
    out = {}
    for part in PARTS:
        weight = value[part]
        if isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= 100:
            raise WeightsInvalid(part)
        out[part] = weight
    if sum(out.values()) != 100:
        raise WeightsInvalid("sum")
    return out


# A webinar's participations share few values of each part's share (attendance percents have
# one decimal; answers and questions are counted): the Decimal rounding, most of a score's
# cost, runs once per value.
@lru_cache(maxsize=16384)
def _points(weight: int, share: float) -> int:
    share = min(1.0, max(0.0, share))
    return int(Decimal(str(weight * share)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def engagement_score(facts: Facts, weights: Mapping[str, int]) -> tuple[int, dict[str, int]]:
    """(score, parts): each part at most its weight, the score their sum (so 0-100)."""
    if facts.length_seconds:
        watched = facts.recording_seconds / facts.length_seconds
    else:
        watched = 1.0 if facts.recording_seconds else 0.0
    parts = {
        "attendance": _points(weights["attendance"], facts.attendance_percent / 100),
        "questions": _points(weights["questions"], facts.questions_asked / QUESTIONS_FOR_FULL),
        "polls": _points(
            weights["polls"],
            facts.polls_answered / facts.poll_questions if facts.poll_questions else 0.0,
        ),
        "survey": weights["survey"] if facts.survey_answered else 0,
        "recording": _points(weights["recording"], watched),
    }
    return sum(parts.values()), parts
