"""Celery entry points only: take ids, call a service."""

from celery import shared_task


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def send_alert_email(alert_id: int, user_id: int) -> bool:
    """One alert's e-mail to one super admin; an SMTP server that cannot be reached (OSError,
    smtplib's errors included) is tried again with back-off."""
    from .services.alerts import alert_email_send

    return alert_email_send(alert_id=alert_id, user_id=user_id)
