"""A WSGI handler with only part of MIDDLEWARE, for paths that machines call (Zoom's webhook
deliveries, Kubernetes' probes): its chain is built by Django's own public `load_middleware`,
with MIDDLEWARE set to the part while it runs. That happens once, when the handler is made
(the WSGI module's import, before any request), so no request ever sees the setting changed."""

from __future__ import annotations

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler


class PartialMiddlewareHandler(WSGIHandler):
    def middleware(self) -> list[str]:
        """The middleware (dotted paths, in MIDDLEWARE's order) this handler runs."""
        raise NotImplementedError

    def load_middleware(self, is_async: bool = False) -> None:
        everything = settings.MIDDLEWARE
        settings.MIDDLEWARE = self.middleware()
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = everything
