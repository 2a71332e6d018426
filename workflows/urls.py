"""Mounted at /workflows/ (config/urls.py)."""

from django.urls import path

from . import views

app_name = "workflows"
urlpatterns = [
    path("", views.workflow_list, name="list"),
    path("new/", views.workflow_create, name="create"),
    path("<int:workflow_id>/", views.workflow_detail, name="detail"),
    path("<int:workflow_id>/edit/", views.workflow_edit, name="edit"),
    path("<int:workflow_id>/toggle/", views.workflow_toggle, name="toggle"),
    path("<int:workflow_id>/enroll/", views.workflow_enroll, name="enroll"),
    path("<int:workflow_id>/delete/", views.workflow_delete, name="delete"),
    path(
        "<int:workflow_id>/enrollments/<int:enrollment_id>/",
        views.enrollment_detail,
        name="enrollment",
    ),
    path(
        "<int:workflow_id>/webhook-secret/",
        views.workflow_webhook_secret,
        name="webhook_secret",
    ),
    path("enroll/contact/<int:contact_id>/", views.enroll_contact, name="enroll_contact"),
    path("enroll/segment/<int:segment_id>/", views.enroll_segment, name="enroll_segment"),
]
