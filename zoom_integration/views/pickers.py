"""The segment builder's pickers for the registration filters (rules E1, E4, E5): the stored
registration questions and the stored source values, as JSON for static/segments/builder.js.
Readable by every signed-in user (as the builder's other pickers); bad input is a 400 whose
`error` says what is wrong, never a 500."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.utils.translation import gettext

from crm.errors import ValidationFailed
from crm.ids import is_id_text
from crm.search_text import clean_search

from ..registration.filters import SOURCE_FIELDS
from ..registration.pickers import question_choices, source_choices


def _refused(message: str) -> JsonResponse:
    return JsonResponse({"results": [], "error": message}, status=400)


def _optional_id(request, name: str) -> tuple[int | None, str | None]:
    text = request.GET.get(name, "").strip()
    if not text:
        return None, None
    if not is_id_text(text):
        return None, gettext("%(name)s: an id is digits only; got %(value)s.") % {
            "name": name,
            "value": repr(text[:40]),
        }
    return int(text), None


@login_required
def pick_questions(request):
    """`?webinar_id=<Zoom id>&q=` → `{"results": [{"question", "label", "type", "answers"}]}`."""
    try:
        search = clean_search(request.GET.get("q", ""))
    except ValidationFailed as error:
        return _refused(error.message)
    webinar_id, problem = _optional_id(request, "webinar_id")
    if problem:
        return _refused(problem)
    return JsonResponse({"results": question_choices(zoom_webinar_id=webinar_id, search=search)})


@login_required
def pick_sources(request):
    """`?field=utm_source&event_id=&q=` → `{"results": [{"value", "count"}]}`."""
    try:
        search = clean_search(request.GET.get("q", ""))
    except ValidationFailed as error:
        return _refused(error.message)
    field = request.GET.get("field", "")
    if field not in SOURCE_FIELDS:
        return _refused(gettext("field: one of %(fields)s") % {"fields": ", ".join(SOURCE_FIELDS)})
    event_id, problem = _optional_id(request, "event_id")
    if problem:
        return _refused(problem)
    return JsonResponse({"results": source_choices(field=field, event_id=event_id, search=search)})
