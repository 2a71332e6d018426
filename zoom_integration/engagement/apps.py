from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngagementConfig(AppConfig):
    name = "zoom_integration.engagement"
    label = "zoom_engagement"
    verbose_name = _("Zoom engagement")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm.timeline import timeline_kind_register

        from .kinds import TIMELINE_KINDS

        for kind, label in TIMELINE_KINDS.items():
            timeline_kind_register(kind, label=label)

        from crm.contact_filters import register_filter
        from crm.properties import register_property

        from .filters import FILTER_TYPES
        from .services import SCORE_PROPERTY

        register_property(SCORE_PROPERTY)  # rule E8: the mean over the last 10 webinars
        for filter_type in FILTER_TYPES:
            register_filter(filter_type)
