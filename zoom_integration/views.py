"""HTML views of the Zoom integration: Settings > Integrations > Connected apps > Zoom, one
connection per brand (rule A2), with the tabs Home and Global settings (rules S1-S7), and the
page of one sync run (progress, counts, errors, skips per reason with fix hints: rule Z9).

Everyone signed in may read these pages; only super admins change anything: every POST goes
through `settings_admin_required` (403 otherwise) and the templates show others disabled
inputs and no action buttons. Writes go through the services, which own validation."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q, Value
from django.db.models.functions import Lower, StrIndex, Substr
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from crm.errors import ApplicationError, Conflict, NotFound, ValidationFailed
from crm.models import Brand
from crm.stored_text import render_stored
from crm.views.access import settings_admin_required
from marketing_events.rules import FIX_HINTS, SkipReason

from .domains import email_domain
from .forms import (
    DomainAddForm,
    GlobalSettingsForm,
    OAuthConnectForm,
    S2SConnectForm,
    ZoomUserSettingsForm,
)
from .models import (
    ACTIVE_SYNC_STATUSES,
    ConnectionKind,
    ConnectionStatus,
    SyncRun,
    SyncSkip,
    SyncTrigger,
    ZoomConnection,
    ZoomUser,
    ZoomWebinar,
)
from .services.client import oauth_redirect_uri
from .services.connections import (
    ZoomUnavailable,
    connection_complete_oauth,
    connection_create_s2s,
    connection_disconnect,
    connection_settings_update,
    connection_start_oauth,
    zoom_user_update,
    zoom_webinar_update,
)
from .services.metadata import connection_metadata_refresh_queue
from .services.sync import sync_run_request

TABS = ("home", "settings")
USERS_PER_PAGE = 25
RECENT_RUNS = 10

# The three domain lists of the Global settings tab, in the seed's order (rules S3-S5).
DOMAIN_LISTS = {
    "webinar_exclusion_domains": {
        "title": _("Exclusions"),
        "help": _(
            "Webinars hosted by Zoom users with these e-mail domains are never synced. "
            "A domain also covers its subdomains."
        ),
        "empty": _("No excluded host domains: webinars of every host can sync."),
    },
    "recording_exclusion_domains": {
        "title": _("Recording exclusions"),
        "help": _(
            "Recordings and transcripts of hosts in these domains are never synced. "
            "Enter a domain or choose from the list of your Zoom users' domains."
        ),
        "empty": _("No recording exclusions."),
    },
    "contact_exclusion_domains": {
        "title": _("Contact exclusions"),
        "help": _(
            "Enter your company's domain so that employees are never created as new contacts. "
            "Existing contacts still receive webinar activity."
        ),
        "empty": _("No contact exclusions: anyone who registers can become a contact."),
    },
}

# What a run counted, in plain words and in this order (keys from the metadata refresh and the
# sync pipeline); a key not listed here is shown after them with its name spelled out.
COUNT_PHRASES = {
    "zoom_users": lambda n: ngettext("%(n)s Zoom user", "%(n)s Zoom users", n),
    "webinars": lambda n: ngettext("%(n)s webinar", "%(n)s webinars", n),
    "new_webinars": lambda n: ngettext("%(n)s new webinar", "%(n)s new webinars", n),
    "registrations": lambda n: ngettext("%(n)s registration", "%(n)s registrations", n),
    "attendance_rows": lambda n: ngettext("%(n)s attendance row", "%(n)s attendance rows", n),
    "contacts_created": lambda n: ngettext("%(n)s contact created", "%(n)s contacts created", n),
    "webinars_synced": lambda n: ngettext("%(n)s webinar synced", "%(n)s webinars synced", n),
    "webinars_skipped": lambda n: ngettext("%(n)s webinar skipped", "%(n)s webinars skipped", n),
    "recordings": lambda n: ngettext("%(n)s recording", "%(n)s recordings", n),
    "zoom_records": lambda n: ngettext(
        "%(n)s record read from Zoom", "%(n)s records read from Zoom", n
    ),
}
RUN_ERRORS = {
    "sync_disabled": _("Sync webinar data is off, so only users and webinars were refreshed."),
    "disconnected": _("The connection was disconnected."),
}


def _run_error_text(error) -> str:
    """A run's recorded error in the reader's language: a code, or a stored sentence."""
    if isinstance(error, str) and error in RUN_ERRORS:
        return str(RUN_ERRORS[error])
    return render_stored(error)


# Reading --------------------------------------------------------------------------------------


def _brands() -> list[Brand]:
    """Every brand with its connection (or None) as `brand.zoom`: two queries."""
    brands = list(Brand.objects.order_by("-is_primary", "name"))
    connections = {c.brand_id: c for c in ZoomConnection.objects.all()}
    for brand in brands:
        brand.zoom = connections.get(brand.pk)
    return brands


def _pick_brand(brands: list[Brand], brand_id) -> Brand | None:
    if brand_id not in (None, ""):
        for brand in brands:
            if str(brand.pk) == str(brand_id):
                return brand
        raise Http404(gettext("This brand does not exist."))
    return next((b for b in brands if b.is_primary), brands[0] if brands else None)


def _get_connection(connection_id: int) -> ZoomConnection:
    connection = ZoomConnection.objects.select_related("brand").filter(pk=connection_id).first()
    if connection is None:
        raise Http404(gettext("This Zoom connection does not exist."))
    return connection


def _get_brand(brand_id: int) -> Brand:
    brand = Brand.objects.filter(pk=brand_id).first()
    if brand is None:
        raise Http404(gettext("This brand does not exist."))
    return brand


def settings_url(brand_id: int, tab: str = "home", **extra) -> str:
    query = {"brand": brand_id, "tab": tab, **{k: v for k, v in extra.items() if v}}
    return reverse("zoom_integration:settings") + "?" + urlencode(query)


def _user_rows(connection: ZoomConnection):
    """Zoom users with their webinar counts, one query per page whatever their number."""
    now = timezone.now()
    return (
        ZoomUser.objects.filter(connection=connection)
        .annotate(
            webinar_count=Count("webinars"),
            upcoming_count=Count("webinars", filter=Q(webinars__end_time__gt=now)),
        )
        .order_by("email", "pk")
    )


def _user_domains(connection: ZoomConnection) -> list[str]:
    """The distinct e-mail domains of the account's Zoom users (S4's "choose from the list"),
    computed in the database."""
    raw = (
        ZoomUser.objects.filter(connection=connection, email__contains="@")
        .annotate(domain_part=Lower(Substr("email", StrIndex("email", Value("@")) + 1)))
        .values_list("domain_part", flat=True)
        .distinct()
    )
    return sorted({email_domain("x@" + d) for d in raw if d})


def count_phrases(counts: dict) -> list[str]:
    """A run's counts in plain words ("3 registrations", "1 webinar skipped"), known keys
    first in a fixed order."""
    known = [k for k in COUNT_PHRASES if k in counts]
    other = sorted(k for k in counts if k not in COUNT_PHRASES)
    phrases = []
    for key in known + other:
        value = counts[key]
        if not isinstance(value, int):
            continue
        if key in COUNT_PHRASES:
            # The plural form follows the number; the number is written the locale's way.
            phrases.append(
                COUNT_PHRASES[key](value) % {"n": number_format(value, force_grouping=True)}
            )
        else:
            phrases.append(f"{number_format(value, force_grouping=True)} {key.replace('_', ' ')}")
    return phrases


def _run_rows(connection: ZoomConnection) -> list:
    runs = list(connection.sync_runs.select_related("requested_by")[:RECENT_RUNS])
    for run in runs:
        run.count_items = count_phrases(run.counts)
        run.skip_total = sum(v for v in run.skips.values() if isinstance(v, int))
        run.error_texts = [_run_error_text(e) for e in run.errors]
        run.is_active = run.status in ACTIVE_SYNC_STATUSES
    return runs


def _readonly(request, *forms) -> None:
    if not request.user.can_manage_settings:
        for form in forms:
            for field in form.fields.values():
                field.disabled = True


def _domain_block(request, connection, name, form=None, notice=""):
    form = form or DomainAddForm(prefix=name)
    _readonly(request, form)
    return {
        "name": name,
        "meta": DOMAIN_LISTS[name],
        "domains": getattr(connection, name),
        "form": form,
        "notice": notice,
        "suggestions": [],
    }


def _render_page(
    request,
    *,
    brand_id=None,
    tab=None,
    forms: dict | None = None,
    domain_blocks: dict | None = None,
    status: int = 200,
):
    forms = forms or {}
    brands = _brands()
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
        _readonly(request, s2s_form, oauth_form)
        context.update(s2s_form=s2s_form, oauth_form=oauth_form)
    if has_tabs and tab == "home":
        context["runs"] = _run_rows(connection)
        context["has_active_run"] = any(run.is_active for run in context["runs"])
    if has_tabs and tab == "settings":
        settings_form = forms.get("settings") or GlobalSettingsForm(
            initial={
                "sync_webinar_data": connection.sync_webinar_data,
                "recordings_sync": connection.recordings_sync,
                "zoom_plan": connection.zoom_plan,
            }
        )
        _readonly(request, settings_form)
        blocks = {name: _domain_block(request, connection, name) for name in DOMAIN_LISTS}
        blocks.update(domain_blocks or {})
        suggestions = _user_domains(connection)
        blocks["recording_exclusion_domains"]["suggestions"] = suggestions
        users = Paginator(_user_rows(connection), USERS_PER_PAGE).get_page(request.GET.get("page"))
        context.update(
            settings_form=settings_form,
            domain_blocks=list(blocks.values()),
            users_page=users,
            open_panel=_panel_context(request, connection, request.GET.get("user")),
        )
    template = "zoom_integration/settings.html"
    return render(request, template, context, status=status)


@login_required
def zoom_settings(request):
    """The Zoom page for one brand (`?brand=ID`, default the primary one), `?tab=home|settings`."""
    return _render_page(request)


def _fragment(request, template, context, status=200):
    return render(request, template, {**context, "active_nav": "settings"}, status=status)


@login_required
def sync_runs_fragment(request, connection_id: int):
    """The "Recent sync runs" rows; polled every 2 s while a run is queued or running."""
    connection = _get_connection(connection_id)
    runs = _run_rows(connection)
    context = {
        "connection": connection,
        "runs": runs,
        "has_active_run": any(run.is_active for run in runs),
    }
    return _fragment(request, "zoom_integration/_runs.html", context)


@login_required
def metadata_fragment(request, connection_id: int):
    """The "Users and webinars" block; polled while a refresh is under way."""
    connection = _get_connection(connection_id)
    return _fragment(request, "zoom_integration/_metadata.html", {"connection": connection})


# One sync run (rule Z9) ------------------------------------------------------------------------

SKIPS_PER_PAGE = 25
# Reasons that skip a whole webinar (once per run): their rows name a webinar, not a person.
WEBINAR_REASONS = frozenset(
    {SkipReason.ZOOM_EVENTS, SkipReason.EXCLUDED_HOST_DOMAIN, SkipReason.WEBINAR_SYNC_OFF}
)
SKIP_TITLES = {
    SkipReason.NO_EMAIL: _("No e-mail address (guests)"),
    SkipReason.ZOOM_EVENTS: _("Zoom Events webinars"),
    SkipReason.EXCLUDED_HOST_DOMAIN: _("Hosts in an excluded domain"),
    SkipReason.CRM_USER: _("CRM users"),
    SkipReason.SECONDARY_EMAIL: _("Secondary e-mails of contacts"),
    SkipReason.DELETED_CONTACT: _("Deleted contacts"),
    SkipReason.CONTACT_EXCLUSION_DOMAIN: _("Contact exclusion domains"),
    SkipReason.WEBINAR_SYNC_OFF: _("Webinars with sync turned off"),
}
REASON_ORDER = {reason: n for n, reason in enumerate(SkipReason)}


def duration_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 1:
        return gettext("less than a second")
    if seconds < 60:
        return ngettext("%(n)s second", "%(n)s seconds", seconds) % {"n": seconds}
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return gettext("%(m)s min %(s)s s") % {"m": minutes, "s": seconds}
    hours, minutes = divmod(minutes, 60)
    return gettext("%(h)s h %(m)s min") % {"h": hours, "m": minutes}


def _skip_page_url(request, reason: str, number: int) -> str:
    query = request.GET.copy()
    query[f"page_{reason}"] = number
    return f"{request.path}?{query.urlencode()}"


def _skip_sections(request, run: SyncRun) -> list[dict]:
    """One section per reason: its count, fix hint and a page of the skipped people or
    webinars. One grouped count plus one query per reason (at most eight), whatever the
    number of skips."""
    counted = dict(
        SyncSkip.objects.filter(run=run)
        .order_by()
        .values("reason")
        .annotate(n=Count("id"))
        .values_list("reason", "n")
    )
    # Reasons the run counted but has no rows for (nothing to list) still get their section.
    for reason, n in (run.skips or {}).items():
        if isinstance(n, int) and n and reason not in counted:
            counted[reason] = n
    reasons = sorted(counted, key=lambda r: (REASON_ORDER.get(r, len(REASON_ORDER)), r))
    sections = []
    for reason in reasons:
        rows = SyncSkip.objects.filter(run=run, reason=reason).order_by(
            "email", "name", "webinar_id", "id"
        )
        paginator = Paginator(rows, SKIPS_PER_PAGE)
        paginator.count = counted[reason]  # known from the grouped query: no COUNT per reason
        page = paginator.get_page(request.GET.get(f"page_{reason}"))
        page_links = [
            {
                "number": n,
                "url": _skip_page_url(request, reason, n) if n != Paginator.ELLIPSIS else None,
            }
            for n in paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)
        ]
        sections.append(
            {
                "reason": reason,
                "title": SKIP_TITLES.get(reason, reason.replace("_", " ").capitalize()),
                "hint": str(FIX_HINTS[reason]) if reason in FIX_HINTS else "",
                "count": counted[reason],
                "is_webinar_reason": reason in WEBINAR_REASONS,
                "page": page,
                "rows": list(page.object_list),
                "page_links": page_links,
                "prev_url": _skip_page_url(request, reason, page.number - 1)
                if page.has_previous()
                else None,
                "next_url": _skip_page_url(request, reason, page.number + 1)
                if page.has_next()
                else None,
            }
        )
    return sections


def _run_context(request, run: SyncRun) -> dict:
    run.is_active = run.status in ACTIVE_SYNC_STATUSES
    run.error_texts = [_run_error_text(e) for e in run.errors]
    end = run.finished_at or (timezone.now() if run.is_active else None)
    duration = (
        duration_text((end - run.started_at).total_seconds()) if run.started_at and end else ""
    )
    sections = _skip_sections(request, run)
    return {
        "run": run,
        "connection": run.connection,
        "brand": run.connection.brand,
        "duration": duration,
        "count_phrases": count_phrases(run.counts or {}),
        "skip_sections": sections,
        "skip_total": sum(section["count"] for section in sections),
        "poll_url": request.get_full_path(),
        "settings_url": settings_url(run.connection.brand_id),
        "global_settings_url": settings_url(run.connection.brand_id, "settings"),
    }


@login_required
def sync_run(request, run_id: int):
    """One run: status, progress, counts, errors and the skips per reason with their fix
    hints (rule Z9). Read-only for everyone signed in; while the run is queued or running the
    live block polls itself every 2 s (an htmx request gets only that block)."""
    run = (
        SyncRun.objects.select_related("connection__brand", "requested_by")
        .filter(pk=run_id)
        .first()
    )
    if run is None:
        raise Http404(gettext("This sync run does not exist."))
    context = _run_context(request, run)
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.history_restore_request:
        return _fragment(request, "zoom_integration/_run_live.html", context)
    context.update(active_nav="settings", settings_section="integrations")
    return render(request, "zoom_integration/sync_run.html", context)


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
    brand = _get_brand(brand_id)
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
    return _render_page(request, brand_id=brand.pk, tab="home", forms={"s2s": form}, status=400)


@settings_admin_required
@require_POST
def connect_oauth(request, brand_id: int):
    brand = _get_brand(brand_id)
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
    return _render_page(request, brand_id=brand.pk, tab="home", forms={"oauth": form}, status=400)


@settings_admin_required
@require_POST
def reauthorize(request, connection_id: int):
    """OAuth: back to Zoom's consent page with the stored app credentials. (An S2S connection
    is re-authorized by entering its client secret again in the form on the Home tab.)"""
    connection = _get_connection(connection_id)
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
    connection = _get_connection(connection_id)
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
    connection = _get_connection(connection_id)
    if connection.status != ConnectionStatus.CONNECTED:
        messages.error(request, gettext("Connect Zoom again before refreshing."))
    else:
        connection_metadata_refresh_queue(connection=connection)
        messages.success(request, gettext("Refreshing Zoom users and webinars…"))
    return redirect(settings_url(connection.brand_id))


@settings_admin_required
@require_POST
def sync_now(request, connection_id: int):
    connection = _get_connection(connection_id)
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


# Global settings tab --------------------------------------------------------------------------


@settings_admin_required
@require_POST
def settings_update(request, connection_id: int):
    """Rules S1 and S2."""
    connection = _get_connection(connection_id)
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
    return _render_page(
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
            block["suggestions"] = _user_domains(connection)
        # 200 even with an inline error, so that htmx swaps the fragment in.
        return _fragment(
            request, "zoom_integration/_domain_list.html", {"connection": connection, "b": block}
        )
    if ok:
        if notice:
            messages.info(request, notice)
        return redirect(settings_url(connection.brand_id, "settings"))
    block = _domain_block(request, connection, name, form, notice)
    return _render_page(
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
    connection = _get_connection(connection_id)
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
    connection = _get_connection(connection_id)
    domain = request.POST.get("domain", "")
    remaining = [d for d in getattr(connection, name) if d != domain]
    try:
        connection_settings_update(connection=connection, actor=request.user, **{name: remaining})
    except NotFound:  # deleted since this request read it
        raise Http404(gettext("This Zoom connection does not exist."))
    notice = gettext("Removed %(domain)s.") % {"domain": domain}
    return _domain_response(request, connection, name, notice=notice)


# Individual user settings (rule S6) -----------------------------------------------------------


def _panel_context(request, connection, zoom_user_id, *, form=None, saved=False) -> dict | None:
    if not zoom_user_id:
        return None
    zoom_user = _user_rows(connection).filter(zoom_user_id=zoom_user_id).first()
    if zoom_user is None:
        return None
    form = form or ZoomUserSettingsForm(
        initial={
            "sync_new_webinars_by_default": zoom_user.sync_new_webinars_by_default,
            "sync_recordings": zoom_user.sync_recordings,
        }
    )
    _readonly(request, form)
    webinars = ZoomWebinar.objects.filter(connection=connection, host=zoom_user).order_by(
        "-start_time", "zoom_webinar_id"
    )
    return {
        "connection": connection,
        "zoom_user": zoom_user,
        "form": form,
        "webinars": list(webinars),
        "saved": saved,
        "close_url": settings_url(connection.brand_id, "settings", page=request.GET.get("page")),
    }


def _get_zoom_user(connection, zoom_user_id) -> ZoomUser:
    zoom_user = ZoomUser.objects.filter(connection=connection, zoom_user_id=zoom_user_id).first()
    if zoom_user is None:
        raise Http404(gettext("This Zoom user does not exist."))
    return zoom_user


@login_required
def user_panel(request, connection_id: int, zoom_user_id: str):
    """The *User settings* side panel (htmx); a plain request gets the page with it open."""
    connection = _get_connection(connection_id)
    _get_zoom_user(connection, zoom_user_id)
    if not request.htmx:
        return redirect(settings_url(connection.brand_id, "settings", user=zoom_user_id))
    panel = _panel_context(request, connection, zoom_user_id)
    return _fragment(request, "zoom_integration/_user_panel.html", {"panel": panel})


@settings_admin_required
@require_POST
def user_update(request, connection_id: int, zoom_user_id: str):
    connection = _get_connection(connection_id)
    zoom_user = _get_zoom_user(connection, zoom_user_id)
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
    panel = _panel_context(request, connection, zoom_user_id, saved=True)
    return _fragment(
        request, "zoom_integration/_user_panel.html", {"panel": panel, "oob_row": True}
    )


@settings_admin_required
@require_POST
def webinar_toggle(request, connection_id: int, zoom_webinar_id: int):
    """A webinar's own sync toggle (rule S6), saved at once."""
    connection = _get_connection(connection_id)
    webinar = (
        ZoomWebinar.objects.filter(connection=connection, zoom_webinar_id=zoom_webinar_id)
        .select_related("host")
        .first()
    )
    if webinar is None:
        raise Http404(gettext("This webinar does not exist."))
    enabled = request.POST.get("sync_enabled") in ("1", "on", "true")
    zoom_webinar_update(webinar=webinar, sync_enabled=enabled, actor=request.user)
    if not request.htmx:
        messages.success(request, gettext("Webinar setting saved."))
        host_id = webinar.host.zoom_user_id if webinar.host else None
        return redirect(settings_url(connection.brand_id, "settings", user=host_id))
    return _fragment(
        request,
        "zoom_integration/_webinar_row.html",
        {"connection": connection, "webinar": webinar, "saved": True},
    )
