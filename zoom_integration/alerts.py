"""The Zoom integration's alerts (issue 22): a connection that needs re-authorization, a sync
run that failed, scheduled runs failing in a row, webhooks refused at a high rate. Each is
raised where the problem is seen and cleared where it ends; its texts are registered with
`crm.alerts` and written in the reader's language when shown (rule L1).

Keys name the problem: `connection:<id>:needs_reauth`, `connection:<id>:sync_failed`,
`connection:<id>:sync_failing`, `connection:<id>:webhook_refusals`."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from crm.alerts import AlertKind, Severity, register_alert_kind
from crm.services.alerts import alert_clear, alert_raise

from .models import ConnectionStatus, SyncRun, SyncStatus, SyncTrigger, ZoomConnection
from .presentation import REJECTION_HINTS, rejection_text

NEEDS_REAUTH = "zoom.connection_needs_reauth"
SYNC_FAILED = "zoom.sync_failed"
SYNC_FAILING = "zoom.sync_failing_repeatedly"
WEBHOOK_REFUSALS = "zoom.webhook_refusals"

RECONNECT_HINT = _(
    "Open Settings > Integrations > Zoom for this brand and re-authorize the connection (for "
    "Server-to-Server OAuth, enter the app's current client secret), then run Sync now."
)
# Why a run failed, as `services.sync` records it: a hint for each cause.
SYNC_HINTS = {
    "auth": RECONNECT_HINT,
    "zoom": _(
        "Transient errors were retried; run the sync again later, or check the connection in "
        "Settings > Integrations > Zoom."
    ),
    "crash": _(
        "The CRM failed unexpectedly: the workers' logs (event zoom.sync.crashed) name the "
        "error. Run the sync again once it is fixed."
    ),
}


def _sync_hint(params: Mapping[str, Any]):
    return SYNC_HINTS.get(params.get("cause", ""), SYNC_HINTS["zoom"])


def _refusal_hint(params: Mapping[str, Any]):
    return REJECTION_HINTS.get(params.get("reason", ""), "")


def _refusal_words(params: Mapping[str, Any]) -> dict:
    return {"reason_text": rejection_text(str(params.get("reason", "")))}


KINDS = (
    AlertKind(
        code=NEEDS_REAUTH,
        title=_("Zoom connection of %(brand)s needs re-authorization"),
        description=_(
            "Zoom refused the connection's credentials (%(reason)s): nothing of %(brand)s "
            "syncs from Zoom until it is re-authorized."
        ),
        hint=RECONNECT_HINT,
        severity=Severity.CRITICAL,
    ),
    AlertKind(
        code=SYNC_FAILED,
        title=_("A Zoom sync of %(brand)s failed"),
        description=_("Sync run %(run)s failed: %(error)s"),
        hint=_sync_hint,
    ),
    AlertKind(
        code=SYNC_FAILING,
        title=_("Scheduled Zoom syncs of %(brand)s keep failing"),
        description=_(
            "The last %(count)s scheduled sync runs of %(brand)s all failed (the latest, run "
            "%(run)s: %(error)s). Webinar data is not being brought in."
        ),
        hint=_sync_hint,
        severity=Severity.CRITICAL,
    ),
    AlertKind(
        code=WEBHOOK_REFUSALS,
        title=_("Zoom webhooks of %(brand)s are being refused"),
        description=_(
            "%(count)s webhook deliveries were refused in the last %(minutes)s minutes, most "
            "for this reason: %(reason_text)s. Registrations and attendance do not arrive in "
            "real time meanwhile."
        ),
        hint=_refusal_hint,
        display_params=_refusal_words,
    ),
)


def register() -> None:
    for kind in KINDS:
        register_alert_kind(kind)


def _key(connection_id: int, problem: str) -> str:
    return f"connection:{connection_id}:{problem}"


def _brand_name(connection_id: int) -> str:
    return (
        ZoomConnection.objects.filter(pk=connection_id)
        .values_list("brand__name", flat=True)
        .first()
        or "?"
    )


def _settings_link(brand_id: int) -> str:
    return f"{reverse('zoom_integration:settings')}?brand={brand_id}"


# 1. Re-authorization ---------------------------------------------------------------------


def alert_needs_reauth(*, connection_id: int, reason: str) -> None:
    row = (
        ZoomConnection.objects.filter(pk=connection_id)
        .values("brand_id", "brand__name", "status")
        .first()
    )
    if row is None or row["status"] != ConnectionStatus.NEEDS_REAUTH:
        return
    alert_raise(
        key=_key(connection_id, "needs_reauth"),
        kind=NEEDS_REAUTH,
        params={"brand": row["brand__name"], "reason": reason[:300]},
        object_type="zoom_connection",
        object_id=connection_id,
        link=_settings_link(row["brand_id"]),
    )


def clear_needs_reauth(*, connection_id: int) -> None:
    """The connection is connected again (or was disconnected on purpose)."""
    alert_clear(key=_key(connection_id, "needs_reauth"))


def clear_connection_alerts(*, connection_id: int) -> None:
    """A connection disconnected on purpose has none of these problems any more."""
    for problem in ("needs_reauth", "sync_failed", "sync_failing", "webhook_refusals"):
        alert_clear(key=_key(connection_id, problem))


# 2 and 3. Sync runs ----------------------------------------------------------------------


def alerts_after_run(*, run: SyncRun, cause: str = "", error: str | dict = "") -> None:
    """Called when a run ends. A failed run raises `sync_failed`, and, when it is the last of
    ALERT_FAILED_RUNS_IN_A_ROW scheduled runs that all failed, `sync_failing`; a run that
    succeeded clears both. Skipped runs (sync off, disconnected) change nothing."""
    connection_id = run.connection_id
    if run.status == SyncStatus.SUCCEEDED:
        alert_clear(key=_key(connection_id, "sync_failed"))
        alert_clear(key=_key(connection_id, "sync_failing"))
        return
    if run.status != SyncStatus.FAILED:
        return
    brand = _brand_name(connection_id)
    # `error` is Zoom's words, or a stored text (crm.stored_text) read in each reader's language
    params = {
        "brand": brand,
        "run": run.pk,
        "error": error if isinstance(error, dict) else error[:500],
        "cause": cause,
    }
    link = reverse("zoom_integration:sync_run", args=[run.pk])
    alert_raise(
        key=_key(connection_id, "sync_failed"),
        kind=SYNC_FAILED,
        params=params,
        object_type="zoom_connection",
        object_id=connection_id,
        link=link,
    )
    if run.trigger != SyncTrigger.SCHEDULED:
        return
    needed = settings.ALERT_FAILED_RUNS_IN_A_ROW
    last = list(
        SyncRun.objects.filter(
            connection_id=connection_id,
            trigger=SyncTrigger.SCHEDULED,
            status__in=[SyncStatus.SUCCEEDED, SyncStatus.FAILED],
        )
        .order_by("-created_at", "-id")
        .values_list("status", flat=True)[:needed]
    )
    if len(last) == needed and all(status == SyncStatus.FAILED for status in last):
        alert_raise(
            key=_key(connection_id, "sync_failing"),
            kind=SYNC_FAILING,
            params={**params, "count": needed},
            object_type="zoom_connection",
            object_id=connection_id,
            link=link,
        )


# 4. Webhook refusals ---------------------------------------------------------------------


def refusals_in_window(
    rejections: list[dict], *, now: dt.datetime, minutes: int
) -> tuple[int, str]:
    """How many refusals of a connection's recent list fall in the last `minutes`, and the
    most frequent reason among them (ties: the alphabetically first). Pure."""
    since = now - dt.timedelta(minutes=minutes)
    reasons: Counter[str] = Counter()
    for item in rejections:
        at = item.get("at")
        when = parse_datetime(at) if isinstance(at, str) else None
        if when is not None and when >= since:
            reasons[str(item.get("reason", ""))] += 1
    if not reasons:
        return 0, ""
    top = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
    return sum(reasons.values()), top


def check_webhook_refusals(*, now: dt.datetime | None = None) -> list[int]:
    """Raises `webhook_refusals` for each connection with at least ALERT_WEBHOOK_REFUSALS
    refusals in the last ALERT_WEBHOOK_WINDOW_MINUTES, and clears it for the others. Returns
    the connections alerted. Run by Celery beat every minute."""
    from .webhooks.receiver import recent_rejections

    now = now or timezone.now()
    minutes = settings.ALERT_WEBHOOK_WINDOW_MINUTES
    alerted = []
    rows = ZoomConnection.objects.exclude(status=ConnectionStatus.DISCONNECTED).values(
        "pk", "brand_id", "brand__name"
    )
    for row in rows:
        count, reason = refusals_in_window(recent_rejections(row["pk"]), now=now, minutes=minutes)
        key = _key(row["pk"], "webhook_refusals")
        if count >= settings.ALERT_WEBHOOK_REFUSALS:
            alert_raise(
                key=key,
                kind=WEBHOOK_REFUSALS,
                params={
                    "brand": row["brand__name"],
                    "count": count,
                    "minutes": minutes,
                    "reason": reason,  # a code: its words are written when shown
                },
                object_type="zoom_connection",
                object_id=row["pk"],
                link=_settings_link(row["brand_id"]),
                now=now,
            )
            alerted.append(row["pk"])
        else:
            alert_clear(key=key, now=now)
    return alerted
