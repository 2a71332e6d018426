from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = _("Workflows")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm.scopes import register_scope

        register_scope("automation.read", _("Read workflows and their execution logs"), write=False)
        register_scope("automation", _("Change workflows and enroll contacts"), write=True)

        from crm.hooks import on_contacts_changed

        from .tasks import queue_sweep_soon

        on_contacts_changed(queue_sweep_soon)

        from .alerts import register as register_alert_kinds

        register_alert_kinds()

        from crm.properties import register_property

        from .steps import register as register_steps
        from .steps.notify import OWNER_SPEC

        register_steps()
        # The `notify` step's "contact owner" (HubSpot's name), a CRM user's id.
        register_property(OWNER_SPEC)

        from crm.audit import register_audit_field_labels

        register_audit_field_labels(
            {
                "trigger": _("Trigger"),
                "enabled": _("On"),
                "reenrollment": _("Re-enrollment"),
                "actions": _("Actions"),
                "version": _("Version"),
            }
        )
