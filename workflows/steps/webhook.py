"""`webhook` (rule W9): POST a JSON body about the contact and the enrollment to an https URL.

- Signed: `X-CRM-Signature: sha256=<hex HMAC-SHA256 of the raw body>` with the workflow's secret
  (`Workflow.webhook_secret`, encrypted at rest, shown once when made or rotated).
- Idempotent (rule W10): `Idempotency-Key` is the same on every try of one step of one
  enrollment, so a receiver can drop a repeat; once a 2xx is recorded it is never sent again.
- Retried by the engine with back-off on 5xx, 408, 429, timeouts and network errors; another
  answer (3xx, 4xx) fails the step. Redirects are not followed.
- SSRF guard: the host must resolve to public addresses only (no loopback, private, link-local,
  multicast or reserved ones), checked when the step runs; the request then connects to the
  address that was checked (pinned), never resolving the name again (no DNS-rebinding window),
  while TLS still sends the host name (SNI) and verifies the certificate against it.
  `WORKFLOW_WEBHOOK_TEST_HOSTS` lets named hosts through (and plain http to them) for tests and
  demos; production refuses it.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop
from requests.adapters import HTTPAdapter

from crm.stored_text import stored_text

from ..actions import ActionInvalid, ActionResult, ActionRetry, ActionType
from .common import object_schema, only_keys

TYPE = "webhook"
MAX_URL = 2000
SIGNATURE_HEADER = "X-CRM-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
RETRY_STATUSES = {408, 425, 429}


def _test_hosts() -> set[str]:
    return {h.strip().lower() for h in settings.WORKFLOW_WEBHOOK_TEST_HOSTS if h.strip()}


def _allowed_test_host(parts) -> bool:
    hosts = _test_hosts()
    host = (parts.hostname or "").lower()
    return host in hosts or f"{host}:{parts.port}" in hosts


def clean(config: dict) -> dict:
    only_keys(config, {"url"})
    url = config.get("url")
    if not isinstance(url, str) or not url.strip():
        raise ActionInvalid(_("Give the https URL to send to"), "url")
    url = url.strip()
    if len(url) > MAX_URL:
        raise ActionInvalid(_("A URL has at most %(max)s characters") % {"max": MAX_URL}, "url")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ActionInvalid(_("%(url)s is not a URL") % {"url": repr(url)}, "url")
    if not parts.hostname or parts.username or parts.password:
        raise ActionInvalid(_("%(url)s is not a URL") % {"url": repr(url)}, "url")
    if parts.scheme != "https" and not (parts.scheme == "http" and _allowed_test_host(parts)):
        raise ActionInvalid(_("Only https URLs can be used"), "url")
    if not _allowed_test_host(parts):
        try:
            address = ipaddress.ip_address(parts.hostname)
        except ValueError:
            address = None
        if address is not None and not address.is_global:
            raise ActionInvalid(
                _("%(host)s is a private or local address: use a public one")
                % {"host": parts.hostname},
                "url",
            )
    return {"url": url}


class Refused(Exception):
    pass


def check_destination(url: str) -> str | None:
    """Raises `Refused` unless every address the host resolves to is public (SSRF guard).
    Returns the address to connect to (None for a test host, which is not checked)."""
    parts = urlsplit(url)
    if _allowed_test_host(parts):
        return None
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise Refused(str(exc))
    addresses = {info[4][0] for info in infos}
    bad = sorted(a for a in addresses if not ipaddress.ip_address(a.split("%")[0]).is_global)
    if bad or not addresses:
        raise Refused(", ".join(bad))
    # The first answer, as a client connecting by name would try first.
    return infos[0][4][0].split("%")[0]


class PinnedAdapter(HTTPAdapter):
    """Connects to an address already checked, while TLS speaks to the host name: SNI and the
    certificate's verification use `host`, not the address in the URL."""

    def __init__(self, host: str):
        self.host = host
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["server_hostname"] = self.host
        kwargs["assert_hostname"] = self.host
        super().init_poolmanager(*args, **kwargs)


