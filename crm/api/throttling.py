"""Per-token API rate limit (DESIGN "Production safety"): a token may make `API_RATE_LIMIT`
requests per interval ("190/10s", HubSpot's own figure for its private apps); past it the
API answers 429 with `Retry-After`. Every token request's answer carries HubSpot's rate
headers (`X-HubSpot-RateLimit-Max`, `-Remaining`, `-Interval-Milliseconds`).

DRF's SimpleRateThrottle keeps each token's recent request times in the cache (Redis in
production, so every web process counts together). Requests authenticated by a session (the
browser) are bounded by the login throttle, not here."""

import re

from django.core.exceptions import ImproperlyConfigured
from rest_framework.throttling import SimpleRateThrottle

from ..models import ApiToken

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(s|sec|second|m|min|minute|h|hour|d|day)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

RATE_LIMIT_ATTRIBUTE = "api_rate_limit"


def parse_rate(rate: str) -> tuple[int, int]:
    """'190/10s' → (190, 10); '5/m' → (5, 60). DRF's own parser knows no '10s'."""
    match = _RATE.match(rate or "")
    if not match:
        raise ImproperlyConfigured(
            f"API_RATE_LIMIT {rate!r} is not a rate such as 190/10s, 100/s or 6000/m"
        )
    count, multiple, unit = match.groups()
    return int(count), int(multiple or 1) * _UNIT_SECONDS[unit[0]]


class TokenRateThrottle(SimpleRateThrottle):
    scope = "token"

    def parse_rate(self, rate):
        if rate is None:
            return None, None
        return parse_rate(rate)

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, ApiToken):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}

    def allow_request(self, request, view):
        allowed = super().allow_request(request, view)
        if self.rate is not None and isinstance(request.auth, ApiToken):
            used = len(self.history)
            # The response (or the 429) says where the token stands after this request.
            setattr(
                request._request,
                RATE_LIMIT_ATTRIBUTE,
                (self.num_requests, max(self.num_requests - used, 0), self.duration * 1000),
            )
        return allowed


class RateLimitHeadersMiddleware:
    """Adds HubSpot's rate-limit headers to the answers of token requests."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        limit = getattr(request, RATE_LIMIT_ATTRIBUTE, None)
        if limit is not None:
            maximum, remaining, interval_ms = limit
            response["X-HubSpot-RateLimit-Max"] = str(maximum)
            response["X-HubSpot-RateLimit-Remaining"] = str(remaining)
            response["X-HubSpot-RateLimit-Interval-Milliseconds"] = str(interval_ms)
        return response


def check_rate_setting(app_configs=None, **kwargs):
    """A system check: a malformed API_RATE_LIMIT stops start-up, not the first request."""
    from django.conf import settings
    from django.core import checks

    rate = settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {}).get("token")
    try:
        parse_rate(rate)
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="crm.E001")]
    return []
