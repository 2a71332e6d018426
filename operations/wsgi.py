"""Probes and scrapes skip the middleware that serves people: `/healthz`, `/readyz` and
`/metrics` (GET) go through the request id only. Kubernetes' kubelet calls a pod by its address
(not a host name in ALLOWED_HOSTS) and over plain HTTP; host validation, the HTTPS redirect,
sessions, CSRF, language and rate limits would turn its probe into a 400 or a redirect, and do
nothing for it. Everything else goes on to the site as before."""

from __future__ import annotations

from crm.handlers import PartialMiddlewareHandler

PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
PROBE_MIDDLEWARE = ("operations.middleware.RequestIdMiddleware",)


class ProbeHandler(PartialMiddlewareHandler):
    """Django's WSGI handler (URL routing, request signals, so database connections handled as
    usual) with only PROBE_MIDDLEWARE."""

    def middleware(self) -> list[str]:
        return list(PROBE_MIDDLEWARE)


def with_probe_paths(application):
    probes = ProbeHandler()

    def dispatch(environ, start_response):
        if environ.get("REQUEST_METHOD") in ("GET", "HEAD") and (
            environ.get("PATH_INFO", "") in PROBE_PATHS
        ):
            return probes(environ, start_response)
        return application(environ, start_response)

    return dispatch
