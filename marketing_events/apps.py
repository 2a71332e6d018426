from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketingEventsConfig(AppConfig):
    name = "marketing_events"
    verbose_name = _("Marketing events")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm.contact_filters import register_filter
        from crm.scopes import register_scope

        from .filters import FILTER_TYPES

        for filter_type in FILTER_TYPES:
            register_filter(filter_type)

        from crm.timeline import register_participation_kinds

        from .services_api import TIMELINE_KIND

        register_participation_kinds(
            TIMELINE_KIND,
            {
                "registered": _("Registered for a marketing event"),
                "attended": _("Attended a marketing event"),
                "cancelled": _("Cancelled a marketing event registration"),
            },
        )

        from django.utils.translation import ngettext

        from crm.hooks import word_brand_holder

        from .models import MarketingEvent

        word_brand_holder(
            MarketingEvent,
            lambda n: ngettext("%(n)s marketing event", "%(n)s marketing events", n) % {"n": n},
        )

        register_scope("crm.objects.marketing_events.read", _("Read marketing events"), write=False)
        register_scope(
            "crm.objects.marketing_events.write",
            _("Create and change marketing events and attendance"),
            write=True,
        )
