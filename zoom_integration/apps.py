from django.apps import AppConfig


class ZoomIntegrationConfig(AppConfig):
    name = "zoom_integration"
    verbose_name = "Zoom integration"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm.scopes import register_scope

        register_scope(
            "zoom.read", "Read Zoom connections, settings, users, webinars and syncs", write=False
        )
        register_scope(
            "zoom.write", "Connect Zoom and change its settings (super admins)", write=True
        )
