"""Connecting a brand to Zoom (rule A2: Server-to-Server OAuth or the OAuth authorization
code, re-authorizing, disconnecting) and the Home tab's actions: refresh users and webinars,
sync now."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from crm.errors import ApplicationError, Conflict, ValidationFailed
from crm.views.access import settings_admin_required

from ..forms import OAuthConnectForm, S2SConnectForm
from ..models import ConnectionKind, ConnectionStatus, SyncTrigger
from ..services.connections import (
    ZoomUnavailable,
    connection_complete_oauth,
    connection_create_s2s,
    connection_disconnect,
    connection_start_oauth,
)
from ..services.metadata import connection_metadata_refresh_queue
from ..services.sync import sync_run_request
from .common import brand_or_404, connection_or_404, settings_url
from .settings import render_page

# Connecting -----------------------------------------------------------------------------------


def _connect_errors(form, exc: ApplicationError) -> None:
    """Service errors on a connect form: Zoom refusing the credentials is a form error (we
    cannot tell which of them is wrong); a conflict names what to do."""
    if isinstance(exc, ZoomUnavailable):
        form.add_error(None, gettext("Zoom could not be reached. Try again in a moment."))
    elif isinstance(exc, Conflict):
        if exc.context.get("connection_id"):
            message = gettext("This brand is already connected to Zoom: disconnect it first.")
        else:
            message = gettext(
                "This Zoom account is already connected to another brand: each brand "
                "connects its own Zoom account."
            )
        form.add_error(None, message)
    else:
        form.add_error(
            None,
            gettext(
                "Zoom refused these credentials (%(reason)s). Check the values in your Zoom "
                "app's App credentials page."
            )
            % {"reason": exc.message},
        )


@settings_admin_required
@require_POST
def connect_s2s(request, brand_id: int):
    brand = brand_or_404(brand_id)
    form = S2SConnectForm(request.POST)
    if form.is_valid():
        try:
            connection = connection_create_s2s(brand=brand, actor=request.user, **form.cleaned_data)
        except (ValidationFailed, Conflict, ZoomUnavailable) as exc:
            _connect_errors(form, exc)
        else:
            messages.success(
                request,
                gettext(
                    "Zoom account %(account)s is connected to %(brand)s. Its users and "
                    "webinars are being fetched; turn on Sync webinar data in Global settings "
                    "when you are ready."
                )
                % {"account": connection.zoom_account_id, "brand": brand.name},
            )
            return redirect(settings_url(brand.pk))
    return render_page(request, brand_id=brand.pk, tab="home", forms={"s2s": form}, status=400)


@settings_admin_required
@require_POST
def connect_oauth(request, brand_id: int):
    brand = brand_or_404(brand_id)
    form = OAuthConnectForm(request.POST, auto_id="oauth_%s")
    if form.is_valid():
        try:
            _connection, authorize_url = connection_start_oauth(
                brand=brand, actor=request.user, **form.cleaned_data
            )
        except (ValidationFailed, Conflict) as exc:
            _connect_errors(form, exc)
        else:
            return redirect(authorize_url)
    return render_page(request, brand_id=brand.pk, tab="home", forms={"oauth": form}, status=400)


@settings_admin_required
@require_POST
def reauthorize(request, connection_id: int):
    """OAuth: back to Zoom's consent page with the stored app credentials. (An S2S connection
    is re-authorized by entering its client secret again in the form on the Home tab.)"""
    connection = connection_or_404(connection_id)
    if connection.kind != ConnectionKind.OAUTH:
        return redirect(settings_url(connection.brand_id) + "#reconnect")
    try:
        _connection, authorize_url = connection_start_oauth(
            brand=connection.brand,
            client_id=connection.client_id,
            client_secret=connection.client_secret,
            actor=request.user,
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(settings_url(connection.brand_id))
    return redirect(authorize_url)


@login_required
def oauth_callback(request):
    """Zoom sends the admin back here with `code` and `state` after the consent page."""
    if request.GET.get("error"):
        messages.error(
            request,
            gettext("Zoom did not authorize the connection: %(error)s")
            % {"error": request.GET["error"]},
        )
        return redirect("zoom_integration:settings")
    try:
        connection = connection_complete_oauth(
            state=request.GET.get("state", ""),
            code=request.GET.get("code", ""),
            actor=request.user,
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("zoom_integration:settings")
    messages.success(
        request,
        gettext("Zoom account %(account)s is connected to %(brand)s.")
        % {"account": connection.zoom_account_id, "brand": connection.brand.name},
    )
    return redirect(settings_url(connection.brand_id))


@settings_admin_required
@require_POST
def disconnect(request, connection_id: int):
    """Rule A2: stops all syncing and keeps the data."""
    connection = connection_or_404(connection_id)
    connection_disconnect(connection=connection, actor=request.user)
    messages.success(
        request,
        gettext(
            "Zoom is disconnected from %(brand)s. Nothing syncs any more; the Zoom users, "
            "webinars and synced records are kept."
        )
        % {"brand": connection.brand.name},
    )
    return redirect(settings_url(connection.brand_id))


# Home tab actions -----------------------------------------------------------------------------


@settings_admin_required
@require_POST
def refresh(request, connection_id: int):
    connection = connection_or_404(connection_id)
    if connection.status != ConnectionStatus.CONNECTED:
        messages.error(request, gettext("Connect Zoom again before refreshing."))
    else:
        connection_metadata_refresh_queue(connection=connection)
        messages.success(request, gettext("Refreshing Zoom users and webinars…"))
    return redirect(settings_url(connection.brand_id))


@settings_admin_required
@require_POST
def sync_now(request, connection_id: int):
    connection = connection_or_404(connection_id)
    try:
        run = sync_run_request(
            connection=connection, trigger=SyncTrigger.MANUAL, actor=request.user
        )
    except Conflict as exc:
        run_id = exc.context.get("run_id")
        if run_id:
            message = gettext(
                "A sync is already under way (run #%(run)s): wait for it to finish."
            ) % {"run": run_id}
        elif connection.status == ConnectionStatus.DISCONNECTED:
            message = gettext("This connection is disconnected: connect Zoom again to sync.")
        else:
            message = gettext("This connection needs re-authorization before it can sync.")
        messages.error(request, message)
    else:
        if connection.sync_webinar_data:
            messages.success(request, gettext("Sync #%(run)s started.") % {"run": run.pk})
        else:
            messages.info(
                request,
                gettext(
                    "Sync #%(run)s started. Sync webinar data is off, so it only refreshes "
                    "users and webinars."
                )
                % {"run": run.pk},
            )
    return redirect(settings_url(connection.brand_id))
