from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SegmentsConfig(AppConfig):
    name = "segments"
    verbose_name = _("Segments")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm.scopes import register_scope

        register_scope(
            "segments.read",
            _(
                "Read segments and their counts (members, previews and exports need "
                "crm.objects.contacts.read too)"
            ),
            write=False,
        )
        register_scope("segments.write", _("Create, change and delete segments"), write=True)
