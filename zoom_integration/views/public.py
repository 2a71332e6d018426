"""Rule E5: the public registration page, `/r/<connection_id>/<webinar_id>/` (no login;
shareable, and embeddable in an iframe on any site)."""

from __future__ import annotations

from csp.decorators import csp_replace
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt

from marketing_events.models_registration import UTM_FIELDS

from ..registration.personal import token_contact
from ..registration.public import (
    RegistrationRefused,
    form_for,
    form_token,
    form_token_valid,
    public_register,
    public_webinar,
    rate_limited,
)

TEMPLATE = "zoom_integration/public_register.html"


def _client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _fresh(data, webinar):
    """The submitted data with a new form token (a form shown again can be submitted again)."""
    data = data.copy()
    data["t"] = form_token(webinar)
    return data


# Embedded in an iframe on another site, the page is a third-party context: a browser neither
# keeps nor sends the CSRF cookie there (SameSite=Lax), so Django's CSRF check would refuse
# every submission. The page sets no cookie and checks its own signed form token instead
# (`form_token`): a submission must come from a form this site rendered for this webinar in
# the last 24 hours. The form acts for no signed-in person, so a cross-site request can do
# nothing the page itself does not let anyone do; the honeypot and the per-IP rate limit stay.
@xframe_options_exempt
@csp_replace({"frame-ancestors": ["*"]})
@csrf_exempt
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
        if not form_token_valid(request.POST.get("t"), webinar):
            # Forged, or the page was open too long: shown again with a fresh token and the
            # answers kept; nobody registered.
            context["form"] = form_for(webinar, _fresh(request.POST, webinar), contact=contact)
            context["error"] = gettext(
                "This form has expired or was not sent by this page. Check your answers and "
                "submit it again."
            )
            return render(request, TEMPLATE, context, status=403)
        form = form_for(webinar, _fresh(request.POST, webinar), contact=contact)
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
    initial["t"] = form_token(webinar)
    context["form"] = form_for(webinar, initial=initial, contact=contact)
    return render(request, TEMPLATE, context)
