"""The bell's page: the signed-in person's notifications, newest first, unread ones
highlighted; mark one or all read; show unread only. Alert texts are written in the reader's
language when shown (rule L1, `crm.alerts`)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_POST

from .. import selectors
from ..alerts import alert_text
from ..paging import numbered_pager
from ..services import alerts as alert_services

PAGE_SIZE = 25


def _list_url(*, unread: bool, page: int | None = None) -> str:
    query = {
        key: value for key, value in (("unread", "1" if unread else ""), ("page", page)) if value
    }
    base = reverse("crm:notifications")
    return f"{base}?{urlencode(query)}" if query else base


@login_required
def notification_list(request):
    unread = request.GET.get("unread") == "1"
    rows = selectors.notification_list(user=request.user, unread_only=unread)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    items = []
    for notification in page.object_list:
        alert = notification.alert
        text = alert_text(alert.kind, alert.params) if alert is not None else None
        items.append({"notification": notification, "alert": alert, "text": text})
    context = {
        "items": items,
        "page": page,
        "unread": unread,
        "all_url": _list_url(unread=False),
        "unread_url": _list_url(unread=True),
        "pager": numbered_pager(page, lambda n: _list_url(unread=unread, page=n)),
        "active_nav": "notifications",
    }
    return render(request, "crm/notifications/list.html", context)


def _back(request):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("crm:notifications")


@login_required
@require_POST
def notification_read(request, notification_id: int):
    if not alert_services.notification_mark_read(
        recipient=request.user, notification_id=notification_id
    ):
        raise Http404(gettext("No such notification."))
    return _back(request)


@login_required
@require_POST
def notification_read_all(request):
    count = alert_services.notifications_mark_all_read(recipient=request.user)
    if count:
        messages.success(
            request,
            ngettext(
                "%(count)s notification marked read.",
                "%(count)s notifications marked read.",
                count,
            )
            % {"count": count},
        )
    return _back(request)
