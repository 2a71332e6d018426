"""What every Zoom screen shares: the objects a URL names (404 otherwise), the settings page's
address, fragments for htmx and read-only forms."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext

from crm.errors import NotFound
from crm.models import Brand

from .. import selectors
from ..models import ZoomConnection, ZoomUser


def connection_or_404(connection_id: int) -> ZoomConnection:
    try:
        return selectors.connection_get(connection_id=connection_id)
    except NotFound:
        raise Http404(gettext("This Zoom connection does not exist."))


def brand_or_404(brand_id: int) -> Brand:
    try:
        return selectors.brand_get(brand_id=brand_id)
    except NotFound:
        raise Http404(gettext("This brand does not exist."))


def zoom_user_or_404(connection: ZoomConnection, zoom_user_id: str) -> ZoomUser:
    try:
        return selectors.zoom_user_get(connection=connection, zoom_user_id=zoom_user_id)
    except NotFound:
        raise Http404(gettext("This Zoom user does not exist."))


def settings_url(brand_id: int, tab: str = "home", **extra) -> str:
    query = {"brand": brand_id, "tab": tab, **{k: v for k, v in extra.items() if v}}
    return reverse("zoom_integration:settings") + "?" + urlencode(query)


def fragment(request, template, context, status=200):
    return render(request, template, {**context, "active_nav": "settings"}, status=status)


def readonly(request, *forms) -> None:
    if not request.user.can_manage_settings:
        for form in forms:
            for field in form.fields.values():
                field.disabled = True
