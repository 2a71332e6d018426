from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "segments"
    verbose_name = "Segments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm.scopes import register_scope

        register_scope(
            "segments.read",
            "Read segments and their counts (members, previews and exports need "
            "crm.objects.contacts.read too)",
            write=False,
        )
        register_scope("segments.write", "Create, change and delete segments", write=True)
