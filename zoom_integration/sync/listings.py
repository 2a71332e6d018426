"""The Zoom listings a sync reads, as generators of parsed pages that do HTTP only: they run
in fetch threads (`prefetch`), never touching the database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..client import ZoomClient, ZoomNotFound, ZoomPageTokenExpired, encode_uuid
from .ratelimit import AccountRateLimiter
from .records import Instance, Participant, Registrant, parse_time
from .retry import call_zoom

PAGE_SIZE = 300
# Stands in the participant listing for "no report yet" (code 3001 on the past instances).
NO_REPORT = object()


@dataclass(frozen=True)
class Page:
    """A page of a listing, parsed: its records, and the listing's total as Zoom counts it."""

    total_records: int
    records: list


def listing_pages(
    client: ZoomClient, path: str, *, limiter: AccountRateLimiter, label: str, sleep_kw, **params
) -> Iterator[dict]:
    """Pages of a listing, each fetched with retries; an expired page token restarts the
    listing from the top (writes are idempotent, so re-reading pages is harmless)."""
    restarts = 0
    token = None
    while True:
        query = {**params, "page_size": PAGE_SIZE}
        if token:
            query["next_page_token"] = token
        try:
            body = (
                call_zoom(
                    lambda q=query: client.get(path, **q),
                    limiter=limiter,
                    label=label,
                    what=path,
                    **sleep_kw,
                )
                or {}
            )
        except ZoomPageTokenExpired:
            restarts += 1
            if restarts > 3:
                raise
            token = None
            continue
        yield body
        token = body.get("next_page_token")
        if not token:
            return


def registrant_pages(
    webinar_id: int, *, limiter: AccountRateLimiter, **sleep_kw
) -> Callable[[ZoomClient], Iterator[Page]]:
    path = f"/webinars/{webinar_id}/registrants"

    def produce(client: ZoomClient) -> Iterator[Page]:
        for body in listing_pages(client, path, limiter=limiter, label="medium", sleep_kw=sleep_kw):
            yield Page(
                int(body.get("total_records") or 0),
                [Registrant.from_zoom(r) for r in body.get("registrants", [])],
            )

    return produce


def participant_pages(
    webinar_id: int, *, limiter: AccountRateLimiter, **sleep_kw
) -> Callable[[ZoomClient], Iterator]:
    """Each past instance (as an `Instance`) followed by its report's participant pages;
    `NO_REPORT` alone when Zoom has no report yet."""

    def produce(client: ZoomClient) -> Iterator:
        try:
            instances = call_zoom(
                lambda: client.past_instances(webinar_id),
                limiter=limiter,
                label="light",
                what="instances",
                **sleep_kw,
            )
        except ZoomNotFound:
            yield NO_REPORT  # code 3001: not a failure, try again next run
            return
        for item in instances:
            uuid = item.get("uuid")
            if not uuid:
                continue
            try:
                report = call_zoom(
                    lambda u=uuid: client.report_webinar(u),
                    limiter=limiter,
                    label="heavy",
                    what="report",
                    **sleep_kw,
                )
            except ZoomNotFound:
                continue
            yield Instance(
                uuid=uuid,
                start_time=parse_time(report.get("start_time") or item.get("start_time")),
                end_time=parse_time(report.get("end_time")),
            )
            for body in listing_pages(
                client,
                f"/report/webinars/{encode_uuid(uuid)}/participants",
                limiter=limiter,
                label="heavy",
                sleep_kw=sleep_kw,
                include_fields="registrant_id",
            ):
                rows = (Participant.from_zoom(r) for r in body.get("participants", []))
                yield Page(int(body.get("total_records") or 0), [p for p in rows if p])

    return produce


__all__ = [
    "NO_REPORT",
    "PAGE_SIZE",
    "Page",
    "listing_pages",
    "participant_pages",
    "registrant_pages",
]
