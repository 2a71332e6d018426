"""``/v2/webinars/{id}/tracking_sources`` and the registrant answers the generator adds.

Zoom's facts (zoom-openapi ``getTrackingSources``, ``webinarRegistrantCreate``): a webinar with
registration has tracking sources (``id``, ``source_name``, ``tracking_url``, ``visitor_count``,
``registration_count``); a registration may carry ``source_id``. The sandbox keeps the sources in
the webinar's ``tracking_sources`` list and a registrant's source as its ``source_id``.
"""

from __future__ import annotations

import random
from typing import Any

from .errors import ZoomError, webinar_not_found
from .ratelimit import MEDIUM
from .routing import Answer, Call, route
from .store import Webinar, derive_id


@route("GET", "/webinars/{webinarId}/tracking_sources", MEDIUM)
def list_tracking_sources(call: Call) -> Answer:
    webinar = call.account.find_webinar(call.args[0])
    if webinar is None:
        raise webinar_not_found(call.args[0])
    if not webinar.registration_enabled():
        raise ZoomError(
            400, 3000, f"Registration has not been enabled for this webinar: {webinar.id}."
        )
    sources = [tracking_source_api(s) for s in webinar.data.get("tracking_sources") or []]
    return 200, {"total_records": len(sources), "tracking_sources": sources}


def tracking_source_api(source: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(source["id"]),
        "source_name": str(source.get("source_name", "")),
        "tracking_url": str(source.get("tracking_url", "")),
        "visitor_count": int(source.get("visitor_count", 0)),
        "registration_count": int(source.get("registration_count", 0)),
    }


def find_source(webinar: Webinar, source_id: str) -> dict[str, Any] | None:
    for source in webinar.data.get("tracking_sources") or []:
        if str(source.get("id")) == source_id:
            return source
    return None


# -- generator share ----------------------------------------------------------------------------
SOURCE_NAMES = ("LinkedIn", "Newsletter", "Partner site")
JOB_TITLES = ("CTO", "Marketing manager", "Sales director", "Engineer", "Founder", "Analyst")
INDUSTRIES = ("Software", "Retail", "Education", "Finance", "Health")
EMPLOYEES = ("1-20", "21-50", "51-100", "101-500", "501-1,000", "1,001-5,000")


def add_registration_answers(scenario: dict[str, Any], params: dict[str, Any]) -> None:
    """Tracking sources and standard-field answers on a share of the generated webinars.

    ``answers`` is the share of webinars whose registrants answer (default 0.5; ``1`` → every
    registrant of every webinar, as the sync benchmark asks). A separate random stream keeps the
    rest of the generated scenario byte-identical to what it was without this pass.
    """
    share = float(params.get("answers", 0.5))
    rng = random.Random(f"answers:{int(params.get('seed', 1))}")
    for account in scenario["accounts"]:
        for index, webinar in enumerate(account["webinars"]):
            if share < 1 and rng.random() >= share:
                continue
            _answer_webinar(rng, account["id"], webinar, index)


def _answer_webinar(rng: random.Random, account_id: str, webinar: dict[str, Any], j: int) -> None:
    sources = []
    for k, name in enumerate(SOURCE_NAMES[: 1 + j % len(SOURCE_NAMES)]):
        source_id = derive_id("tracking", account_id, webinar["id"], k, length=13)
        sources.append(
            {
                "id": source_id,
                "source_name": name,
                "tracking_url": f"https://sandbox.zoom.test/webinar/register/{source_id}/WN_{webinar['id']}",
                "visitor_count": 0,
                "registration_count": 0,
            }
        )
    webinar["tracking_sources"] = sources
    for registrant in webinar["registrants"]:
        domain = registrant["email"].strip().split("@")[-1].split(".")[0]
        registrant.setdefault("org", domain.title())
        registrant["job_title"] = rng.choice(JOB_TITLES)
        registrant["industry"] = rng.choice(INDUSTRIES)
        registrant["no_of_employees"] = rng.choice(EMPLOYEES)
        if rng.random() < 0.5:
            registrant["phone"] = f"555{rng.randrange(10**6, 10**7)}"
        if rng.random() < 0.8:
            source = rng.choice(sources)
            registrant["source_id"] = source["id"]
            source["registration_count"] += 1
    for source in sources:
        source["visitor_count"] = source["registration_count"] * 3 + rng.randrange(0, 20)
