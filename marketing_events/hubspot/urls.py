"""HubSpot-compatible marketing events v3 routes, mounted at the site root with their full
paths. HubSpot's paths have no trailing slash, except the SDK's `get_all`, which calls
`/marketing/v3/marketing-events/` (the spec documents `/marketing/marketing-events/v3`): both
are routed. More specific paths come first (`events/search` before `events/{externalEventId}`,
`participations/contacts/…` before `participations/{externalAccountId}/…`)."""

from django.urls import path

from . import participation_views as pv
from . import views as v

M = "marketing/v3/marketing-events"
E = f"{M}/events"
P = f"{M}/participations"
EXT = "<str:external_event_id>"
STATE = "<str:subscriber_state>"

urlpatterns = [
    path(f"{M}/", v.EventListView.as_view(), name="hubspot-marketing-events"),
    path("marketing/marketing-events/v3", v.EventListSpecView.as_view(), name="hubspot-me-list"),
    path(E, v.EventCreateView.as_view(), name="hubspot-me-create"),
    path(f"{E}/search", v.EventSearchView.as_view(), name="hubspot-me-search"),
    path(f"{E}/upsert", v.EventBatchUpsertView.as_view(), name="hubspot-me-batch-upsert"),
    path(f"{E}/delete", v.EventBatchDeleteView.as_view(), name="hubspot-me-batch-delete"),
    path(f"{E}/{EXT}/cancel", v.EventCancelView.as_view(), name="hubspot-me-cancel"),
    path(f"{E}/{EXT}/complete", v.EventCompleteView.as_view(), name="hubspot-me-complete"),
    path(f"{E}/{EXT}", v.EventExternalView.as_view(), name="hubspot-me-external"),
    path(
        f"{M}/attendance/{EXT}/{STATE}/email-create",
        pv.AttendanceEmailByExternalView.as_view(),
        name="hubspot-me-attendance-email",
    ),
    path(
        f"{M}/attendance/{EXT}/{STATE}/create",
        pv.AttendanceVidByExternalView.as_view(),
        name="hubspot-me-attendance-vid",
    ),
    path(
        f"{M}/<int:object_id>/attendance/{STATE}/email-create",
        pv.AttendanceEmailByObjectView.as_view(),
        name="hubspot-me-object-attendance-email",
    ),
    path(
        f"{M}/<int:object_id>/attendance/{STATE}/create",
        pv.AttendanceVidByObjectView.as_view(),
        name="hubspot-me-object-attendance-vid",
    ),
    path(
        f"{P}/contacts/<str:contact_identifier>/breakdown",
        pv.BreakdownByContactView.as_view(),
        name="hubspot-me-breakdown-contact",
    ),
    path(
        f"{P}/<int:marketing_event_id>/breakdown",
        pv.BreakdownByObjectView.as_view(),
        name="hubspot-me-breakdown-object",
    ),
    path(
        f"{P}/<str:external_account_id>/{EXT}/breakdown",
        pv.BreakdownByExternalView.as_view(),
        name="hubspot-me-breakdown-external",
    ),
    path(
        f"{P}/<int:marketing_event_id>",
        pv.CountersByObjectView.as_view(),
        name="hubspot-me-counters-object",
    ),
    path(
        f"{P}/<str:external_account_id>/{EXT}",
        pv.CountersByExternalView.as_view(),
        name="hubspot-me-counters-external",
    ),
    path(f"{M}/{EXT}/identifiers", v.EventIdentifiersView.as_view(), name="hubspot-me-ids"),
    path(f"{M}/<int:object_id>", v.EventObjectView.as_view(), name="hubspot-me-object"),
]
