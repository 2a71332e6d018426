from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "CRM"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .contact_filters import register_filter
        from .property_filter import PROPERTY_FILTER

        register_filter(PROPERTY_FILTER)
