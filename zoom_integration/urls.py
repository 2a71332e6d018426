"""Mounted at /integrations/zoom/ (config/urls.py). The webhook receiver's path,
`webhooks/<connection_id>/`, is a public contract added with the receiver."""

from django.urls import path

from . import views
from .views_health import webhook_health_fragment

app_name = "zoom_integration"
urlpatterns = [
    path("", views.zoom_settings, name="settings"),
    path("oauth/callback/", views.oauth_callback, name="oauth_callback"),
    path("brands/<int:brand_id>/connect/s2s/", views.connect_s2s, name="connect_s2s"),
    path("brands/<int:brand_id>/connect/oauth/", views.connect_oauth, name="connect_oauth"),
    path(
        "connections/<int:connection_id>/reauthorize/",
        views.reauthorize,
        name="reauthorize",
    ),
    path(
        "connections/<int:connection_id>/disconnect/",
        views.disconnect,
        name="disconnect",
    ),
    path("connections/<int:connection_id>/refresh/", views.refresh, name="refresh"),
    path("connections/<int:connection_id>/sync/", views.sync_now, name="sync_now"),
    path(
        "connections/<int:connection_id>/sync-runs/",
        views.sync_runs_fragment,
        name="sync_runs",
    ),
    path("sync-runs/<int:run_id>/", views.sync_run, name="sync_run"),
    path(
        "connections/<int:connection_id>/webhook-health/",
        webhook_health_fragment,
        name="webhook_health",
    ),
    path(
        "connections/<int:connection_id>/metadata/",
        views.metadata_fragment,
        name="metadata",
    ),
    path(
        "connections/<int:connection_id>/settings/",
        views.settings_update,
        name="settings_update",
    ),
    path(
        "connections/<int:connection_id>/domains/<str:name>/add/",
        views.domain_add,
        name="domain_add",
    ),
    path(
        "connections/<int:connection_id>/domains/<str:name>/remove/",
        views.domain_remove,
        name="domain_remove",
    ),
    path(
        "connections/<int:connection_id>/users/<str:zoom_user_id>/",
        views.user_panel,
        name="user_panel",
    ),
    path(
        "connections/<int:connection_id>/users/<str:zoom_user_id>/update/",
        views.user_update,
        name="user_update",
    ),
    path(
        "connections/<int:connection_id>/webinars/<int:zoom_webinar_id>/sync/",
        views.webinar_toggle,
        name="webinar_toggle",
    ),
]
