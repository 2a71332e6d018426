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
        from .registration.filters import FILTER_TYPES as REGISTRATION_FILTERS

        for filter_type in REGISTRATION_FILTERS:  # rules E1, E4, E5
            register_filter(filter_type)
        register_legacy_converters()

        from .workflow_action import register as register_workflow_action

        register_workflow_action()

        from .workflow_cancel import register as register_cancel_action

        register_cancel_action()

        from .alerts import register as register_alert_kinds

        register_alert_kinds()

        from crm.timeline import RECORDING, register_participation_kinds, timeline_kind_register

        from .services.recordings import RECORDING_AVAILABLE

        register_participation_kinds(
            "zoom_webinar",
            {
                "registered": _("Registered for a Zoom webinar"),
                "attended": _("Attended a Zoom webinar"),
                "cancelled": _("Cancelled a Zoom webinar registration"),
            },
        )
        timeline_kind_register(
            RECORDING_AVAILABLE, label=_("Zoom webinar recording available"), activity=RECORDING
        )

        for spec in LEGACY_PROPERTIES:
            register_property(spec)
        from .registration.properties import REGISTRATION_PROPERTIES

        for spec in REGISTRATION_PROPERTIES:  # rules E2, E5
            register_property(spec)
        from marketing_events.registration_answers import SOURCE_PROVIDERS

        from .registration.sync import event_tracking_sources

        if event_tracking_sources not in SOURCE_PROVIDERS:  # rule E4, on the event page
            SOURCE_PROVIDERS.append(event_tracking_sources)

        from django.utils.translation import ngettext

        from crm.hooks import word_brand_holder

        from .models import ZoomConnection

        word_brand_holder(
            ZoomConnection,
            lambda n: ngettext("%(n)s Zoom connection", "%(n)s Zoom connections", n) % {"n": n},
        )

        from crm.audit import register_audit_field_labels

        register_audit_field_labels(
            {
                "kind": _("App type"),
                "client_id": _("Client ID"),
                "client_secret": _("Client secret"),
                "account_id": _("Account ID"),
                "zoom_account_id": _("Zoom account ID"),
                "connected_user_email": _("Connected user"),
                "webhook_secret_token": _("Webhook secret token"),
                "sync_webinar_data": _("Sync webinar data"),
                "recordings_sync": _("Sync recordings and transcripts of webinars"),
                "zoom_plan": _("Zoom plan of the account"),
                "webinar_exclusion_domains": _("Exclusions"),
                "recording_exclusion_domains": _("Recording exclusions"),
                "contact_exclusion_domains": _("Contact exclusions"),
                "sync_new_webinars_by_default": _("Sync new webinars by default"),
                "sync_recordings": _("Sync recordings"),
                "sync_enabled": _("Sync this webinar"),
            }
        )

        register_scope(
            "zoom.read",
            _("Read Zoom connections, settings, users, webinars and syncs"),
            write=False,
        )
        register_scope(
            "zoom.write", _("Connect Zoom and change its settings (super admins)"), write=True
        )
