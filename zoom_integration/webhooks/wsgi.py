"""A lean way in for Zoom's webhook deliveries: the same Django request handling (URL routing,
the view, request signals and so database connection handling), through only the middleware a
server-to-server POST can use. Sessions, log-in, messages, CSRF (the receiver is exempt),
language, HTMX, the Content-Security-Policy and static files serve people in browsers; a
delivery never touches them, and on a path that must answer hundreds of deliveries a second
they are most of Django's own cost. Everything else in MIDDLEWARE (security headers, host
validation, anything added later) still runs."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.utils.module_loading import import_string

# `config/urls.py` routes the receiver here (name "zoom_webhook"); a test keeps the two agreeing.
WEBHOOK_PATH = re.compile(r"/integrations/zoom/webhooks/\d+/")
BROWSER_MIDDLEWARE = frozenset(
    {
        "whitenoise.middleware.WhiteNoiseMiddleware",
        "config.csp.ContentSecurityPolicyMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.locale.LocaleMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "django_htmx.middleware.HtmxMiddleware",
        # A person's language, the API's rate headers and the login lockout page: none of them
        # has anything to do with a delivery.
        "crm.middleware.UserLanguageMiddleware",
        "crm.api.throttling.RateLimitHeadersMiddleware",
        "axes.middleware.AxesMiddleware",
    }
)


class WebhookHandler(WSGIHandler):
    """Django's WSGI handler with MIDDLEWARE less the browser-only middleware. The chain is
    built as Django's `BaseHandler.load_middleware` builds it for synchronous middleware."""

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        handler = convert_exception_to_response(self._get_response)
        for path in reversed(webhook_middleware()):
            try:
                middleware = import_string(path)(handler)
            except MiddlewareNotUsed:
                continue
            if hasattr(middleware, "process_view"):
                self._view_middleware.insert(0, middleware.process_view)
            if hasattr(middleware, "process_template_response"):
                self._template_response_middleware.append(middleware.process_template_response)
            if hasattr(middleware, "process_exception"):
                self._exception_middleware.append(middleware.process_exception)
            handler = convert_exception_to_response(middleware)
        self._middleware_chain = handler


def webhook_middleware() -> list[str]:
    return [path for path in settings.MIDDLEWARE if path not in BROWSER_MIDDLEWARE]


def with_webhook_path(application):
    """Wraps the site's WSGI application: webhook deliveries (POST to the receiver's URL) go
    through a `WebhookHandler`, every other request through `application` as before."""
    webhooks = WebhookHandler()

    def dispatch(environ, start_response):
        if environ.get("REQUEST_METHOD") == "POST" and WEBHOOK_PATH.fullmatch(
            environ.get("PATH_INFO", "")
        ):
            return webhooks(environ, start_response)
        return application(environ, start_response)

    return dispatch
