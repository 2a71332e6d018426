"""Individual user settings (rule S6): a Zoom user's side panel with its two toggles and its
webinars, each with its own sync toggle, saved at once."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from crm.errors import NotFound
from crm.views.access import settings_admin_required

from .. import selectors
from ..forms import ZoomUserSettingsForm
from ..services.connections import zoom_user_update, zoom_webinar_update
from .common import connection_or_404, fragment, readonly, settings_url, zoom_user_or_404


def panel_context(request, connection, zoom_user_id, *, form=None, saved=False) -> dict | None:
    """The side panel of one Zoom user, or None when the user is not (or no longer) there."""
    if not zoom_user_id:
        return None
    zoom_user = (
        selectors.zoom_user_rows(connection=connection).filter(zoom_user_id=zoom_user_id).first()
    )
    if zoom_user is None:
        return None
    form = form or ZoomUserSettingsForm(
        initial={
            "sync_new_webinars_by_default": zoom_user.sync_new_webinars_by_default,
            "sync_recordings": zoom_user.sync_recordings,
        }
    )
    readonly(request, form)
    webinars = selectors.host_webinars(connection=connection, host=zoom_user)
    return {
        "connection": connection,
        "zoom_user": zoom_user,
        "form": form,
        "webinars": list(webinars),
        "saved": saved,
        "close_url": settings_url(connection.brand_id, "settings", page=request.GET.get("page")),
    }


@login_required
def user_panel(request, connection_id: int, zoom_user_id: str):
    """The *User settings* side panel (htmx); a plain request gets the page with it open."""
    connection = connection_or_404(connection_id)
    zoom_user_or_404(connection, zoom_user_id)
    if not request.htmx:
        return redirect(settings_url(connection.brand_id, "settings", user=zoom_user_id))
    panel = panel_context(request, connection, zoom_user_id)
    return fragment(request, "zoom_integration/_user_panel.html", {"panel": panel})


@settings_admin_required
@require_POST
def user_update(request, connection_id: int, zoom_user_id: str):
    connection = connection_or_404(connection_id)
    zoom_user = zoom_user_or_404(connection, zoom_user_id)
    form = ZoomUserSettingsForm(request.POST)
    form.is_valid()  # two optional booleans: always valid
    zoom_user_update(
        zoom_user=zoom_user,
        sync_new_webinars_by_default=form.cleaned_data["sync_new_webinars_by_default"],
        sync_recordings=form.cleaned_data["sync_recordings"],
        actor=request.user,
    )
    if not request.htmx:
        messages.success(request, gettext("User settings saved."))
        return redirect(settings_url(connection.brand_id, "settings", user=zoom_user_id))
    panel = panel_context(request, connection, zoom_user_id, saved=True)
    return fragment(request, "zoom_integration/_user_panel.html", {"panel": panel, "oob_row": True})


@settings_admin_required
@require_POST
def webinar_toggle(request, connection_id: int, zoom_webinar_id: int):
    """A webinar's own sync toggle (rule S6), saved at once."""
    connection = connection_or_404(connection_id)
    try:
        webinar = selectors.webinar_get(connection=connection, zoom_webinar_id=zoom_webinar_id)
    except NotFound:
        raise Http404(gettext("This webinar does not exist."))
    enabled = request.POST.get("sync_enabled") in ("1", "on", "true")
    zoom_webinar_update(webinar=webinar, sync_enabled=enabled, actor=request.user)
    if not request.htmx:
        messages.success(request, gettext("Webinar setting saved."))
        host_id = webinar.host.zoom_user_id if webinar.host else None
        return redirect(settings_url(connection.brand_id, "settings", user=host_id))
    return fragment(
        request,
        "zoom_integration/_webinar_row.html",
        {"connection": connection, "webinar": webinar, "saved": True},
    )
