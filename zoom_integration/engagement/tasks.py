"""Celery entry points only."""

from celery import shared_task


@shared_task(acks_late=True)
def engagement_recompute_all() -> int:
    """Rule E8: every event's scores again, after the weights changed (progress on the
    settings row)."""
    from .services import all_events_recompute

    return all_events_recompute()
