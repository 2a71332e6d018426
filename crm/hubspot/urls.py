"""HubSpot-compatible routes, mounted at /crm/v3/. HubSpot's paths have no trailing slash and
the SDK calls them without one, so they are routed exactly so (APPEND_SLASH never applies)."""

from django.urls import path

from . import batch_views, property_views, views

C = "objects/contacts"

urlpatterns = [
    path(C, views.ContactListView.as_view(), name="hubspot-contacts"),
    path(f"{C}/search", views.ContactSearchView.as_view(), name="hubspot-contacts-search"),
    path(f"{C}/batch/read", batch_views.BatchReadView.as_view(), name="hubspot-batch-read"),
    path(f"{C}/batch/create", batch_views.BatchCreateView.as_view(), name="hubspot-batch-create"),
    path(f"{C}/batch/update", batch_views.BatchUpdateView.as_view(), name="hubspot-batch-update"),
    path(f"{C}/batch/upsert", batch_views.BatchUpsertView.as_view(), name="hubspot-batch-upsert"),
    path(
        f"{C}/batch/archive", batch_views.BatchArchiveView.as_view(), name="hubspot-batch-archive"
    ),
    path(
        f"{C}/<str:contact_id>/restore",
        views.ContactRestoreView.as_view(),
        name="hubspot-contact-restore",
    ),
    path(f"{C}/<str:contact_id>", views.ContactDetailView.as_view(), name="hubspot-contact"),
    path(
        "properties/contacts", property_views.PropertyListView.as_view(), name="hubspot-properties"
    ),
    path(
        "properties/contacts/<str:name>",
        property_views.PropertyDetailView.as_view(),
        name="hubspot-property",
    ),
]
