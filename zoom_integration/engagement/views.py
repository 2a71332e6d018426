"""The event page's engagement sections (rules E6-E8), loaded into the page by HTMX."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm.paging import numbered_pager
from crm.views.access import settings_admin_required
from marketing_events.models import MarketingEvent

from . import selectors
from .models import DEFAULT_WEIGHTS
from .score import PARTS, clean_weights
from .selectors import event_engagement, score_distribution
from .services import recompute_progress, weights_get, weights_set


def _event(event_id: int) -> MarketingEvent:
    event = MarketingEvent.objects.filter(pk=event_id).first()
    if event is None:
        raise Http404
    return event


def _questions_context(request, event: MarketingEvent) -> dict:
    """One page of the Q&A (a big webinar's questions are many), paged over htmx in place."""
    page = Paginator(selectors.event_questions(event), selectors.QA_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    url = reverse("zoom_engagement:event_questions", args=[event.pk])
    return {
        "event": event,
        "questions_page": page,
        "questions": list(page.object_list),
        "questions_pager": numbered_pager(page, lambda number: f"{url}?page={number}"),
    }


@login_required
def event_sections(request, event_id: int):
    event = _event(event_id)
    context = {
        "event": event,
        **event_engagement(event),
        **_questions_context(request, event),
        "scores": score_distribution(event),
        "weights": [(part, weights_get()[part]) for part in PARTS],
    }
    return render(request, "zoom_engagement/_event_sections.html", context)


@login_required
def event_questions(request, event_id: int):
    """The Q&A section alone, at the page asked for (its pager's links)."""
    event = _event(event_id)
    return render(request, "zoom_engagement/_questions.html", _questions_context(request, event))


class WeightsForm(forms.Form):
    """Rule E8's weights: whole numbers 0-100 that add up to 100."""

    attendance = forms.IntegerField(label=_("Attendance"), min_value=0, max_value=100)
    questions = forms.IntegerField(label=_("Questions asked"), min_value=0, max_value=100)
    polls = forms.IntegerField(label=_("Polls answered"), min_value=0, max_value=100)
    survey = forms.IntegerField(label=_("Survey answered"), min_value=0, max_value=100)
    recording = forms.IntegerField(label=_("Recording watched"), min_value=0, max_value=100)

    def clean(self):
        data = super().clean()
        if not self.errors and sum(data[p] for p in PARTS) != 100:
            raise forms.ValidationError(_("The weights must add up to 100."))
        return data


@settings_admin_required
def weights_page(request):
    """Settings (super admins): the engagement score's weights; saving recomputes every score
    in the background, with its progress shown."""
    if request.method == "POST":
        form = WeightsForm(request.POST)
        if form.is_valid():
            weights_set(clean_weights({p: form.cleaned_data[p] for p in PARTS}))
            messages.success(request, _("Weights saved. The scores are being recomputed."))
            return redirect("zoom_engagement:weights")
        status = 400
    else:
        form = WeightsForm(initial=weights_get())
        status = 200
    context = {
        "form": form,
        "defaults": DEFAULT_WEIGHTS,
        "progress": recompute_progress(),
        "active_nav": "settings",
    }
    return render(request, "zoom_engagement/weights.html", context, status=status)
