"""Reads of the Zoom integration for its pages and API: connections by brand, Zoom users with
their webinar counts, recent sync runs, a run's skips, the webhook deliveries of the health
panel. Each read has a fixed number of queries, whatever the number of rows."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable

from django.db.models import Count, Q, QuerySet, Value
from django.db.models.functions import Lower, StrIndex, Substr
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.errors import NotFound
from crm.models import Brand

from .domains import email_domain
from .models import (
    ACTIVE_SYNC_STATUSES,
    DeliveryStatus,
    SyncRun,
    SyncRunWebinar,
    SyncSkip,
    WebhookDelivery,
    ZoomConnection,
    ZoomUser,
    ZoomWebinar,
)

# Columns the webhook health panel shows: the payload (possibly large) is never loaded.
DELIVERY_FIELDS = ("id", "connection_id", "event", "received_at", "status", "outcome")
PROBLEM_STATUSES = (DeliveryStatus.WAITING, DeliveryStatus.FAILED)


# Connections -----------------------------------------------------------------------------------


def brands_with_connections() -> list[Brand]:
    """Every brand, primary first, with its connection (or None) as `brand.zoom`: two queries."""
    brands = list(Brand.objects.order_by("-is_primary", "name"))
    connections = {c.brand_id: c for c in ZoomConnection.objects.all()}
    for brand in brands:
        brand.zoom = connections.get(brand.pk)
    return brands


def brand_get(*, brand_id) -> Brand:
    brand = Brand.objects.filter(pk=brand_id).first()
    if brand is None:
        raise NotFound(_("Brand %(id)s does not exist.") % {"id": brand_id})
    return brand


def connection_get(*, connection_id) -> ZoomConnection:
    """One connection with its brand."""
    connection = ZoomConnection.objects.select_related("brand").filter(pk=connection_id).first()
    if connection is None:
        raise NotFound(_("Zoom connection %(id)s does not exist.") % {"id": connection_id})
    return connection


# Zoom users and webinars (rule S6) ---------------------------------------------------------------


def zoom_user_rows(*, connection: ZoomConnection) -> QuerySet[ZoomUser]:
    """Zoom users with their webinar counts (`webinar_count`, `upcoming_count`), one query per
    page whatever their number."""
    now = timezone.now()
    return (
        ZoomUser.objects.filter(connection=connection)
        .annotate(
            webinar_count=Count("webinars"),
            upcoming_count=Count("webinars", filter=Q(webinars__end_time__gt=now)),
        )
        .order_by("email", "pk")
    )


def zoom_user_get(*, connection: ZoomConnection, zoom_user_id: str) -> ZoomUser:
    zoom_user = ZoomUser.objects.filter(connection=connection, zoom_user_id=zoom_user_id).first()
    if zoom_user is None:
        raise NotFound(_("Zoom user %(id)s does not exist.") % {"id": zoom_user_id})
    return zoom_user


def zoom_user_domains(*, connection: ZoomConnection) -> list[str]:
    """The distinct e-mail domains of the account's Zoom users (S4's "choose from the list"),
    computed in the database."""
    raw = (
        ZoomUser.objects.filter(connection=connection, email__contains="@")
        .annotate(domain_part=Lower(Substr("email", StrIndex("email", Value("@")) + 1)))
        .values_list("domain_part", flat=True)
        .distinct()
    )
    return sorted({email_domain("x@" + d) for d in raw if d})


def host_webinars(*, connection: ZoomConnection, host: ZoomUser) -> QuerySet[ZoomWebinar]:
    """A host's webinars, the latest first."""
    return ZoomWebinar.objects.filter(connection=connection, host=host).order_by(
        "-start_time", "zoom_webinar_id"
    )


def webinar_get(*, connection: ZoomConnection, zoom_webinar_id) -> ZoomWebinar:
    """One webinar with its host."""
    webinar = (
        ZoomWebinar.objects.filter(connection=connection, zoom_webinar_id=zoom_webinar_id)
        .select_related("host")
        .first()
    )
    if webinar is None:
        raise NotFound(_("Webinar %(id)s does not exist.") % {"id": zoom_webinar_id})
    return webinar


# Sync runs (rule Z9) ---------------------------------------------------------------------------


