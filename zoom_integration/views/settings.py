"""The Zoom page of one brand (`?brand=ID`, default the primary one), `?tab=home|settings`:
the Home tab (connection, users and webinars, recent runs, webhooks) and the Global settings
tab (rules S1-S5: the sync toggles and the three domain lists, then the Zoom users, rule S6)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from crm.errors import NotFound, ValidationFailed
from crm.models import Brand
from crm.paging import numbered_pager
from crm.views.access import settings_admin_required

from .. import selectors
from ..forms import DomainAddForm, GlobalSettingsForm, OAuthConnectForm, S2SConnectForm
from ..models import ConnectionStatus
from ..presentation import DOMAIN_LISTS
from ..services.client import oauth_redirect_uri
from ..services.connections import connection_settings_update
from .common import connection_or_404, fragment, readonly, settings_url
from .runs import run_rows
from .users import panel_context

TABS = ("home", "settings")
USERS_PER_PAGE = 25


def _pick_brand(brands: list[Brand], brand_id) -> Brand | None:
    if brand_id not in (None, ""):
        for brand in brands:
            if str(brand.pk) == str(brand_id):
                return brand
        raise Http404(gettext("This brand does not exist."))
    return next((b for b in brands if b.is_primary), brands[0] if brands else None)


def _domain_block(request, connection, name, form=None, notice=""):
    form = form or DomainAddForm(prefix=name)
    readonly(request, form)
    return {
        "name": name,
        "meta": DOMAIN_LISTS[name],
        "domains": getattr(connection, name),
        "form": form,
        "notice": notice,
        "suggestions": [],
    }


def render_page(
    request,
    *,
    brand_id=None,
    tab=None,
    forms: dict | None = None,
    domain_blocks: dict | None = None,
    status: int = 200,
):
    """The whole page; a failed POST renders it again with its bound form (and `status`)."""
    forms = forms or {}
    brands = selectors.brands_with_connections()
    brand = _pick_brand(brands, brand_id if brand_id is not None else request.GET.get("brand"))
    connection = brand.zoom if brand else None
    tab = tab or request.GET.get("tab")
    tab = tab if tab in TABS else "home"
    has_tabs = connection is not None and connection.connected_at is not None
    context = {
        "active_nav": "settings",
        "settings_section": "integrations",
        "brands": brands,
        "brand": brand,
        "connection": connection,
        "has_tabs": has_tabs,
        "tab": tab,
        "redirect_uri": oauth_redirect_uri(),
    }
    needs_connect_forms = not has_tabs or (
        tab == "home" and connection.status != ConnectionStatus.CONNECTED
    )
    if needs_connect_forms and brand is not None:
        initial = {}
        if connection is not None:
            initial = {"account_id": connection.zoom_account_id, "client_id": connection.client_id}
        s2s_form = forms.get("s2s") or S2SConnectForm(initial=initial)
        oauth_form = forms.get("oauth") or OAuthConnectForm(
            initial={"client_id": connection.client_id} if connection else None,
            auto_id="oauth_%s",
        )
        readonly(request, s2s_form, oauth_form)
        context.update(s2s_form=s2s_form, oauth_form=oauth_form)
    if has_tabs and tab == "home":
        context["runs"] = run_rows(connection)
        context["has_active_run"] = any(run.is_active for run in context["runs"])
    if has_tabs and tab == "settings":
        settings_form = forms.get("settings") or GlobalSettingsForm(
            initial={
                "sync_webinar_data": connection.sync_webinar_data,
                "recordings_sync": connection.recordings_sync,
                "zoom_plan": connection.zoom_plan,
            }
        )
        readonly(request, settings_form)
        blocks = {name: _domain_block(request, connection, name) for name in DOMAIN_LISTS}
        blocks.update(domain_blocks or {})
        suggestions = selectors.zoom_user_domains(connection=connection)
        blocks["recording_exclusion_domains"]["suggestions"] = suggestions
        users = Paginator(selectors.zoom_user_rows(connection=connection), USERS_PER_PAGE)
        users_page = users.get_page(request.GET.get("page"))
        context.update(
            settings_form=settings_form,
            domain_blocks=list(blocks.values()),
            users_page=users_page,
            users_pager=numbered_pager(
                users_page, lambda n: settings_url(brand.pk, "settings", page=n)
            ),
            open_panel=panel_context(request, connection, request.GET.get("user")),
        )
    template = "zoom_integration/settings.html"
    return render(request, template, context, status=status)


@login_required
def zoom_settings(request):
    """The Zoom page for one brand (`?brand=ID`, default the primary one), `?tab=home|settings`."""
    return render_page(request)


@login_required
def metadata_fragment(request, connection_id: int):
    """The "Users and webinars" block; polled while a refresh is under way."""
    connection = connection_or_404(connection_id)
    return fragment(request, "zoom_integration/_metadata.html", {"connection": connection})


# Global settings tab --------------------------------------------------------------------------


@settings_admin_required
@require_POST
def settings_update(request, connection_id: int):
    """Rules S1 and S2."""
    connection = connection_or_404(connection_id)
    form = GlobalSettingsForm(request.POST)
    if form.is_valid():
        try:
            changes = dict(form.cleaned_data)
            if not changes.get("zoom_plan"):
                changes.pop("zoom_plan", None)
            connection_settings_update(connection=connection, actor=request.user, **changes)
        except NotFound:  # deleted since this request read it
            raise Http404(gettext("This Zoom connection does not exist."))
        except ValidationFailed as exc:
            for error in exc.errors or [{}]:
                name = error.get("name")
                form.add_error(name if name in form.fields else None, error.get("message"))
        else:
            messages.success(request, gettext("Global settings saved."))
            return redirect(settings_url(connection.brand_id, "settings"))
    return render_page(
        request,
        brand_id=connection.brand_id,
        tab="settings",
        forms={"settings": form},
        status=400,
    )


def _domain_response(request, connection, name, form=None, notice="", ok=True):
    if request.htmx:
        block = _domain_block(request, connection, name, form, notice)
        if name == "recording_exclusion_domains":
            block["suggestions"] = selectors.zoom_user_domains(connection=connection)
        # 200 even with an inline error, so that htmx swaps the fragment in.
        return fragment(
            request, "zoom_integration/_domain_list.html", {"connection": connection, "b": block}
        )
    if ok:
        if notice:
            messages.info(request, notice)
        return redirect(settings_url(connection.brand_id, "settings"))
    block = _domain_block(request, connection, name, form, notice)
    return render_page(
        request,
        brand_id=connection.brand_id,
        tab="settings",
        domain_blocks={name: block},
        status=400,
    )


def _domain_list_name(name: str) -> str:
    if name not in DOMAIN_LISTS:
        raise Http404(gettext("This list does not exist."))
    return name


@settings_admin_required
@require_POST
def domain_add(request, connection_id: int, name: str):
    """Adds one domain to a list (rules S3-S5), normalized and validated by the service (S7):
    a bad one is an inline error and nothing is saved."""
    name = _domain_list_name(name)
    connection = connection_or_404(connection_id)
    form = DomainAddForm(request.POST, prefix=name)
    form.is_valid()
    raw = (form.cleaned_data.get("domain") or "").strip()
    if not raw:
        form.add_error("domain", gettext("Enter a domain, such as example.com."))
        return _domain_response(request, connection, name, form, ok=False)
    before = list(getattr(connection, name))
    try:
        connection_settings_update(
            connection=connection, actor=request.user, **{name: [*before, raw]}
        )
    except NotFound:  # deleted since this request read it
        raise Http404(gettext("This Zoom connection does not exist."))
    except ValidationFailed:
        connection.refresh_from_db()
        form.add_error(
            "domain",
            gettext("“%(value)s” is not a valid domain. Enter a domain name such as example.com.")
            % {"value": raw},
        )
        return _domain_response(request, connection, name, form, ok=False)
    added = sorted(set(getattr(connection, name)) - set(before))
    if added:
        notice = gettext("Added %(domain)s.") % {"domain": added[0]}
    else:
        notice = gettext("%(value)s is already in the list.") % {"value": raw}
    return _domain_response(request, connection, name, notice=notice)


@settings_admin_required
@require_POST
def domain_remove(request, connection_id: int, name: str):
    name = _domain_list_name(name)
    connection = connection_or_404(connection_id)
    domain = request.POST.get("domain", "")
    remaining = [d for d in getattr(connection, name) if d != domain]
    try:
        connection_settings_update(connection=connection, actor=request.user, **{name: remaining})
    except NotFound:  # deleted since this request read it
        raise Http404(gettext("This Zoom connection does not exist."))
    notice = gettext("Removed %(domain)s.") % {"domain": domain}
    return _domain_response(request, connection, name, notice=notice)
