from django.urls import path

from . import views

app_name = "segments"
urlpatterns = [
    path("", views.segment_list, name="list"),
    path("sizes/", views.segment_sizes, name="sizes"),
    path("new/", views.segment_create, name="create"),
    path("pick/events/", views.pick_events, name="pick_events"),
    path("pick/webinars/", views.pick_webinars, name="pick_webinars"),
    path("<int:segment_id>/", views.segment_detail, name="detail"),
    path("<int:segment_id>/edit/", views.segment_edit, name="edit"),
    path("<int:segment_id>/export.csv", views.segment_export, name="export"),
    path("<int:segment_id>/delete/", views.segment_delete, name="delete"),
    path("<int:segment_id>/snapshot/", views.segment_snapshot, name="snapshot"),
    path(
        "<int:segment_id>/members/<str:action>/",
        views.segment_members_change,
        name="members_change",
    ),
]
