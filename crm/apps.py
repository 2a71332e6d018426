from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("CRM")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks

        from .api.throttling import check_rate_setting
        from .contact_filters import register_filter
        from .property_filter import PROPERTY_FILTER

        register_filter(PROPERTY_FILTER)
        checks.register(check_rate_setting)
