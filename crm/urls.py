"""The server-rendered UI. `login`/`logout` are top-level names in crm/auth_urls.py."""

from django.urls import path

from .views import audit, auth, contacts, notifications, settings

app_name = "crm"
urlpatterns = [
    path("", auth.home, name="home"),
    # Contacts
    path("contacts/", contacts.contact_list, name="contact_list"),
    path("contacts/deleted/", contacts.contact_deleted_list, name="contact_deleted_list"),
    path("contacts/new/", contacts.contact_create, name="contact_create"),
    path("contacts/<int:contact_id>/", contacts.contact_detail, name="contact_detail"),
    path("contacts/<int:contact_id>/edit/", contacts.contact_edit, name="contact_edit"),
    path("contacts/<int:contact_id>/delete/", contacts.contact_delete, name="contact_delete"),
    path("contacts/<int:contact_id>/restore/", contacts.contact_restore, name="contact_restore"),
    path(
        "contacts/<int:contact_id>/emails/add/",
        contacts.contact_email_add,
        name="contact_email_add",
    ),
    path(
        "contacts/<int:contact_id>/emails/remove/",
        contacts.contact_email_remove,
        name="contact_email_remove",
    ),
    # Notifications (the bell)
    path("notifications/", notifications.notification_list, name="notifications"),
    path(
        "notifications/read-all/",
        notifications.notification_read_all,
        name="notifications_read_all",
    ),
    path(
        "notifications/<int:notification_id>/read/",
        notifications.notification_read,
        name="notification_read",
    ),
    # Settings
    path("settings/", settings.settings_index, name="settings"),
    path("settings/profile/", settings.settings_profile, name="settings_profile"),
    path("settings/account/", settings.settings_account, name="settings_account"),
    path(
        "settings/account/update/",
        settings.settings_account_update,
        name="settings_account_update",
    ),
    path("settings/users/", settings.settings_users, name="settings_users"),
    path("settings/users/new/", settings.settings_user_create, name="settings_user_create"),
    path("settings/users/<int:user_id>/", settings.settings_user_edit, name="settings_user_edit"),
    path(
        "settings/users/<int:user_id>/active/",
        settings.settings_user_set_active,
        name="settings_user_set_active",
    ),
    path("settings/brands/", settings.settings_brands, name="settings_brands"),
    path("settings/brands/new/", settings.settings_brand_create, name="settings_brand_create"),
    path(
        "settings/brands/<int:brand_id>/", settings.settings_brand_edit, name="settings_brand_edit"
    ),
    path(
        "settings/brands/<int:brand_id>/primary/",
        settings.settings_brand_make_primary,
        name="settings_brand_make_primary",
    ),
    path(
        "settings/brands/<int:brand_id>/delete/",
        settings.settings_brand_delete,
        name="settings_brand_delete",
    ),
    path("settings/api-tokens/", settings.settings_tokens, name="settings_tokens"),
    path("settings/api-tokens/new/", settings.settings_token_create, name="settings_token_create"),
    path(
        "settings/api-tokens/<int:token_id>/revoke/",
        settings.settings_token_revoke,
        name="settings_token_revoke",
    ),
    path("settings/audit-log/", audit.settings_audit_log, name="settings_audit_log"),
    path(
        "settings/audit-log/export.csv",
        audit.settings_audit_log_csv,
        name="settings_audit_log_csv",
    ),
    path(
        "settings/integrations/",
        settings.settings_integrations,
        name="settings_integrations",
    ),
]
