"""Marketing events pages, mounted at /marketing-events/ (config/urls.py)."""

from django.urls import path

from . import views

app_name = "marketing_events"
urlpatterns = [
    path("", views.event_list, name="list"),
    path("<int:event_id>/", views.event_detail, name="detail"),
    path("<int:event_id>/live/", views.live_fragment, name="live_fragment"),
    path(
        "<int:event_id>/participants.csv",
        views.participants_csv,
        name="participants_csv",
    ),
]
