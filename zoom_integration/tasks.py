"""Celery entry points only: take ids, call a service."""

from celery import shared_task

from .client import ZoomRateLimited, ZoomTransientError


@shared_task(
    acks_late=True,
    autoretry_for=(ZoomTransientError, ZoomRateLimited),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=5,
)
def refresh_connection_metadata(connection_id: int) -> dict:
    from .models import ConnectionStatus, ZoomConnection
    from .services.metadata import connection_metadata_refresh

    connection = ZoomConnection.objects.filter(pk=connection_id).first()
    if connection is None or connection.status != ConnectionStatus.CONNECTED:
        return {}
    try:
        return connection_metadata_refresh(connection=connection).as_dict()
    finally:
        ZoomConnection.objects.filter(pk=connection_id).update(metadata_refreshing=False)


@shared_task(acks_late=True)
def run_sync(run_id: int) -> str:
    from .services.sync import sync_run_execute

    return sync_run_execute(run_id=run_id).status
