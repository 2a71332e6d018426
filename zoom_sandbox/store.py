"""The sandbox's whole state: scenario dicts kept as given, plus indexes for fast look-ups.

The scenario JSON *is* the state (contract): accounts hold users and webinars, webinars hold
registrants, instances (with participants) and recordings. Loading fills defaults in place with
``setdefault`` so that dump → load → dump is byte-identical. Indexes (users by id/e-mail,
webinars by id, instances by UUID, registrants by id/e-mail) and pre-serialised registrant
fragments sit beside the dicts and are rebuilt or invalidated when a handler mutates them.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import orjson

from .errors import ScenarioError
from .timeutil import format_time, parse_time

# Standard registration fields other than email/first_name (Zoom's `questions[].field_name`).
STANDARD_FIELDS = (
    "last_name",
    "address",
    "city",
    "country",
    "zip",
    "state",
    "phone",
    "industry",
    "org",
    "job_title",
    "purchasing_time_frame",
    "role_in_purchase_process",
    "no_of_employees",
    "comments",
)
REGISTRANT_STATUSES = ("approved", "pending", "denied")
JOIN_HOST = "https://sandbox.zoom.test"


def dumps(value: Any) -> bytes:
    """Compact JSON as Zoom sends it (UTF-8, nothing escaped that need not be)."""
    try:
        return orjson.dumps(value)
    except TypeError:  # a dict with keys that are not strings (the state document, say)
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def derive_id(*parts: object, length: int = 22) -> str:
    """A Zoom-looking id (URL-safe base64) that depends only on ``parts``: deterministic state."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:length]


