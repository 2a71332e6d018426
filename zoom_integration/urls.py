"""Mounted at /integrations/zoom/ (config/urls.py). The webhook receiver's path,
`webhooks/<connection_id>/`, is a public contract added with the receiver."""

from django.urls import path

from .views import connect, health, pickers, questions, runs, settings, users

app_name = "zoom_integration"
urlpatterns = [
    path("", settings.zoom_settings, name="settings"),
    path("oauth/callback/", connect.oauth_callback, name="oauth_callback"),
    path("brands/<int:brand_id>/connect/s2s/", connect.connect_s2s, name="connect_s2s"),
    path("brands/<int:brand_id>/connect/oauth/", connect.connect_oauth, name="connect_oauth"),
    path(
        "connections/<int:connection_id>/reauthorize/",
        connect.reauthorize,
        name="reauthorize",
    ),
    path(
        "connections/<int:connection_id>/disconnect/",
        connect.disconnect,
        name="disconnect",
    ),
    path("connections/<int:connection_id>/refresh/", connect.refresh, name="refresh"),
    path("connections/<int:connection_id>/sync/", connect.sync_now, name="sync_now"),
    path(
        "connections/<int:connection_id>/sync-runs/",
        runs.sync_runs_fragment,
        name="sync_runs",
    ),
    path("sync-runs/<int:run_id>/", runs.sync_run, name="sync_run"),
    # The segment builder's pickers for the registration filters (rules E1, E4, E5).
    path("pick/registration-questions/", pickers.pick_questions, name="pick_questions"),
    path("pick/registration-sources/", pickers.pick_sources, name="pick_sources"),
    path(
        "connections/<int:connection_id>/webhook-health/",
        health.webhook_health_fragment,
        name="webhook_health",
    ),
    path(
        "connections/<int:connection_id>/metadata/",
        settings.metadata_fragment,
        name="metadata",
    ),
    path(
        "connections/<int:connection_id>/settings/",
        settings.settings_update,
        name="settings_update",
    ),
    path(
        "connections/<int:connection_id>/domains/<str:name>/add/",
        settings.domain_add,
        name="domain_add",
    ),
    path(
        "connections/<int:connection_id>/domains/<str:name>/remove/",
        settings.domain_remove,
        name="domain_remove",
    ),
    path(
        "connections/<int:connection_id>/users/<str:zoom_user_id>/",
        users.user_panel,
        name="user_panel",
    ),
    path(
        "connections/<int:connection_id>/users/<str:zoom_user_id>/update/",
        users.user_update,
        name="user_update",
    ),
    path(
        "connections/<int:connection_id>/webinars/<int:zoom_webinar_id>/sync/",
        users.webinar_toggle,
        name="webinar_toggle",
    ),
    # Rule E2: a webinar's registration questions and their mappings.
    path(
        "connections/<int:connection_id>/webinars/<int:zoom_webinar_id>/questions/",
        questions.webinar_questions,
        name="webinar_questions",
    ),
    path(
        "connections/<int:connection_id>/webinars/<int:zoom_webinar_id>/questions/save/",
        questions.webinar_questions_save,
        name="webinar_questions_save",
    ),
    path(
        "connections/<int:connection_id>/webinars/<int:zoom_webinar_id>/questions/property/",
        questions.webinar_question_property,
        name="webinar_question_property",
    ),
    path(
        "connections/<int:connection_id>/webinars/<int:zoom_webinar_id>/questions/apply/",
        questions.webinar_questions_apply,
        name="webinar_questions_apply",
    ),
]
