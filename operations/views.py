"""`/healthz`, `/readyz` and `/metrics`: for load balancers, orchestrators and Prometheus, not
for people. No login, no session, no CSRF, no language (their answers are English JSON or
Prometheus text, rule L2's machine side); the WSGI entry point sends them past the browser
middleware (`operations.wsgi`)."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from .readiness import OK, readiness


@never_cache
@require_safe
def healthz(request):
    """The process is up and serving requests; it touches nothing else."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request):
    """200 when the database, the cache, the broker are reachable and the migrations applied;
    503 naming each part that is not, with the reason in words that carry no secret."""
    checks = readiness()
    ready = all(answer == OK for answer in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )


@never_cache
@require_safe
def metrics(request):
    """Prometheus' text format, for the holder of METRICS_TOKEN (`Authorization: Bearer …`).
    Without the setting the path does not exist (404), so nothing leaks by default."""
    token = settings.METRICS_TOKEN
    if not token:
        return JsonResponse({"error": "not_found", "message": "Not found."}, status=404)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), token.encode()
    ):
        response = JsonResponse(
            {"error": "unauthorized", "message": "Send Authorization: Bearer <METRICS_TOKEN>."},
            status=401,
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    from .metrics import registry

    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
