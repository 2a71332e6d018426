"""Marketing events pages (read-only, every logged-in user): the list with search and a start
date filter, the event page (counters, funnel, attendance-duration histogram, occurrences,
participants by state with HTMX paging) and the streamed participants CSV export.

While an event is live (rule B4: provisional durations, or between its start and its end) the
event page's statistics and participants poll `live_fragment` every 3 s; otherwise nothing
polls."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from crm.csv_export import csv_response
from crm.paging import numbered_pager

from . import registration_answers, selectors_ui
from .models import MarketingEvent, Participation

PAGE_SIZE = 25
PARTICIPANTS_PAGE_SIZE = 25
TABS = (
    ("", _("All")),
    ("REGISTERED", pgettext_lazy("people", "Registered")),
    ("ATTENDED", pgettext_lazy("people", "Attended")),
    ("NO_SHOW", _("No-shows")),
    ("CANCELLED", _("Cancelled")),
)


class EventFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label=_("Search by name"))
    starts_from = forms.DateField(
        required=False,
        label=_("From"),
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("Enter a date, like 2026-01-31.")},
    )
    starts_to = forms.DateField(
        required=False,
        label=_("To"),
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("Enter a date, like 2026-01-31.")},
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("starts_from"), data.get("starts_to")
        if start and end and end < start:
            self.add_error("starts_to", _("The end date must be on or after the start date."))
        return data


def _query(**params) -> str:
    clean = {k: v for k, v in params.items() if v not in ("", None)}
    return "?" + urlencode(clean) if clean else ""


def _partial(request, target: str) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx and not htmx.history_restore_request and htmx.target == target)


@login_required
def event_list(request):
    form = EventFilterForm(request.GET or None)
    filters = {"search": "", "starts_from": None, "starts_to": None}
    if form.is_bound and form.is_valid():
        filters = {
            "search": form.cleaned_data["q"].strip(),
            "starts_from": form.cleaned_data["starts_from"],
            "starts_to": form.cleaned_data["starts_to"],
        }
    params = {
        "q": filters["search"],
        "starts_from": filters["starts_from"] and filters["starts_from"].isoformat(),
        "starts_to": filters["starts_to"] and filters["starts_to"].isoformat(),
    }
    events = selectors_ui.event_list(**filters)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    base_url = reverse("marketing_events:list")

    def url_for(number):
        return base_url + _query(**params, page=number)

    context = {
        "form": form,
        "page": page,
        "events": list(page.object_list),
        "filtered": any(filters.values()),
        "pager": numbered_pager(page, url_for),
        "list_url": base_url,
        "active_nav": "marketing_events",
    }
    template = (
        "marketing_events/_event_results.html"
        if _partial(request, "event-results")
        else "marketing_events/list.html"
    )
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


def _get_event(event_id: int) -> MarketingEvent:
    """The event with its brand and `has_provisional` (a live duration still growing, rule B4),
    in one query."""
    event = (
        MarketingEvent.objects.select_related("brand")
        .annotate(
            has_provisional=Exists(
                Participation.objects.filter(event=OuterRef("pk"), provisional=True)
            )
        )
        .filter(pk=event_id)
        .first()
    )
    if event is None:
        raise Http404(gettext("This marketing event does not exist."))
    return event


def event_is_live(event: MarketingEvent) -> bool:
    """Live: someone's duration is still provisional (webhooks say the webinar runs), or the
    event has started and is not over. A cancelled event is only live through the former."""
    if getattr(event, "has_provisional", False):
        return True
    started = event.starts_at is not None and event.starts_at <= timezone.now()
    return started and not event.cancelled and not event.is_over


def _state_param(request) -> str:
    state = request.GET.get("state", "")
    return state if state in selectors_ui.STATE_FILTERS else ""


def _participants_context(request, event, stats) -> dict:
    state = _state_param(request)
    sort = "score" if request.GET.get("sort") == "score" else ""
    page = Paginator(
        selectors_ui.participants(event, state=state, sort=sort), PARTICIPANTS_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    for participation in rows:
        participation.event = event  # display_state reads it: no query per row
    base_url = reverse("marketing_events:detail", args=[event.pk])

    def url_for(number):
        return base_url + _query(state=state, page=number, sort=sort)

    tabs = [
        {
            "state": key,
            "label": label,
            "count": stats.count_for(key),
            "url": base_url + _query(state=key),
            "active": key == state,
        }
        for key, label in TABS
    ]
    # Rules E1, E4: a column per question the registrants answered, and their source.
    questions, has_sources = registration_answers.event_questions(event)
    return {
        "questions": questions,
        "has_sources": has_sources,
        "state": state,
        "sort": sort,
        "sort_url": base_url + _query(state=state, sort="" if sort else "score"),
        "state_label": dict(TABS)[state],
        "tabs": tabs,
        "participants_page": page,
        "participants": rows,
        "pager": numbered_pager(page, url_for),
        "csv_url": reverse("marketing_events:participants_csv", args=[event.pk])
        + _query(state=state),
    }


def _live_context(request, event, stats) -> dict:
    """What the live region shows: counters, funnel, histogram, occurrences, participants."""
    return {
        "funnel": selectors_ui.funnel(stats),
        "histogram": selectors_ui.histogram(stats),
        "occurrences": list(selectors_ui.occurrence_list(event)),
        "live": event_is_live(event),
        "refreshed_at": timezone.now(),
    }


@login_required
def event_detail(request, event_id: int):
    event = _get_event(event_id)
    stats = selectors_ui.event_stats(event)
    context = {"event": event, "stats": stats, **_participants_context(request, event, stats)}
    if _partial(request, "participants"):
        response = render(request, "marketing_events/_participants.html", context)
    else:
        context.update(_live_context(request, event, stats), active_nav="marketing_events")
        # Rules E4, E5: registrations by tracking source, utm_source and utm_campaign.
        context["attribution"] = registration_answers.event_attribution(event)
        response = render(request, "marketing_events/detail.html", context)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


@login_required
def live_fragment(request, event_id: int):
    """The event page's live region, polled every 3 s while the event is live; it keeps the
    participants' state filter and page (`?state=&page=`). Once the event is no longer live
    the region comes back without its polling attributes, so polling stops."""
    event = _get_event(event_id)
    stats = selectors_ui.event_stats(event)
    context = {
        "event": event,
        "stats": stats,
        **_participants_context(request, event, stats),
        **_live_context(request, event, stats),
        "oob_badges": True,  # the header's badges follow too ("Live now" → "Ended")
    }
    response = render(request, "marketing_events/_live.html", context)
    response["Cache-Control"] = "no-store"
    return response


@login_required
def participants_csv(request, event_id: int):
    event = _get_event(event_id)
    state = _state_param(request)
    rows = selectors_ui.participant_csv_rows(event, state=state)
    suffix = f"-{state.lower()}" if state else ""
    # Names and e-mails are typed by registrants: the shared writer keeps formulas out.
    return csv_response(rows, filename=f"marketing-event-{event.pk}-participants{suffix}.csv")
