from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = "Workflows"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm.scopes import register_scope

        register_scope("automation.read", "Read workflows and their execution logs", write=False)
        register_scope("automation", "Change workflows and enroll contacts", write=True)
