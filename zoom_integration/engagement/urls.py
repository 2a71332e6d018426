"""Mounted at /integrations/zoom/engagement/ (config/urls.py)."""

from django.urls import path

from . import views

app_name = "zoom_engagement"
urlpatterns = [
    path("events/<int:event_id>/", views.event_sections, name="event_sections"),
    path("events/<int:event_id>/questions/", views.event_questions, name="event_questions"),
    path("weights/", views.weights_page, name="weights"),
]
