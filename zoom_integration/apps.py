from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ZoomIntegrationConfig(AppConfig):
    name = "zoom_integration"
    verbose_name = _("Zoom integration")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm.contact_filters import register_filter
        from crm.properties import register_property
        from crm.scopes import register_scope

        from .filters import FILTER_TYPES, register_legacy_converters
        from .legacy import LEGACY_PROPERTIES

        for filter_type in FILTER_TYPES:
            register_filter(filter_type)
        register_legacy_converters()

        from .workflow_action import register as register_workflow_action

        register_workflow_action()

        from .workflow_cancel import register as register_cancel_action

        register_cancel_action()

        from .alerts import register as register_alert_kinds

        register_alert_kinds()

        for spec in LEGACY_PROPERTIES:
            register_property(spec)

        from django.utils.translation import ngettext

        from crm.hooks import word_brand_holder

        from .models import ZoomConnection

        word_brand_holder(
            ZoomConnection,
            lambda n: ngettext("%(n)s Zoom connection", "%(n)s Zoom connections", n) % {"n": n},
        )

        register_scope(
            "zoom.read",
            _("Read Zoom connections, settings, users, webinars and syncs"),
            write=False,
        )
        register_scope(
            "zoom.write", _("Connect Zoom and change its settings (super admins)"), write=True
        )
