from django.urls import path

from . import views

urlpatterns = [
    path(
        "<int:event_id>/participations/",
        views.EventParticipationsView.as_view(),
        name="api-marketing-event-participations",
    ),
]
