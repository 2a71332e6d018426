from django.urls import path

from . import views

urlpatterns = [
    path("", views.WorkflowListView.as_view(), name="api-workflow-list"),
    path("<int:workflow_id>/", views.WorkflowDetailView.as_view(), name="api-workflow-detail"),
    path(
        "<int:workflow_id>/enroll/", views.WorkflowEnrollView.as_view(), name="api-workflow-enroll"
    ),
    path(
        "<int:workflow_id>/executions/",
        views.WorkflowExecutionsView.as_view(),
        name="api-workflow-executions",
    ),
    path(
        "<int:workflow_id>/webhook-secret/",
        views.WorkflowWebhookSecretView.as_view(),
        name="api-workflow-webhook-secret",
    ),
    path(
        "<int:workflow_id>/enrollments/",
        views.WorkflowEnrollmentsView.as_view(),
        name="api-workflow-enrollments",
    ),
    path(
        "<int:workflow_id>/enrollments/<int:enrollment_id>/",
        views.WorkflowEnrollmentView.as_view(),
        name="api-workflow-enrollment",
    ),
]
