from django.urls import path

from . import views

urlpatterns = [
    path("account/", views.AccountView.as_view(), name="api-account"),
    path("brands/", views.BrandListView.as_view(), name="api-brand-list"),
    path("brands/<int:brand_id>/", views.BrandDetailView.as_view(), name="api-brand-detail"),
    path("users/", views.UserListView.as_view(), name="api-user-list"),
    path("users/<int:user_id>/", views.UserDetailView.as_view(), name="api-user-detail"),
    path("tokens/", views.TokenListView.as_view(), name="api-token-list"),
    path("tokens/<int:token_id>/", views.TokenDetailView.as_view(), name="api-token-detail"),
    path("audit-log/", views.AuditLogView.as_view(), name="api-audit-log"),
    path(
        "contacts/<int:contact_id>/timeline/",
        views.ContactTimelineView.as_view(),
        name="api-contact-timeline",
    ),
]
