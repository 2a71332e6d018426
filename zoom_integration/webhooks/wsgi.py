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

from crm.handlers import PartialMiddlewareHandler

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


class WebhookHandler(PartialMiddlewareHandler):
    """Django's WSGI handler with MIDDLEWARE less the browser-only middleware."""

    def middleware(self) -> list[str]:
        return webhook_middleware()


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
