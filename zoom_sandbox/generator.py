"""Deterministic scenario generator (``--generate`` and ``POST /_sandbox/generate``).

Same parameters, seed and ``now`` → the same scenario, byte for byte: every random choice comes
from one ``random.Random(seed)`` and every time is computed from ``now``. What it makes, per
account: hosts in several e-mail domains; webinars of type 5 and 9 (occurrences, some left) and
one Zoom Events webinar; most ended in the last 90 days, some upcoming, one live if asked;
``registrants`` per webinar drawn from a shared pool of people (e-mails sometimes mixed-case or
padded as typed), a few cancelled, pending/denied ones where approval is manual; registration
forms needing only the standard three fields or more; attendance with rejoins whose sessions
overlap, guests without e-mail (with and without a registrant id); recordings and transcripts.
"""

from __future__ import annotations

import base64
import random
import unicodedata
from typing import Any

from .api_tracking import add_registration_answers
from .engagement import add_engagement
from .timeutil import format_time, parse_time

DAY = 86400
FIRST_NAMES = (
    "Ana",
    "Ben",
    "Chloé",
    "Dmitri",
    "Emma",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kaito",
    "Lena",
    "Mateo",
    "Nia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
    "Uma",
    "Viktor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoe",
)
LAST_NAMES = (
    "Silva",
    "Novak",
    "Okafor",
    "Müller",
    "Tanaka",
    "García",
    "Kowalski",
    "Haddad",
    "Larsen",
    "Nguyen",
    "O'Brien",
    "Rossi",
    "Schmidt",
    "Patel",
    "Dubois",
    "Andersson",
    "Costa",
    "Ivanova",
)
PEOPLE_DOMAINS = ("example.com", "mail.example.org", "corp.example", "uni.example.edu")
BRANDS = ("acme", "globex", "initech", "umbrella")
TOPICS = (
    "Quarterly roadmap",
    "Onboarding best practices",
    "Security deep dive",
    "Customer stories",
    "Product launch",
    "Pricing Q&A",
    "Analytics masterclass",
    "Partner summit",
    "API office hours",
    "Year in review",
)
COMPANY_SIZES = ["1-10", "11-100", "100+"]
HEARD_FROM = ["Search", "Friend", "Newsletter", "Other"]
REDIRECT_URI = "http://127.0.0.1:8000/integrations/zoom/oauth/callback/"


def parse_params(spec: str) -> dict[str, Any]:
    """``webinars=20,registrants=500,attendance=0.6,seed=1`` → a parameter dict."""
    params: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        key, _, value = part.partition("=")
        params[key.strip()] = value.strip()
    return params


