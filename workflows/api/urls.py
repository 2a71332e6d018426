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
]
