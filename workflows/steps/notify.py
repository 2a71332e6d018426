"""`notify` (rule W9): an in-app notification (the bell) and an e-mail to a CRM user, or to the
contact's owner (the `hubspot_owner_id` property, a CRM user's id), naming the contact with a
link to its page. The notification's title is written in the recipient's language; the e-mail
is sent by a task after the commit, in the recipient's language too (rule L1). The message is
the workflow author's own text, sent as written.

Idempotent (rule W10): the notification is stored under the step's idempotency key
(`NotificationSent`, one unique row per enrollment and step) in the same transaction that
creates it, so a retry after a crash finds it and sends nothing twice."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from crm.models import Notification, User
from crm.properties import PropertySpec, PropertyType
from crm.services.alerts import notification_create
from crm.stored_text import stored_text

from ..actions import ActionInvalid, ActionResult, ActionType
from ..models import NotificationSent
from .common import given, id_schema, object_schema, only_keys

TYPE = "notify"
OWNER = "owner"
OWNER_PROPERTY = "hubspot_owner_id"
MAX_MESSAGE = 2000

# HubSpot's name for a contact's owner; here the id of a CRM user.
OWNER_SPEC = PropertySpec(
    OWNER_PROPERTY,
    gettext_noop("Contact owner"),
    PropertyType.NUMBER,
    "number",
    None,
    group_name="sales_properties",
    description=gettext_noop("The id of the CRM user who owns the contact."),
)


def clean(config: dict) -> dict:
    only_keys(config, {"user_id", "to", "message"})
    if given(config, "user_id") == given(config, "to"):
        raise ActionInvalid(_("Choose a CRM user, or the contact's owner"), "user_id")
    message = config.get("message")
    if not isinstance(message, str) or not message.strip():
        raise ActionInvalid(_("Write the message to send"), "message")
    if len(message) > MAX_MESSAGE:
        raise ActionInvalid(
            _("A message has at most %(max)s characters") % {"max": MAX_MESSAGE}, "message"
        )
    if given(config, "to"):
        if config["to"] != OWNER:
            raise ActionInvalid(_('must be "owner"'), "to")
        return {"to": OWNER, "message": message.strip()}
    raw = config["user_id"]
    text = str(raw).strip() if isinstance(raw, (int, str)) and not isinstance(raw, bool) else ""
    user = User.objects.filter(pk=int(text), is_active=True).first() if text.isdigit() else None
    if user is None:
        raise ActionInvalid(_("No active CRM user with id %(id)s") % {"id": repr(raw)}, "user_id")
    return {"user_id": user.pk, "message": message.strip()}


def _recipient(ctx) -> User | None:
    if ctx.config.get("to") == OWNER:
        raw = str((ctx.contact.properties or {}).get(OWNER_PROPERTY) or "").strip()
        user_id = int(raw) if raw.isdigit() else None
    else:
        user_id = ctx.config["user_id"]
    return User.objects.filter(pk=user_id, is_active=True).first() if user_id else None


def run(ctx) -> ActionResult:
    user = _recipient(ctx)
    if user is None:
        if ctx.config.get("to") == OWNER:
            return ActionResult.skipped(
                stored_text(
                    gettext_noop("The contact has no owner (or its owner left): nobody to notify")
                )
            )
        return ActionResult.failed(
            stored_text(
                gettext_noop("CRM user %(id)s is no longer active"), id=ctx.config["user_id"]
            )
        )
    contact = ctx.contact
    link = reverse("crm:contact_detail", args=[contact.pk])
    with translation.override(user.language or settings.LANGUAGE_CODE):
        title = _("Workflow “%(workflow)s”: %(contact)s") % {
            "workflow": ctx.workflow.name,
            "contact": contact.full_name or contact.email or f"#{contact.pk}",
        }
    body = ctx.config["message"]
    with transaction.atomic():
        # Locks the key while it is made: two runs of one step cannot both create it.
        sent = (
            NotificationSent.objects.select_for_update()
            .select_related("notification")
            .filter(key=ctx.idempotency_key)
            .first()
        )
        if sent is None:
            notification = notification_create(recipient=user, title=title, body=body, link=link)
            NotificationSent.objects.create(key=ctx.idempotency_key, notification=notification)
            if user.email:
                transaction.on_commit(lambda: _queue_email(notification.pk))
        else:
            notification = sent.notification
    return ActionResult.succeeded(
        stored_text(gettext_noop("Notified %(email)s"), email=user.email),
        user_id=user.pk,
        notification_id=notification.pk,
    )


def _queue_email(notification_id: int) -> None:
    from ..tasks import send_notification_email

    send_notification_email.delay(notification_id)


def notification_email_send(*, notification_id: int) -> bool:
    """The e-mail of a `notify` step's notification, in the recipient's language."""
    from django.core.mail import send_mail
    from django.template.loader import render_to_string

    notification = (
        Notification.objects.select_related("recipient").filter(pk=notification_id).first()
    )
    if notification is None or not notification.recipient.email:
        return False
    user = notification.recipient
    with translation.override(user.language or settings.LANGUAGE_CODE):
        context = {
            "notification": notification,
            "url": settings.PUBLIC_BASE_URL + notification.link if notification.link else "",
            "notifications_url": settings.PUBLIC_BASE_URL + reverse("crm:notifications"),
        }
        subject = render_to_string("workflows/notify_email_subject.txt", context)
        body = render_to_string("workflows/notify_email.txt", context)
    send_mail(" ".join(subject.split()), body, settings.DEFAULT_FROM_EMAIL, [user.email])
    return True


def describe(config: dict) -> str:
    if config.get("to") == OWNER:
        return _("Notify the contact's owner")
    user = User.objects.filter(pk=config.get("user_id")).first()
    return _("Notify %(user)s") % {"user": user.email if user else f"#{config.get('user_id')}"}


def schema(direction: str) -> dict:
    return object_schema(
        TYPE,
        {
            "user_id": id_schema(direction, "A CRM user's id"),
            "to": {"type": "string", "enum": [OWNER]},
            "message": {"type": "string", "minLength": 1, "maxLength": MAX_MESSAGE},
        },
        direction=direction,
        required=("message",),
    )


FIELDS = (
    {"name": "mode", "kind": "mode", "label": gettext_lazy("Notify"), "virtual": True,
     "choices": [["user_id", gettext_lazy("A CRM user")],
                 ["to", gettext_lazy("The contact's owner")]]},
    {"name": "user_id", "kind": "user", "label": gettext_lazy("CRM user"), "required": True,
     "when": "user_id"},
    {"name": "to", "kind": "fixed", "value": OWNER, "when": "to"},
    {"name": "message", "kind": "textarea", "label": gettext_lazy("Message"), "required": True},
)  # fmt: skip


def action_types():
    return [
        ActionType(
            type=TYPE,
            label=gettext_lazy("Send a notification"),
            clean=clean,
            run=run,
            describe=describe,
            schema=schema,
            fields=FIELDS,
        )
    ]