class Generator:
    def __init__(self, params: dict[str, Any], now: float) -> None:
        self.rng = random.Random(int(params.get("seed", 1)))
        self.now = float(int(now))
        self.accounts = int(params.get("accounts", 1))
        self.webinars = int(params.get("webinars", 20))
        self.registrants = int(params.get("registrants", 500))
        self.attendance = float(params.get("attendance", 0.6))
        self.live = str(params.get("live", "0")).lower() in ("1", "true", "yes")
        self.webhook_url = str(params.get("webhook_url") or "")
        self._used_ids: set[int] = set()
        self._slash_uuid_made = False

    def _id(self, length: int = 22) -> str:
        raw = self.rng.getrandbits(8 * 18).to_bytes(18, "big")
        return base64.urlsafe_b64encode(raw).decode()[:length]

    def _uuid(self) -> str:
        return base64.b64encode(self.rng.getrandbits(128).to_bytes(16, "big")).decode()

    def _webinar_id(self) -> int:
        while True:
            candidate = self.rng.randrange(81_000_000_000, 99_999_999_999)
            if candidate not in self._used_ids:
                self._used_ids.add(candidate)
                return candidate

    def scenario(self) -> dict[str, Any]:
        return {"accounts": [self._account(n) for n in range(1, self.accounts + 1)]}

    def with_answers(self, params: dict[str, Any]) -> dict[str, Any]:
        scenario = self.scenario()
        add_registration_answers(scenario, params)
        return scenario

    def _account(self, n: int) -> dict[str, Any]:
        brand = BRANDS[(n - 1) % len(BRANDS)] + ("" if n <= len(BRANDS) else str(n))
        domains = [f"{brand}.test", f"events.{brand}.test", "partner-agency.test"]
        users = []
        for index, role in enumerate(("owner", "admin", "member", "member", "member")):
            first, last = FIRST_NAMES[(n * 7 + index * 5) % 26], LAST_NAMES[(n + index * 3) % 18]
            domain = domains[min(index // 2, 2)]
            users.append(
                {
                    "id": self._id(),
                    "email": f"{first.lower()}.{index}@{domain}",
                    "first_name": first,
                    "last_name": last,
                    "role": role,
                    "status": "active" if index < 4 else "inactive",
                    "type": 2,
                }
            )
        pool = [self._person(k) for k in range(max(self.registrants * 3 // 2, 40))]
        hosts = users[:4]
        webinars = [self._webinar(n, j, hosts, pool) for j in range(self.webinars)]
        return {
            "id": f"acct_{n}",
            "plan": "business",
            "apps": [
                {"type": "s2s", "client_id": f"s2s-client-{n}", "client_secret": f"s2s-secret-{n}"},
                {
                    "type": "oauth",
                    "client_id": f"oauth-client-{n}",
                    "client_secret": f"oauth-secret-{n}",
                    "redirect_uri": REDIRECT_URI,
                },
            ],
            "webhook": {
                "url": self.webhook_url.replace("{n}", str(n)),
                "secret_token": f"whsec-{n}",
            },
            "users": users,
            "webinars": webinars,
        }

    def _person(self, k: int) -> dict[str, str]:
        first = self.rng.choice(FIRST_NAMES)
        last = self.rng.choice(LAST_NAMES)
        # Names keep their accents; addresses are plain ASCII, as most mailboxes are.
        plain = unicodedata.normalize("NFKD", f"{first}.{last}").encode("ascii", "ignore")
        local = plain.decode().lower().replace("'", "")
        return {
            "first_name": first,
            "last_name": last,
            "email": f"{local}{k}@{self.rng.choice(PEOPLE_DOMAINS)}",
        }

    def _schedule(self, j: int) -> tuple[str, float]:
        """(kind, start): live, upcoming or ended in the last 90 days."""
        if self.live and j == 0:
            return "live", self.now - 15 * 60
        if j % 5 == 3:
            return "upcoming", self.now + self.rng.randint(1, 30) * DAY + 3600 * self.rng.randint(
                0, 8
            )
        return "ended", self.now - self.rng.randint(2, 88) * DAY - 900 * self.rng.randint(0, 40)

    def _webinar(
        self, n: int, j: int, hosts: list[dict[str, Any]], pool: list[dict[str, str]]
    ) -> dict[str, Any]:
        kind, start = self._schedule(j)
        start = start - start % 900  # quarter-hour starts, as people schedule them
        recurring = j in (1, 6)
        duration = self.rng.choice((45, 60, 90))
        webinar_id = self._webinar_id()
        occurrences = []
        if recurring:
            # j == 1 keeps an occurrence ahead (unexpired); j == 6 is fully over.
            first = self.now - 15 * DAY if j == 1 else start - 21 * DAY
            first -= first % 900
            for k in range(4):
                occurrence_start = first + 7 * k * DAY
                occurrences.append(
                    {
                        "occurrence_id": str(int(occurrence_start * 1000)),
                        "start_time": format_time(occurrence_start),
                        "duration": duration,
                        "status": "available",
                    }
                )
            start = first
        questions, custom = self._form(j)
        webinar: dict[str, Any] = {
            "id": webinar_id,
            "host_id": hosts[j % len(hosts)]["id"],
            "topic": f"{TOPICS[j % len(TOPICS)]} #{j + 1}",
            "type": 9 if recurring else 5,
            "start_time": format_time(start),
            "duration": duration,
            "timezone": "UTC",
            "agenda": f"Agenda for {TOPICS[j % len(TOPICS)].lower()}.",
            "registration_required": True,
            "approval_type": 1 if j % 6 == 5 else 0,
            "zoom_events": j == 2,
            "questions": questions,
            "custom_questions": custom,
            "occurrences": occurrences,
        }
        webinar["registrants"] = self._registrants(webinar, pool)
        webinar["instances"] = self._instances(webinar, kind)
        webinar["recordings"] = [
            {"uuid": i["uuid"], "files": self._files(j)}
            for i in webinar["instances"]
            if i["end_time"] is not None and j % 4 != 3
        ]
        return webinar

    @staticmethod
    def _form(j: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Some forms need only email/first_name/last_name; others require more (rule W6)."""
        if j % 3 == 1:
            questions = [
                {"field_name": "last_name", "required": True},
                {"field_name": "org", "required": True},
                {"field_name": "job_title", "required": False},
            ]
            custom = [
                {
                    "title": "How did you hear about us?",
                    "type": "single_dropdown",
                    "required": True,
                    "answers": HEARD_FROM,
                },
            ]
            return questions, custom
        if j % 3 == 2:
            custom = [
                {
                    "title": "Company size",
                    "type": "single_radio",
                    "required": False,
                    "answers": COMPANY_SIZES,
                },
            ]
            return [{"field_name": "last_name", "required": True}], custom
        return [{"field_name": "last_name", "required": True}], []

    def _typed(self, email: str) -> str:
        """E-mails as people type them: some mixed-case, some padded with spaces."""
        roll = self.rng.random()
        if roll < 0.04:
            local, _, domain = email.partition("@")
            return f"{local.capitalize()}@{domain.upper()}"
        if roll < 0.07:
            return f"  {email} "
        if roll < 0.08:
            return f" {email.title()}"
        return email

    def _registrants(self, webinar: dict[str, Any], pool: list[dict[str, str]]) -> list[Any]:
        start = parse_time(webinar["start_time"])
        manual = webinar["approval_type"] == 1
        people = self.rng.sample(pool, min(self.registrants, len(pool)))
        registrants = []
        for person in people:
            roll = self.rng.random()
            status = "approved"
            if roll < 0.03:
                status = "cancelled"
            elif manual and roll < 0.13:
                status = "pending"
            elif manual and roll < 0.18:
                status = "denied"
            registrant: dict[str, Any] = {
                "id": self._id(),
                "email": self._typed(person["email"]),
                "first_name": person["first_name"],
                "last_name": person["last_name"],
            }
            for question in webinar["questions"]:
                if question["field_name"] == "org" and question["required"]:
                    registrant["org"] = person["email"].split("@")[1].split(".")[0].title()
            if webinar["custom_questions"]:
                question = webinar["custom_questions"][0]
                if question["required"] or self.rng.random() < 0.5:
                    value = self.rng.choice(question["answers"])
                    registrant["custom_questions"] = [{"title": question["title"], "value": value}]
            registrant["status"] = status
            registrant["create_time"] = format_time(start - self.rng.randint(3600, 20 * DAY))
            registrants.append(registrant)
        return registrants

    def _instances(self, webinar: dict[str, Any], kind: str) -> list[dict[str, Any]]:
        if kind == "upcoming":
            return []
        starts = [parse_time(o["start_time"]) for o in webinar["occurrences"]] or [
            parse_time(webinar["start_time"])
        ]
        instances = []
        for scheduled in starts:
            if kind == "live":
                instances.append(self._instance(webinar, self.now - 15 * 60, live=True))
            elif scheduled + 60 * webinar["duration"] < self.now:
                instances.append(self._instance(webinar, scheduled + 60 * self.rng.randint(0, 3)))
        return instances

    def _instance(self, webinar: dict[str, Any], start: float, *, live: bool = False) -> Any:
        uuid = self._uuid()
        if not self._slash_uuid_made:  # one UUID starting with "/" needs double encoding (§1)
            self._slash_uuid_made = True
            uuid = "/" + uuid[1:]
        end = start + 60 * (webinar["duration"] + self.rng.randint(-5, 10))
        horizon = self.now if live else end
        participants = []
        for registrant in webinar["registrants"]:
            if registrant["status"] != "approved" or self.rng.random() >= self.attendance:
                continue
            participants.extend(self._sessions(registrant, start, horizon, live))
        for g in range(max(1, len(participants) // 50)):  # guests without registration or e-mail
            join = start + self.rng.randint(0, 1200)
            participants.append(
                {
                    "participant_user_id": "",
                    "registrant_id": "",
                    "name": f"Guest {g + 1}",
                    "user_email": "",
                    "join_time": format_time(min(join, horizon)),
                    "leave_time": None if live else format_time(end - self.rng.randint(0, 600)),
                }
            )
        return {
            "uuid": uuid,
            "start_time": format_time(start),
            "end_time": None if live else format_time(end),
            "participants": participants,
        }

    def _sessions(self, registrant: dict[str, Any], start: float, end: float, live: bool) -> Any:
        person_id = self._id()
        hidden = self.rng.random() < 0.05  # a guest whose address Zoom hides (rule B1)
        email = "" if hidden else registrant["email"].strip()
        name = f"{registrant['first_name']} {registrant['last_name']}"
        join = min(start + self.rng.randint(0, 1200), end - 60)
        leave = max(join + 60, end - self.rng.randint(0, 1800))
        spans = [(join, leave)]
        if self.rng.random() < 0.1 and leave - join > 600:
            # A rejoin: the second session starts before the first one's leave is recorded.
            cut = join + (leave - join) // 2
            spans = [(join, cut), (cut - self.rng.randint(5, 90), leave)]
        rows = []
        for index, (a, b) in enumerate(spans):
            still_in = live and index == len(spans) - 1 and self.rng.random() < 0.7
            rows.append(
                {
                    "participant_user_id": person_id,
                    "registrant_id": registrant["id"],
                    "name": name,
                    "user_email": email,
                    "join_time": format_time(a),
                    "leave_time": None if still_in else format_time(b),
                }
            )
        return rows

    @staticmethod
    def _files(j: int) -> list[dict[str, str]]:
        if j % 4 == 1:
            return [{"file_type": "MP4"}]
        return [{"file_type": "MP4"}, {"file_type": "TRANSCRIPT"}]


def generate(params: dict[str, Any], now: float) -> dict[str, Any]:
    scenario = Generator(params, now).with_answers(params)
    if str(params.get("engagement", "1")).lower() not in ("0", "false", "no"):
        add_engagement(scenario, int(params.get("seed", 1)), float(int(now)))
    return scenario
