"""A webinar's registration questions (rule E2): each with a property picker and a policy,
"create a property from this question", and applying the mappings to past answers with its
progress. Readable by every user; changed by super admins."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from crm.errors import ApplicationError
from crm.properties import all_property_specs, spec_label
from crm.views.access import settings_admin_required

from ..models import ZoomWebinar
from ..models_registration import MappingApplyRun, MappingPolicy, WebinarRegistrationInfo
from ..registration import services
from ..registration.mappings import effective_mappings
from .common import connection_or_404, settings_url


def _webinar(connection, zoom_webinar_id: int) -> ZoomWebinar:
    webinar = ZoomWebinar.objects.filter(
        connection=connection, zoom_webinar_id=zoom_webinar_id
    ).first()
    if webinar is None:
        raise Http404(gettext("This webinar is not known on this Zoom connection."))
    return webinar


def _url(webinar: ZoomWebinar) -> str:
    return reverse(
        "zoom_integration:webinar_questions", args=[webinar.connection_id, webinar.zoom_webinar_id]
    )


def _context(request, connection, webinar, errors=None) -> dict:
    info = WebinarRegistrationInfo.objects.filter(webinar=webinar).first()
    questions = list(info.questions if info else [])
    targets = services.property_targets()
    specs = all_property_specs()
    writable = sorted(
        (
            (name, spec_label(specs[name]))
            for name in targets
            if name in specs and services.target_problem(name, targets) is None
        ),
        key=lambda pair: str(pair[1]).lower(),
    )
    overrides = {m["question"]: m for m in services.mappings_list(connection, webinar)}
    defaults = effective_mappings(
        [services.rule_of(m) for m in services.mappings_list(connection) if not m["builtin"]]
    )
    rows = []
    for question in questions:
        name = question["question"]
        override = overrides.get(name)
        default = defaults.get(name)
        rows.append(
            {
                **question,
                "property": override["property"] if override else "",
                "policy": override["policy"] if override else "fill_empty",
                "default": default,
                "overridden": override is not None,
            }
        )
    return {
        "connection": connection,
        "brand": connection.brand,
        "webinar": webinar,
        "rows": rows,
        "properties": writable,
        "policies": MappingPolicy.choices,
        "errors": errors or [],
        "runs": list(MappingApplyRun.objects.filter(webinar=webinar)[:3]),
        "settings_url": settings_url(connection.brand_id, "settings"),
        "active_nav": "settings",
        "settings_section": "integrations",
    }


@login_required
def webinar_questions(request, connection_id: int, zoom_webinar_id: int):
    connection = connection_or_404(connection_id)
    webinar = _webinar(connection, zoom_webinar_id)
    return render(
        request, "zoom_integration/webinar_questions.html", _context(request, connection, webinar)
    )


@require_POST
@settings_admin_required
def webinar_questions_save(request, connection_id: int, zoom_webinar_id: int):
    """Saves the webinar's overrides: a question with no property picked has none (it follows
    the connection's default)."""
    connection = connection_or_404(connection_id)
    webinar = _webinar(connection, zoom_webinar_id)
    items = []
    for index, question in enumerate(request.POST.getlist("question")):
        prop = request.POST.get(f"property-{index}", "")
        policy = request.POST.get(f"policy-{index}", "fill_empty")
        if prop:
            items.append({"question": question, "property": prop, "policy": policy})
    try:
        services.mappings_replace(connection=connection, webinar=webinar, items=items)
    except ApplicationError as error:
        context = _context(
            request, connection, webinar, errors=[e["message"] for e in error.errors]
        )
        return render(request, "zoom_integration/webinar_questions.html", context, status=400)
    messages.success(request, gettext("Mappings saved."))
    return redirect(_url(webinar))


@require_POST
@settings_admin_required
def webinar_question_property(request, connection_id: int, zoom_webinar_id: int):
    """ "Create a property from this question", mapped to it for this webinar at once."""
    connection = connection_or_404(connection_id)
    webinar = _webinar(connection, zoom_webinar_id)
    question = request.POST.get("question", "")
    try:
        definition = services.property_create_from_question(question)
        current = [
            {"question": m["question"], "property": m["property"], "policy": m["policy"]}
            for m in services.mappings_list(connection, webinar)
            if m["question"] != question
        ]
        services.mappings_replace(
            connection=connection,
            webinar=webinar,
            items=[*current, {"question": question, "property": definition.name}],
        )
    except ApplicationError as error:
        context = _context(request, connection, webinar, errors=[error.message])
        return render(request, "zoom_integration/webinar_questions.html", context, status=400)
    messages.success(
        request,
        gettext("Property %(name)s created and mapped.") % {"name": definition.name},
    )
    return redirect(_url(webinar))


@require_POST
@settings_admin_required
def webinar_questions_apply(request, connection_id: int, zoom_webinar_id: int):
    connection = connection_or_404(connection_id)
    webinar = _webinar(connection, zoom_webinar_id)
    services.mapping_apply_request(connection=connection, webinar=webinar)
    messages.success(request, gettext("Applying the mappings to past answers."))
    return redirect(_url(webinar))
