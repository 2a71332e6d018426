from django.urls import path

from . import views

urlpatterns = [
    path("", views.SegmentListView.as_view(), name="api-segment-list"),
    path("preview/", views.PreviewView.as_view(), name="api-segment-preview"),
    path("convert-legacy/", views.ConvertLegacyView.as_view(), name="api-segment-convert"),
    path("<int:segment_id>/", views.SegmentDetailView.as_view(), name="api-segment-detail"),
    path("<int:segment_id>/count/", views.SegmentCountView.as_view(), name="api-segment-count"),
    path(
        "<int:segment_id>/members/", views.SegmentMembersView.as_view(), name="api-segment-members"
    ),
    path(
        "<int:segment_id>/members/add/",
        views.SegmentMembersAddView.as_view(),
        name="api-segment-members-add",
    ),
    path(
        "<int:segment_id>/members/remove/",
        views.SegmentMembersRemoveView.as_view(),
        name="api-segment-members-remove",
    ),
    path(
        "<int:segment_id>/export.csv", views.SegmentExportView.as_view(), name="api-segment-export"
    ),
    path(
        "<int:segment_id>/snapshot/",
        views.SegmentSnapshotView.as_view(),
        name="api-segment-snapshot",
    ),
]
