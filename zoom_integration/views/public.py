"""Rule E5: the public registration page, `/r/<connection_id>/<webinar_id>/` (no login;
shareable, and embeddable in an iframe on any site)."""

from __future__ import annotations

from csp.decorators import csp_replace
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_protect

from marketing_events.models_registration import UTM_FIELDS

from ..registration.personal import token_contact
from ..registration.public import (
    RegistrationRefused,
    form_for,
    public_register,
    public_webinar,
    rate_limited,
)

TEMPLATE = "zoom_integration/public_register.html"


def _client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


@xframe_options_exempt
@csp_replace({"frame-ancestors": ["*"]})
@csrf_protect
def public_registration(request, connection_id: int, webinar_id: int):
    webinar = public_webinar(connection_id, webinar_id)
    if webinar is None:
        raise Http404(gettext("This webinar is not open for registration."))
    # A personal link (`?c=`, sent back in the form): who registers, when its token verifies;
    # otherwise the anonymous page, whatever the token was.
    token = (request.POST if request.method == "POST" else request.GET).get("c", "")
    contact = token_contact(token)
    context = {"webinar": webinar, "contact": contact}
    if contact is not None:
        context["not_you_url"] = request.path
    if request.method == "POST":
        if rate_limited(_client_ip(request)):
            context["form"] = form_for(webinar, request.POST, contact=contact)
            context["error"] = gettext(
                "Too many registrations from your address. Try again in a minute."
            )
            response = render(request, TEMPLATE, context, status=429)
            response["Retry-After"] = "60"
            return response
        form = form_for(webinar, request.POST, contact=contact)
        context["form"] = form
        if not form.is_valid():
            return render(request, TEMPLATE, context, status=400)
        try:
            context["registered"] = public_register(webinar, form)
        except RegistrationRefused as refused:
            if refused.field and refused.field in form.fields:
                form.add_error(refused.field, refused.message)
            else:
                context["error"] = refused.message
            return render(request, TEMPLATE, context, status=400)
        return render(request, TEMPLATE, context)
    initial = {key: request.GET.get(key, "")[:200] for key in UTM_FIELDS}
    initial["referrer"] = request.META.get("HTTP_REFERER", "")[:1000]
    if contact is not None:
        initial["c"] = token
    context["form"] = form_for(webinar, initial=initial, contact=contact)
    return render(request, TEMPLATE, context)
