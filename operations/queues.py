"""Celery's queue depth: messages waiting in the broker, by queue. Redis (production): the
length of each queue's lists (kombu keeps one list per priority step); kombu's filesystem broker
(the embedded demo): the queue's message files. Any other broker: unknown (None)."""

from __future__ import annotations

import os

import redis
from django.conf import settings

from .readiness import CHECK_TIMEOUT

# kombu's Redis transport: a queue's messages of priority step N > 0 wait in "<queue>\x06\x16N".
REDIS_PRIORITY_SEPARATOR = "\x06\x16"
REDIS_PRIORITY_STEPS = (0, 3, 6, 9)


def queue_names() -> list[str]:
    from config.celery import app

    names = {app.conf.task_default_queue}
    names.update(queue.name for queue in app.conf.task_queues or ())
    return sorted(names)


def queue_depths() -> dict[str, int] | None:
    url = settings.CELERY_BROKER_URL
    names = queue_names()
    try:
        if url.startswith(("redis://", "rediss://", "unix://")):
            return _redis_depths(url, names)
        if url.startswith("filesystem://"):
            return _folder_depths(names)
    except (OSError, redis.RedisError):
        return None
    return None


def _redis_depths(url: str, names: list[str]) -> dict[str, int]:
    client = redis.Redis.from_url(
        url, socket_connect_timeout=CHECK_TIMEOUT, socket_timeout=CHECK_TIMEOUT
    )
    try:
        pipe = client.pipeline(transaction=False)
        for name in names:
            for step in REDIS_PRIORITY_STEPS:
                pipe.llen(f"{name}{REDIS_PRIORITY_SEPARATOR}{step}" if step else name)
        lengths = pipe.execute()
    finally:
        client.close()
    per = len(REDIS_PRIORITY_STEPS)
    return {name: sum(lengths[i * per : (i + 1) * per]) for i, name in enumerate(names)}


def _folder_depths(names: list[str]) -> dict[str, int]:
    # kombu names a message file "<ms>_<uuid>.<queue>.msg" in its data folder.
    folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]
    depths = dict.fromkeys(names, 0)
    with os.scandir(folder) as entries:
        for entry in entries:
            queue = entry.name.partition(".")[2].removesuffix(".msg")
            if queue in depths and entry.name.endswith(".msg"):
                depths[queue] += 1
    return depths