def recent_sync_runs(*, connection: ZoomConnection, limit: int) -> list[SyncRun]:
    """The latest runs, an active one with its counts and skips so far."""
    return sync_runs_with_live_totals(
        list(connection.sync_runs.select_related("requested_by")[:limit])
    )


def sync_run_get(*, run_id) -> SyncRun:
    """One run with its connection, brand and requester; while it runs, with its counts and
    skips so far."""
    run = (
        SyncRun.objects.select_related("connection__brand", "requested_by")
        .filter(pk=run_id)
        .first()
    )
    if run is None:
        raise NotFound(_("Sync run %(id)s does not exist.") % {"id": run_id})
    return sync_runs_with_live_totals([run])[0]


def row_counts_sum(row_counts: Iterable[dict | None]) -> dict[str, int]:
    """The counts of a run's webinar rows, added up key by key (integers only)."""
    total: Counter = Counter()
    for counts in row_counts:
        total.update({k: v for k, v in (counts or {}).items() if isinstance(v, int)})
    return dict(total)


def sync_runs_with_live_totals(runs: list[SyncRun]) -> list[SyncRun]:
    """Sets each active run's `counts` and `skips` to their sums so far: its rows' counts over
    what its start counted, and its listed skips per reason. A run's own row holds them only
    once it has ended (`services.sync_webinars.sync_run_end_if_done`), so ended runs are left
    as stored. Two queries for any number of active runs, none when no run is active."""
    active = {run.pk: run for run in runs if run.status in ACTIVE_SYNC_STATUSES}
    if not active:
        return runs
    per_run: dict[int, list] = defaultdict(list)
    for run_id, counts in SyncRunWebinar.objects.filter(run_id__in=active).values_list(
        "run_id", "counts"
    ):
        per_run[run_id].append(counts)
    skips: dict[int, dict[str, int]] = defaultdict(dict)
    for run_id, reason, n in (
        SyncSkip.objects.filter(run_id__in=active)
        .order_by()
        .values_list("run_id", "reason")
        .annotate(n=Count("id"))
    ):
        skips[run_id][reason] = n
    for pk, run in active.items():
        run.counts = {**(run.counts or {}), **row_counts_sum(per_run[pk])}
        run.skips = skips[pk]
    return runs


def skip_counts(*, run: SyncRun) -> dict[str, int]:
    """The run's listed skips per reason: one grouped query."""
    return dict(
        SyncSkip.objects.filter(run=run)
        .order_by()
        .values("reason")
        .annotate(n=Count("id"))
        .values_list("reason", "n")
    )


def skips_for_reason(*, run: SyncRun, reason: str) -> QuerySet[SyncSkip]:
    return SyncSkip.objects.filter(run=run, reason=reason).order_by(
        "email", "name", "webinar_id", "id"
    )


# Webhook deliveries (rule B4) ------------------------------------------------------------------


def webhook_event_counts(*, connection: ZoomConnection, since: dt.datetime) -> list[dict]:
    """Per event type: deliveries since `since` (`recent`), in total, waiting and failed, the
    busiest first. One grouped query."""
    return list(
        WebhookDelivery.objects.filter(connection=connection)
        .order_by()
        .values("event")
        .annotate(
            recent=Count("id", filter=Q(received_at__gte=since)),
            total=Count("id"),
            waiting=Count("id", filter=Q(status=DeliveryStatus.WAITING)),
            failed=Count("id", filter=Q(status=DeliveryStatus.FAILED)),
        )
        .order_by("-total", "event")
    )


def webhook_last_delivery(*, connection: ZoomConnection) -> WebhookDelivery | None:
    return (
        WebhookDelivery.objects.filter(connection=connection)
        .only(*DELIVERY_FIELDS)
        .order_by("-received_at", "-id")
        .first()
    )


def webhook_problem_deliveries(*, connection: ZoomConnection, limit: int) -> list[WebhookDelivery]:
    """The latest deliveries still waiting or failed."""
    return list(
        WebhookDelivery.objects.filter(connection=connection, status__in=PROBLEM_STATUSES)
        .only(*DELIVERY_FIELDS)
        .order_by("-received_at", "-id")[:limit]
    )
