from django.urls import path

from . import views

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
]
