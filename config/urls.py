from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerSplitView

from crm.api.schema_view import SchemaView
from crm.views.i18n import LanguageCatalog
from zoom_integration.views.public import public_registration as zoom_public_registration
from zoom_integration.webhooks.receiver import webhook as zoom_webhook

handler400 = "crm.api.exceptions.bad_request"
handler403 = "crm.api.exceptions.permission_denied"
handler404 = "crm.api.exceptions.page_not_found"
handler500 = "crm.api.exceptions.server_error"

urlpatterns = [
    # /healthz, /readyz, /metrics (for machines: no login, no language).
    path("", include("operations.urls")),
    path("api/schema/", SchemaView.as_view(), name="api-schema"),
    # Swagger UI from drf-spectacular-sidecar; its start-up script is a second request to this
    # URL (`?script`), not an inline script, so the Content-Security-Policy needs no exception.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="api/swagger_ui.html"
        ),
        name="api-docs",
    ),
    path("api/v1/", include("crm.api.urls")),
    path("crm/v3/", include("crm.hubspot.urls")),
    path("api/v1/zoom/engagement-weights/", include("zoom_integration.engagement.api_urls")),
    path("api/v1/zoom/", include("zoom_integration.api.urls")),
    path("api/v1/marketing-events/", include("marketing_events.api.urls")),
    path("api/v1/segments/", include("segments.api.urls")),
    path("api/v1/workflows/", include("workflows.api.urls")),
    # The Zoom webhook receiver: a public contract (DESIGN "Interfaces").
    path("integrations/zoom/webhooks/<int:connection_id>/", zoom_webhook, name="zoom_webhook"),
    path("integrations/zoom/engagement/", include("zoom_integration.engagement.urls")),
    path("integrations/zoom/", include("zoom_integration.urls")),
    # Rule E5: the public registration page of a synced upcoming webinar.
    path(
        "r/<int:connection_id>/<int:webinar_id>/",
        zoom_public_registration,
        name="public_registration",
    ),
    path("django-admin/", admin.site.urls),
    # Languages (rule L1): the login page's switcher posts to Django's set_language
    # (i18n/setlang/), which sets the language cookie; static scripts get their strings from
    # the catalogue of the page's language, included by base.html.
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/<str:language>/", LanguageCatalog.as_view(), name="javascript-catalog"),
    path("accounts/", include("crm.auth_urls")),
    path("marketing-events/", include("marketing_events.urls")),
    path("segments/", include("segments.urls")),
    path("workflows/", include("workflows.urls")),
    path("", include("marketing_events.hubspot.urls")),
    path("", include("crm.urls")),
]

if settings.DEBUG:
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()
