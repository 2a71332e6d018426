"""What the Zoom integration's workflow steps share (`workflow_action`: "Add contact to Zoom
webinar", `workflow_cancel`: "Cancel the Zoom webinar registration"): reading a webinar id and
the keys of a configuration, the primary brand's connection (rule W4), the rate-limited call,
and Zoom's failures mapped to the engine's outcomes (transient → retried, credentials →
failed)."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from crm.models import Brand
from crm.stored_text import stored_text

from .client import ZoomAuthError, ZoomRateLimited, ZoomTransientError, rate_label
from .models import ConnectionStatus, ZoomConnection, ZoomWebinar
from .sync.ratelimit import AccountRateLimiter, configured_limits

WEBINAR_ID = re.compile(r"\d{9,12}")


def workflows():
    """The workflows' action registry, imported late: the workflows app is optional for the
    Zoom integration's other parts."""
    from workflows import actions

    return actions


class Stop(Exception):
    """Ends the step's run with a final failure message (a stored text)."""

    def __init__(self, message: dict):
        super().__init__(message)
        self.message = message


def only_keys(config: dict, allowed: set[str]) -> None:
    unknown = sorted(set(config) - allowed - {"type"})
    if unknown:
        raise workflows().ActionInvalid(
            _("Unknown key %(key)s") % {"key": repr(unknown[0])}, unknown[0]
        )


def clean_webinar_id(raw, *, field: str = "webinar_id") -> str:
    """A Zoom webinar id typed without spaces or dashes (rule W2), as a string of digits."""
    if (
        isinstance(raw, bool)
        or not isinstance(raw, (str, int))
        or not WEBINAR_ID.fullmatch(str(raw))
    ):
        raise workflows().ActionInvalid(
            _(
                "%(value)s is not a Zoom webinar id: type its 9 to 12 digits without spaces "
                "or dashes (e.g. 81234567890)"
            )
            % {"value": repr(raw if raw is not None else "")},
            field,
        )
    return str(raw)


def primary_connection() -> tuple[Brand, ZoomConnection]:
    """Rule W4: the primary brand's connection, and only it; `Stop` when there is none that
    works."""
    brand = Brand.objects.filter(is_primary=True).first()
    if brand is None:
        raise Stop(
            stored_text(gettext_noop("There is no primary brand: choose one in Settings > Brands"))
        )
    connection = (
        ZoomConnection.objects.filter(brand=brand)
        .exclude(status=ConnectionStatus.DISCONNECTED)
        .first()
    )
    if connection is None or connection.status != ConnectionStatus.CONNECTED:
        raise Stop(
            stored_text(
                gettext_noop(
                    "The primary brand (%(brand)s) has no working Zoom connection: connect it in "
                    "Settings > Integrations > Zoom"
                ),
                brand=brand.name,
            )
        )
    return brand, connection


def limiter_for(connection: ZoomConnection) -> AccountRateLimiter:
    return AccountRateLimiter(
        connection.zoom_account_id or str(connection.pk),
        limits=configured_limits(connection.zoom_plan),
    )


def call(limiter: AccountRateLimiter, label: str, fn):
    """One Zoom call under the account's rate limiter; a 429 blocks the limiter for every
    worker for as long as Zoom says."""
    limiter.acquire(label)
    try:
        with rate_label(label):
            return fn()
    except ZoomRateLimited as exc:
        limiter.block(exc.retry_after)
        raise


def zoom_failure(exc: Exception):
    """Zoom's answer as the engine's outcome: busy (429, 5xx, timeouts) raises `ActionRetry`
    (retried with back-off); refused credentials fail the step, saying what to do."""
    actions = workflows()
    if isinstance(exc, (ZoomRateLimited, ZoomTransientError)):
        delay = exc.retry_after if isinstance(exc, ZoomRateLimited) else None
        raise actions.ActionRetry(
            stored_text(gettext_noop("Zoom is busy: %(error)s"), error=str(exc)), delay=delay
        )
    if isinstance(exc, ZoomAuthError):
        return actions.ActionResult.failed(
            stored_text(
                gettext_noop(
                    "Zoom refused the primary brand's credentials (%(error)s): reconnect Zoom in "
                    "Settings > Integrations > Zoom"
                ),
                error=exc.message,
            )
        )
    raise exc


def webinar_times(webinar_id: str):
    """(start, end) of a webinar of the primary brand's connection as Zoom listed it, for a
    `delay` relative to a webinar not synced yet (its marketing event does not exist); None
    when the connection does not list it."""
    if not WEBINAR_ID.fullmatch(str(webinar_id)):
        return None
    webinar = (
        ZoomWebinar.objects.filter(
            connection__brand__is_primary=True,
            connection__status=ConnectionStatus.CONNECTED,
            zoom_webinar_id=int(webinar_id),
        )
        .only("start_time", "end_time")
        .first()
    )
    return (webinar.start_time, webinar.end_time) if webinar is not None else None
