from django.urls import path

from . import registration, views

urlpatterns = [
    path("connections/", views.ConnectionListView.as_view(), name="api-zoom-connections"),
    path("connections/oauth/", views.OAuthStartView.as_view(), name="api-zoom-oauth-start"),
    path(
        "connections/<int:connection_id>/",
        views.ConnectionDetailView.as_view(),
        name="api-zoom-connection",
    ),
    path(
        "connections/<int:connection_id>/refresh/",
        views.ConnectionRefreshView.as_view(),
        name="api-zoom-connection-refresh",
    ),
    path(
        "connections/<int:connection_id>/settings/",
        views.SettingsView.as_view(),
        name="api-zoom-settings",
    ),
    path(
        "connections/<int:connection_id>/users/",
        views.ZoomUserListView.as_view(),
        name="api-zoom-users",
    ),
    path(
        "connections/<int:connection_id>/users/<str:zoom_user_id>/",
        views.ZoomUserDetailView.as_view(),
        name="api-zoom-user",
    ),
    path(
        "connections/<int:connection_id>/webinars/",
        views.ZoomWebinarListView.as_view(),
        name="api-zoom-webinars",
    ),
    path(
        "connections/<int:connection_id>/webinars/<int:zoom_webinar_id>/",
        views.ZoomWebinarDetailView.as_view(),
        name="api-zoom-webinar",
    ),
    path(
        "connections/<int:connection_id>/sync/",
        views.SyncRequestView.as_view(),
        name="api-zoom-sync",
    ),
    path(
        "connections/<int:connection_id>/sync-runs/",
        views.SyncRunListView.as_view(),
        name="api-zoom-sync-runs",
    ),
    path("sync-runs/<int:run_id>/", views.SyncRunDetailView.as_view(), name="api-zoom-sync-run"),
    path(
        "sync-runs/<int:run_id>/skips/",
        views.SyncRunSkipsView.as_view(),
        name="api-zoom-sync-run-skips",
    ),
    # Rules E1, E2, E4: registration questions, mappings, tracking sources.
    path(
        "connections/<int:connection_id>/question-mappings/",
        registration.ConnectionMappingsView.as_view(),
        name="api-zoom-question-mappings",
    ),
    path(
        "connections/<int:connection_id>/question-mappings/apply/",
        registration.ConnectionMappingsApplyView.as_view(),
        name="api-zoom-question-mappings-apply",
    ),
    path(
        "connections/<int:connection_id>/webinars/<int:zoom_webinar_id>/question-mappings/",
        registration.WebinarMappingsView.as_view(),
        name="api-zoom-webinar-question-mappings",
    ),
    path(
        "connections/<int:connection_id>/webinars/<int:zoom_webinar_id>/question-mappings/apply/",
        registration.WebinarMappingsApplyView.as_view(),
        name="api-zoom-webinar-question-mappings-apply",
    ),
    path(
        "connections/<int:connection_id>/webinars/<int:zoom_webinar_id>/questions/",
        registration.WebinarQuestionsView.as_view(),
        name="api-zoom-webinar-questions",
    ),
    path(
        "connections/<int:connection_id>/webinars/<int:zoom_webinar_id>/tracking-sources/",
        registration.WebinarTrackingSourcesView.as_view(),
        name="api-zoom-webinar-tracking-sources",
    ),
    path(
        "question-mapping-runs/<int:run_id>/",
        registration.MappingApplyRunView.as_view(),
        name="api-zoom-question-mapping-run",
    ),
]