def pinned_post(url: str, address: str | None, **kwargs) -> requests.Response:
    """POSTs to `url`, connecting to `address` (None: resolve the name, a test host only)."""
    if address is None:
        return requests.post(url, **kwargs)
    parts = urlsplit(url)
    host = parts.hostname.encode("idna").decode("ascii")  # checked: it resolved
    literal = f"[{address}]" if ":" in address else address
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    host_header = host if parts.port is None else f"{host}:{parts.port}"
    headers = {**kwargs.pop("headers", {}), "Host": host_header}
    with requests.Session() as session:
        session.mount(f"{parts.scheme}://", PinnedAdapter(host))
        return session.post(parts._replace(netloc=netloc).geturl(), headers=headers, **kwargs)


def signature(secret: str, raw: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def payload(ctx) -> dict:
    contact, enrollment, workflow = ctx.contact, ctx.enrollment, ctx.workflow
    return {
        "workflow": {"id": workflow.pk, "name": workflow.name},
        "version": enrollment.version.number,
        "enrollment": {
            "id": enrollment.pk,
            "number": enrollment.number,
            "source": enrollment.source,
            "created_at": enrollment.created_at.isoformat(),
        },
        "contact": {
            "id": contact.pk,
            "email": contact.email,
            "firstname": contact.first_name,
            "lastname": contact.last_name,
            "properties": dict(contact.properties or {}),
        },
        "step": {"id": ctx.step_id, "type": TYPE},
        "sent_at": timezone.now().isoformat(),
    }


def run(ctx) -> ActionResult:
    url = ctx.config["url"]
    secret = ctx.workflow.webhook_secret
    if not secret:
        return ActionResult.failed(
            stored_text(gettext_noop("The workflow has no webhook secret: make one on its page"))
        )
    try:
        address = check_destination(url)
    except Refused as exc:
        return ActionResult.failed(
            stored_text(
                gettext_noop("Not sent: %(host)s is not a public address (%(detail)s)"),
                host=urlsplit(url).hostname,
                detail=str(exc),
            )
        )
    raw = json.dumps(payload(ctx), separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "CRM-Workflows/1",
        SIGNATURE_HEADER: signature(secret, raw),
        IDEMPOTENCY_HEADER: ctx.idempotency_key,
    }
    timeout = settings.WORKFLOW_WEBHOOK_TIMEOUT_SECONDS
    try:
        response = pinned_post(
            url, address, data=raw, headers=headers, timeout=(min(5, timeout), timeout),
            allow_redirects=False,
        )  # fmt: skip
    except requests.Timeout:
        raise ActionRetry(stored_text(gettext_noop("%(url)s did not answer in time"), url=url))
    except requests.RequestException as exc:
        raise ActionRetry(
            stored_text(gettext_noop("%(url)s could not be reached: %(error)s"), url=url,
                        error=type(exc).__name__)
        )  # fmt: skip
    status = response.status_code
    if 200 <= status < 300:
        return ActionResult.succeeded(
            stored_text(gettext_noop("Delivered: %(url)s answered %(status)s"), url=url,
                        status=status),
            status_code=status,
        )  # fmt: skip
    if status >= 500 or status in RETRY_STATUSES:
        retry_after = response.headers.get("Retry-After", "")
        raise ActionRetry(
            stored_text(gettext_noop("%(url)s answered %(status)s"), url=url, status=status),
            delay=float(retry_after) if retry_after.isdigit() else None,
        )
    return ActionResult.failed(
        stored_text(gettext_noop("%(url)s refused it: %(status)s"), url=url, status=status),
        status_code=status,
    )


def describe(config: dict) -> str:
    return _("Send to %(url)s") % {"url": config.get("url")}


def schema(direction: str) -> dict:
    return object_schema(
        TYPE,
        {"url": {"type": "string", "maxLength": MAX_URL, "description": "An https URL"}},
        direction=direction,
        required=("url",),
    )


FIELDS = ({"name": "url", "kind": "url", "label": gettext_lazy("URL (https)"), "required": True},)


def action_types():
    return [
        ActionType(
            type=TYPE,
            label=gettext_lazy("Send a webhook"),
            clean=clean,
            run=run,
            describe=describe,
            schema=schema,
            fields=FIELDS,
        )
    ]
