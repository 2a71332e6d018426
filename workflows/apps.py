from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = "Workflows"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm.scopes import register_scope

        register_scope("automation.read", "Read workflows and their execution logs", write=False)
        register_scope("automation", "Change workflows and enroll contacts", write=True)

        from crm.hooks import on_contacts_changed

        from .tasks import queue_sweep_for

        on_contacts_changed(queue_sweep_for)
