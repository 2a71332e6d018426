"""Registration answers and sources in templates (rules E1, E4): `{% load registration_tags %}`."""

from __future__ import annotations

from django import template

from ..plan import answer_text
from ..registration_answers import answers_of, details_of, question_label, question_order

register = template.Library()


@register.filter
def answer(participation, question: str) -> str:
    return answer_text(answers_of(participation).get(question, ""))


@register.filter
def label_of_question(question: str):
    return question_label(question)


@register.filter
def registration_of(participation):
    return details_of(participation)


@register.filter
def answer_items(participation) -> list[tuple]:
    """(label, value) pairs of the participation's answers, standard fields first."""
    answers = answers_of(participation)
    return [(question_label(q), answer_text(answers[q])) for q in question_order(answers)]
