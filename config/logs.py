"""Log lines as `time level logger event key=value ...`: events are dotted names and their data
travels in `extra`, which the stock formatter would drop."""

import logging
from contextvars import ContextVar

from celery import current_task

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        if fields:
            line += " " + " ".join(
                f"{k}={v!r}" if isinstance(v, str) and " " in v else f"{k}={v}"
                for k, v in sorted(fields.items())
            )
        return line


# The request id of the request being served (operations.middleware.RequestIdMiddleware), put
# on every log record of that request by `ContextFilter`; a Celery task's records get its id.
request_id: ContextVar[str] = ContextVar("request_id", default="")


class ContextFilter(logging.Filter):
    """Adds `request_id` (inside a request) and `task_id` (inside a Celery task) to records."""

    def filter(self, record: logging.LogRecord) -> bool:
        rid = request_id.get()
        if rid and not hasattr(record, "request_id"):
            record.request_id = rid
        if current_task and not hasattr(record, "task_id"):
            task_id = current_task.request.id
            if task_id:
                record.task_id = task_id
        return True


def json_formatter(**kwargs) -> logging.Formatter:
    """LOG_FORMAT=json: one JSON object per line (python-json-logger), `time`, `level`,
    `logger` and `event` (the dotted event name, or the message), then the record's own fields
    (`extra`), request and task ids included."""
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={
            "asctime": "time",
            "levelname": "level",
            "name": "logger",
            "message": "event",
        },
        **kwargs,
    )
