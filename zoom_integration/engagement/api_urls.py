"""Mounted at /api/v1/zoom/engagement-weights/ (config/urls.py)."""

from django.urls import path

from . import api

urlpatterns = [
    path("", api.EngagementWeightsView.as_view(), name="api-zoom-engagement-weights"),
    path(
        "recompute/",
        api.EngagementRecomputeView.as_view(),
        name="api-zoom-engagement-recompute",
    ),
]
