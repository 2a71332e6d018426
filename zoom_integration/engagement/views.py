"""The event page's engagement sections (rules E6-E8), loaded into the page by HTMX."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from marketing_events.models import MarketingEvent

from .score import PARTS
from .selectors import event_engagement, score_distribution
from .services import weights_get


@login_required
def event_sections(request, event_id: int):
    event = MarketingEvent.objects.filter(pk=event_id).first()
    if event is None:
        raise Http404
    context = {
        "event": event,
        **event_engagement(event),
        "scores": score_distribution(event),
        "weights": [(part, weights_get()[part]) for part in PARTS],
    }
    return render(request, "zoom_engagement/_event_sections.html", context)