def derive_uuid(*parts: object) -> str:
    """An instance UUID in Zoom's form (base64 of 16 bytes, may contain ``/`` and ``+``)."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return base64.b64encode(digest[:16]).decode()


def normalized_email(email: str) -> str:
    return email.strip().lower()


class Webinar:
    """One scenario webinar plus its indexes."""

    def __init__(self, data: dict[str, Any], account: Account) -> None:
        self.data = data
        self.account = account
        self.id: int = data["id"]
        self.by_id: dict[str, dict[str, Any]] = {}
        self.by_email: dict[str, dict[str, Any]] = {}
        self._fragments: dict[tuple[str, bool], list[bytes]] = {}
        # Instance uuid -> (its number of sessions, `closed_sessions`), until one changes.
        self._closed: dict[str, tuple[int, list[tuple[int, dict[str, Any]]]]] = {}
        for registrant in data["registrants"]:
            self.index_registrant(registrant)

    # -- registrants -------------------------------------------------------------------------
    def index_registrant(self, registrant: dict[str, Any]) -> None:
        self.by_id[registrant["id"]] = registrant
        if registrant["status"] != "cancelled":
            self.by_email[normalized_email(registrant["email"])] = registrant
        self._fragments.clear()

    def registrant_changed(self, registrant: dict[str, Any]) -> None:
        key = normalized_email(registrant["email"])
        if registrant["status"] == "cancelled":
            if self.by_email.get(key) is registrant:
                del self.by_email[key]
        else:
            self.by_email[key] = registrant
        self._fragments.clear()

    def remove_registrant(self, registrant: dict[str, Any]) -> None:
        self.data["registrants"].remove(registrant)
        del self.by_id[registrant["id"]]
        key = normalized_email(registrant["email"])
        if self.by_email.get(key) is registrant:
            del self.by_email[key]
        self._fragments.clear()

    def registrant_fragments(self, status: str, *, with_source: bool = True) -> list[bytes]:
        """Each visible registrant with ``status`` as ready JSON bytes (the hot path of paging);
        `with_source`: with the tracking source it registered through (see `registrant_api`)."""
        cached = self._fragments.get((status, with_source))
        if cached is None:
            cached = [
                dumps(self.registrant_api(r, with_source=with_source))
                for r in self.data["registrants"]
                if r["status"] == status
            ]
            self._fragments[(status, with_source)] = cached
        return cached

    def registrant_api(
        self, registrant: dict[str, Any], *, with_source: bool = True
    ) -> dict[str, Any]:
        """A registrant as the API shows it. `with_source` False lists it as Zoom's own API
        does: without `source_id` (only the `tracking_source_id` filter tells the source)."""
        out: dict[str, Any] = {
            "id": registrant["id"],
            "email": registrant["email"],
            "first_name": registrant["first_name"],
        }
        for field in STANDARD_FIELDS:
            out[field] = registrant.get(field, "")
        out["custom_questions"] = registrant.get("custom_questions", [])
        if with_source and registrant.get("source_id"):  # the source it registered through
            out["source_id"] = registrant["source_id"]
        out["status"] = registrant["status"]
        out["create_time"] = registrant.get("create_time", "")
        out["join_url"] = self.join_url(registrant["id"])
        return out

    def join_url(self, registrant_id: str | None = None) -> str:
        url = f"{JOIN_HOST}/w/{self.id}"
        return f"{url}?tk={registrant_id}" if registrant_id else url

    # -- sessions -------------------------------------------------------------------------------
    def closed_sessions(self, instance: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
        """The instance's sessions that a participants list shows (closed ones: it ended),
        with their index among all its sessions (Zoom's ``user_id`` follows it). Kept until
        its sessions change (`sessions_changed`): every page of a listing walked them all, and
        at 16,700 sessions a webinar (the sync benchmark's 10x scenario) that walk was 40 % of
        the sandbox's time (py-spy)."""
        count = len(instance["participants"])
        cached = self._closed.get(instance["uuid"])
        if cached is None or cached[0] != count:
            closed = [(i, p) for i, p in enumerate(instance["participants"]) if p.get("leave_time")]
            cached = self._closed[instance["uuid"]] = (count, closed)
        return cached[1]

    def sessions_changed(self, instance: dict[str, Any]) -> None:
        """A session of the instance began or ended (`live`)."""
        self._closed.pop(instance["uuid"], None)

    # -- time --------------------------------------------------------------------------------
    def live_instance(self) -> dict[str, Any] | None:
        for instance in self.data["instances"]:
            if instance.get("end_time") is None:
                return instance
        return None

    def ended_instances(self) -> list[dict[str, Any]]:
        return [i for i in self.data["instances"] if i.get("end_time") is not None]

    def scheduled_end(self) -> float:
        """Start + duration; for type 9 the last available occurrence's end (contract)."""
        occurrences = self.available_occurrences()
        if occurrences:
            return max(parse_time(o["start_time"]) + 60 * o["duration"] for o in occurrences)
        return parse_time(self.data["start_time"]) + 60 * self.data["duration"]

    def available_occurrences(self) -> list[dict[str, Any]]:
        return [o for o in self.data["occurrences"] if o.get("status") != "deleted"]

    def is_unexpired(self, now: float) -> bool:
        return self.live_instance() is not None or self.scheduled_end() > now

    def current_uuid(self) -> str:
        """The UUID Zoom shows on the webinar: the live or latest instance, else a planned one."""
        if self.data.get("uuid"):
            return self.data["uuid"]
        live = self.live_instance()
        if live is not None:
            return live["uuid"]
        ended = self.ended_instances()
        if ended:
            return ended[-1]["uuid"]
        return derive_uuid("planned", self.account.id, self.id)

    def created_at(self) -> str:
        if self.data.get("created_at"):
            return self.data["created_at"]
        return format_time(parse_time(self.data["start_time"]) - 14 * 86400)

    def registration_enabled(self) -> bool:
        return bool(self.data["registration_required"]) and self.data["approval_type"] != 2


class Account:
    """One Zoom account: its scenario dict and indexes."""

    def __init__(self, data: dict[str, Any]) -> None:
        normalize_account(data)
        self.data = data
        self.id: str = data["id"]
        self.users_by_id = {u["id"]: u for u in data["users"]}
        self.users_by_email = {normalized_email(u["email"]): u for u in data["users"]}
        self.webinars: dict[int, Webinar] = {}
        self.instances: dict[str, tuple[Webinar, dict[str, Any]]] = {}
        for webinar_data in data["webinars"]:
            if webinar_data["id"] in self.webinars:
                raise ScenarioError(f"duplicate webinar id {webinar_data['id']}")
            webinar = Webinar(webinar_data, self)
            self.webinars[webinar.id] = webinar
            for instance in webinar_data["instances"]:
                self.instances[instance["uuid"]] = (webinar, instance)

    @property
    def plan(self) -> str:
        return self.data["plan"]

    def owner(self) -> dict[str, Any] | None:
        for user in self.data["users"]:
            if user.get("role") == "owner":
                return user
        return self.data["users"][0] if self.data["users"] else None

    def find_user(self, key: str) -> dict[str, Any] | None:
        return self.users_by_id.get(key) or self.users_by_email.get(normalized_email(key))

    def find_webinar(self, key: str) -> Webinar | None:
        """By numeric id, or by any instance UUID (webinar endpoints accept both)."""
        if key.isdigit():
            return self.webinars.get(int(key))
        found = self.instances.get(key)
        if found is not None:
            return found[0]
        for webinar in self.webinars.values():
            if webinar.data.get("uuid") == key:
                return webinar
        return None

    def add_instance(self, webinar: Webinar, instance: dict[str, Any]) -> None:
        webinar.data["instances"].append(instance)
        self.instances[instance["uuid"]] = (webinar, instance)


def normalize_account(data: dict[str, Any]) -> None:
    """Fill defaults in place (idempotent, so state round-trips byte for byte)."""
    if not isinstance(data, dict) or not data.get("id"):
        raise ScenarioError("an account needs an 'id'")
    data.setdefault("plan", "business")
    data.setdefault("apps", [])
    data.setdefault("webhook", {"url": "", "secret_token": ""})
    data.setdefault("users", [])
    data.setdefault("webinars", [])
    for user in data["users"]:
        if not user.get("id") or not user.get("email"):
            raise ScenarioError("a user needs 'id' and 'email'")
        user.setdefault("first_name", "")
        user.setdefault("last_name", "")
        user.setdefault("role", "member")
        user.setdefault("status", "active")
        user.setdefault("type", 2)
    for webinar in data["webinars"]:
        _normalize_webinar(webinar)


def _normalize_webinar(webinar: dict[str, Any]) -> None:
    if not isinstance(webinar.get("id"), int) or "start_time" not in webinar:
        raise ScenarioError("a webinar needs an integer 'id' and a 'start_time'")
    webinar.setdefault("type", 5)
    webinar.setdefault("topic", f"Webinar {webinar['id']}")
    webinar.setdefault("duration", 60)
    webinar.setdefault("timezone", "UTC")
    webinar.setdefault("registration_required", True)
    webinar.setdefault("approval_type", 0 if webinar["registration_required"] else 2)
    webinar.setdefault("zoom_events", False)
    for key in ("questions", "custom_questions", "occurrences", "registrants"):
        webinar.setdefault(key, [])
    webinar.setdefault("instances", [])
    webinar.setdefault("recordings", [])
    for registrant in webinar["registrants"]:
        if not registrant.get("id") or "email" not in registrant:
            raise ScenarioError(f"webinar {webinar['id']}: a registrant needs 'id' and 'email'")
        registrant.setdefault("first_name", "")
        registrant.setdefault("status", "approved")
    for instance in webinar["instances"]:
        if not instance.get("uuid") or not instance.get("start_time"):
            raise ScenarioError(f"webinar {webinar['id']}: an instance needs 'uuid', 'start_time'")
        instance.setdefault("end_time", None)
        instance.setdefault("participants", [])


class Store:
    """All accounts side by side; ids (webinar ids, client ids) are unique across accounts."""

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}

    def reset(self) -> None:
        self.accounts = {}

    def load(self, scenario: dict[str, Any]) -> None:
        accounts = scenario.get("accounts") if isinstance(scenario, dict) else None
        if not isinstance(accounts, list):
            raise ScenarioError("a scenario needs an 'accounts' list")
        loaded: dict[str, Account] = {}
        for data in accounts:
            account = Account(data)
            if account.id in loaded:
                raise ScenarioError(f"duplicate account id {account.id}")
            loaded[account.id] = account
        self.accounts = loaded

    def put_account(self, data: dict[str, Any]) -> Account:
        """Add or replace one account; the others (and their dicts) are untouched."""
        account = Account(data)
        self.accounts[account.id] = account
        return account

    def dump(self) -> bytes:
        return dumps({"accounts": [a.data for a in self.accounts.values()]})

    def counts(self) -> dict[str, int]:
        webinars = [w for a in self.accounts.values() for w in a.webinars.values()]
        return {
            "accounts": len(self.accounts),
            "users": sum(len(a.data["users"]) for a in self.accounts.values()),
            "webinars": len(webinars),
            "registrants": sum(len(w.data["registrants"]) for w in webinars),
            "instances": sum(len(w.data["instances"]) for w in webinars),
            "participants": sum(
                len(i["participants"]) for w in webinars for i in w.data["instances"]
            ),
        }

    def webinar_anywhere(self, webinar_id: int) -> Webinar | None:
        for account in self.accounts.values():
            webinar = account.webinars.get(webinar_id)
            if webinar is not None:
                return webinar
        return None
