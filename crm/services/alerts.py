"""Alerts about operational problems and the in-app notifications they produce.

An alert is opened by the first `alert_raise` of its key: every active super admin gets an
in-app notification, and each of them who wants alert e-mails (`User.alert_emails`) one e-mail,
sent by a task after the commit. While it is open, raising it again only moves its last seen
time and count: no new notification, no new e-mail. `alert_clear` resolves it (the
notifications stay, showing it resolved); a raise after that opens a new alert."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from ..models import Alert, Notification, Role, User

logger = logging.getLogger(__name__)


def alert_recipients() -> list[User]:
    """Who is told about alerts: every active super admin."""
    return list(User.objects.filter(is_active=True, role=Role.SUPER_ADMIN).order_by("id"))


def alert_raise(
    *,
    key: str,
    kind: str,
    params: Mapping[str, Any] | None = None,
    object_type: str = "",
    object_id: str | int = "",
    link: str = "",
    now: dt.datetime | None = None,
) -> tuple[Alert, bool]:
    """Raises the alert `key`; returns it and whether this call opened it.

    Idempotent while it is open: the first raise opens it, notifies and queues the e-mails; a
    later one only bumps `last_seen_at` and `occurrences` (and keeps the latest params). Two
    workers raising one key at once open one alert: the partial unique constraint lets one
    insert win, and the other counts itself on the winner's row."""
    now = now or timezone.now()
    params = dict(params or {})
    with transaction.atomic():
        alert = _bump(key, params, now)
        if alert is not None:
            return alert, False
        try:
            with transaction.atomic():
                alert = Alert.objects.create(
                    key=key,
                    kind=kind,
                    params=params,
                    object_type=object_type,
                    object_id=str(object_id),
                    link=link,
                    first_seen_at=now,
                    last_seen_at=now,
                )
        except IntegrityError:
            # Another transaction opened it meanwhile (and has committed: the insert waited).
            alert = _bump(key, params, now)
            if alert is None:
                raise
            return alert, False
        recipients = alert_recipients()
        Notification.objects.bulk_create(
            [
                Notification(recipient=user, alert=alert, link=link, created_at=now)
                for user in recipients
            ]
        )
        mailed = [user.pk for user in recipients if user.alert_emails and user.email]
        alert_id = alert.pk
        transaction.on_commit(lambda: _queue_emails(alert_id, mailed))
    logger.warning("crm.alert.raised", extra={"key": key, "kind": kind, "alert": alert_id})
    return alert, True


def _bump(key: str, params: dict, now: dt.datetime) -> Alert | None:
    updated = Alert.objects.filter(key=key, resolved_at__isnull=True).update(
        last_seen_at=now, occurrences=F("occurrences") + 1, params=params
    )
    if not updated:
        return None
    return Alert.objects.filter(key=key, resolved_at__isnull=True).first()


def _queue_emails(alert_id: int, user_ids: Iterable[int]) -> None:
    from ..tasks import send_alert_email

    for user_id in user_ids:
        send_alert_email.delay(alert_id, user_id)


def alert_clear(*, key: str, now: dt.datetime | None = None) -> bool:
    """Resolves the open alert `key`, if any; returns whether one was open. Idempotent."""
    resolved = Alert.objects.filter(key=key, resolved_at__isnull=True).update(
        resolved_at=now or timezone.now()
    )
    if resolved:
        logger.info("crm.alert.cleared", extra={"key": key})
    return bool(resolved)


def notification_create(
    *, recipient: User, title: str, body: str = "", link: str = ""
) -> Notification:
    """A notification of its own (not an alert's), e.g. from a workflow step."""
    return Notification.objects.create(recipient=recipient, title=title, body=body, link=link)


def notification_mark_read(*, recipient: User, notification_id: int) -> bool:
    """Marks one of `recipient`'s notifications read; False when it has none of that id.
    Idempotent: a read one keeps its first read time."""
    mine = Notification.objects.filter(recipient=recipient, pk=notification_id)
    if not mine.exists():
        return False
    mine.filter(read_at__isnull=True).update(read_at=timezone.now())
    return True


def notifications_mark_all_read(*, recipient: User) -> int:
    return Notification.objects.filter(recipient=recipient, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def alert_email_send(*, alert_id: int, user_id: int) -> bool:
    """Sends one alert's e-mail to one person, in their language (rule L1). Nothing is sent
    when the person has turned alert e-mails off or is no longer an active super admin."""
    from django.conf import settings
    from django.core.mail import send_mail
    from django.template.loader import render_to_string
    from django.urls import reverse
    from django.utils import translation

    from ..alerts import alert_text

    alert = Alert.objects.filter(pk=alert_id).first()
    user = User.objects.filter(pk=user_id).first()
    if (
        alert is None
        or user is None
        or not user.alert_emails
        or not user.email
        or not user.can_manage_settings
    ):
        return False
    with translation.override(user.language or settings.LANGUAGE_CODE):
        text = alert_text(alert.kind, alert.params)
        context = {
            "alert": alert,
            "text": text,
            "user": user,
            "url": settings.PUBLIC_BASE_URL + alert.link if alert.link else "",
            "notifications_url": settings.PUBLIC_BASE_URL + reverse("crm:notifications"),
        }
        subject = render_to_string("crm/notifications/alert_email_subject.txt", context)
        body = render_to_string("crm/notifications/alert_email.txt", context)
    send_mail(
        " ".join(subject.split()),
        body,
        settings.DEFAULT_FROM_EMAIL,
        [user.email],
        fail_silently=False,
    )
    logger.info("crm.alert.emailed", extra={"alert": alert_id, "user": user_id})
    return True


__all__ = [
    "alert_clear",
    "alert_email_send",
    "alert_raise",
    "alert_recipients",
    "notification_create",
    "notification_mark_read",
    "notifications_mark_all_read",
]
