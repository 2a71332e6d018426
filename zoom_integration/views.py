"""HTML views of the Zoom integration."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from crm.errors import ApplicationError

from .services.connections import connection_complete_oauth


@login_required
def oauth_callback(request):
    """Zoom sends the admin back here with `code` and `state` after the consent page."""
    if request.GET.get("error"):
        messages.error(request, _("Zoom did not authorize the connection: %(error)s")
                       % {"error": request.GET["error"]})
        return redirect("zoom_integration:settings")
    try:
        connection = connection_complete_oauth(state=request.GET.get("state", ""),
                                               code=request.GET.get("code", ""))
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("zoom_integration:settings")
    messages.success(request, _("Zoom account %(account)s is connected to %(brand)s.")
                     % {"account": connection.zoom_account_id, "brand": connection.brand.name})
    return redirect("zoom_integration:settings")
