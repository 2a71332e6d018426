"""The filter-tree compiler (rules G1, G2, G4) against an independent Python computation over
the same fixture data. Every case is evaluated by the database (both query shapes where the
database has both, each reading the contacts' rollups and the tables they summarize) and by
plain Python over the rows read back, and they must all agree."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm.contact_filters import FilterContext
from crm.models import Contact, PropertyDefinition, SecondaryEmail, TimelineEvent
from marketing_events.activity import activity_rebuild
from marketing_events.models import ContactActivity, MarketingEvent, Participation
from segments.compiler import (
    choose_strategy,
    count_query,
    matching_contacts,
    matching_count,
    tree_conditions,
)
from segments.tree import TreeInvalid, clean_tree

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)
# A query shape, and "-tables" where the filters read participations instead of the rollups.
STRATEGIES = ["exists", "sets", "exists-tables", "sets-tables"]


class World:
    """Contacts, events, participations and recordings, plus the same facts as plain data."""

    def __init__(self):
        PropertyDefinition.objects.create(name="score", label="Score", type="number")
        PropertyDefinition.objects.create(name="signup_day", label="Signup day", type="date")
        PropertyDefinition.objects.create(
            name="tier", label="Tier", type="enumeration", options=[
                {"label": "Gold", "value": "gold"}, {"label": "Silver", "value": "silver"}
            ],
        )  # fmt: skip
        self.events = {
            "W1": self._event("zoom", "81100000001", "Growth Webinar"),
            "W2": self._event("zoom", "81100000002", "Product Deep Dive"),
            "E3": self._event("api", "conf-3", "Spring Conference"),
        }
        people = [
            # key, email, first, company, props, created days ago
            ("ana", "ana@acme.com", "Ana", "Acme", {"score": "12", "tier": "gold",
             "signup_day": "2026-06-01", "zoom_webinar_attendance_count": "2"}, 3),
            ("bo", "bo@beta.io", "Bo", "Beta", {"score": "7.5", "tier": "silver"}, 40),
            ("cy", "cy@acme.com", "Cy", "", {"signup_day": "2025-12-31"}, 10),
            ("di", "di@gamma.org", "Di", "Gamma", {"score": "30"}, 100),
            ("ed", "ed@beta.io", "Ed", "Beta", {"zoom_webinar_attendance_count": "0"}, 0),
            ("fay", None, "Fay", "Acme", {}, 5),
            ("gus", "gus@acme.com", "Gus", "ACME Corp", {"tier": "gold"}, 1),
            ("hal", "hal@delta.net", "Hal", "", {}, 200),
        ]  # fmt: skip
        self.contacts = {}
        for key, email, first, company, props, days in people:
            created = NOW - dt.timedelta(days=days, hours=1)
            self.contacts[key] = Contact.objects.create(
                email=email, first_name=first, company=company, properties=props,
                created_at=created, updated_at=created,
            )  # fmt: skip
        archived = Contact.objects.create(email="zed@acme.com", first_name="Zed")
        archived.archived_at = NOW
        archived.save()
        self.archived = archived
        SecondaryEmail.objects.create(contact=self.contacts["bo"], email="bo@acme.com")
        # key: (event, state, duration, percent)
        rows = [
            ("ana", "W1", "ATTENDED", 3600, "90.0"),
            ("ana", "W2", "REGISTERED", 0, None),
            ("bo", "W1", "ATTENDED", 600, "15.0"),
            ("bo", "E3", "CANCELLED", 0, None),
            ("cy", "W1", "REGISTERED", 0, None),
            ("cy", "W2", "ATTENDED", 1800, "50.0"),
            ("di", "W2", "CANCELLED", 0, None),
            ("di", "E3", "ATTENDED", 5400, "100.0"),
            ("ed", "W2", "REGISTERED", 0, None),
            ("fay", "W1", "ATTENDED", 1799, "45.0"),
            ("gus", "E3", "REGISTERED", 0, None),
            ("zed", "W1", "ATTENDED", 4000, "99.0"),
        ]
        for key, event, state, duration, percent in rows:
            contact = archived if key == "zed" else self.contacts[key]
            Participation.objects.create(
                contact=contact, event=self.events[event], state=state,
                duration_seconds=duration,
                attendance_percent=Decimal(percent) if percent else None,
            )  # fmt: skip
        # Written here without the services: the rollups are rebuilt, as the command does.
        activity_rebuild()
        for key, event, url, day in [
            ("ana", "W1", "https://zoom.us/rec/share/abc", NOW - dt.timedelta(days=2)),
            ("cy", "W2", "https://zoom.us/rec/share/xyz", NOW - dt.timedelta(days=40)),
        ]:
            TimelineEvent.objects.create(
                contact=self.contacts[key], kind="zoom_recording_available", occurred_at=day,
                data={"webinar_name": self.events[event].name, "recording_url": url},
            )  # fmt: skip
        self.load_plain_data()

    @staticmethod
    def _event(source, external_id, name):
        return MarketingEvent.objects.create(
            source=source, external_account_id="acct", external_event_id=external_id, name=name
        )

    def load_plain_data(self):
        """Everything the oracle needs, read back as plain Python values."""
        self.people = {
            c.pk: {
                "email": c.email, "firstname": c.first_name, "company": c.company,
                "createdate": c.created_at, **c.properties,
                "hs_additional_emails": [s.email for s in c.secondary_emails.all()],
            }
            for c in Contact.objects.filter(archived_at__isnull=True)
        }  # fmt: skip
        self.participations = [
            {
                "contact": p.contact_id, "event": p.event_id, "state": p.state,
                "duration": p.duration_seconds, "percent": p.attendance_percent,
                "source": p.event.source, "webinar_id": p.event.external_event_id,
                "name": p.event.name,
            }
            for p in Participation.objects.select_related("event")
        ]  # fmt: skip
        self.recordings = [
            {"contact": t.contact_id, "topic": t.data["webinar_name"],
             "url": t.data["recording_url"], "at": t.occurred_at}
            for t in TimelineEvent.objects.filter(kind="zoom_recording_available")
        ]  # fmt: skip

    def id(self, key: str) -> int:
        return self.events[key].pk


@pytest.fixture
def world(db):
    return World()


def evaluate(tree, strategy):
    strategy, _, source = strategy.partition("-")
    if strategy == "sets" and connection.vendor != "postgresql":
        pytest.skip("the set-operation shape is PostgreSQL's")
    ctx = FilterContext.build(now=NOW, rollups=source != "tables")
    clean = clean_tree(tree, ctx)
    return set(matching_contacts(clean, ctx, strategy=strategy).values_list("pk", flat=True))


# ---- The oracle: plain Python over the plain data ------------------------------------------


def _text_match(value, op, arg):
    value = (value or "").lower() if isinstance(value, str) or value is None else value
    if op == "is_known":
        return bool(value)
    if op == "is_unknown":
        return not value
    if op in ("neq", "not_in", "not_contains"):
        positive = {"neq": "eq", "not_in": "in", "not_contains": "contains"}[op]
        return not _text_match(value, positive, arg)
    if not value:
        return False
    if op == "eq":
        return value == str(arg).lower()
    if op == "in":
        return value in [str(a).lower() for a in arg]
    if op == "contains":
        return str(arg).lower() in value
    if op == "starts_with":
        return value.startswith(str(arg).lower())
    if op == "ends_with":
        return value.endswith(str(arg).lower())
    raise AssertionError(op)


def _number_match(value, op, arg):
    number = Decimal(value) if value not in (None, "") else None
    if op == "is_known":
        return number is not None
    if op == "is_unknown":
        return number is None
    if op in ("neq", "not_in"):
        return not _number_match(value, {"neq": "eq", "not_in": "in"}[op], arg)
    if number is None:
        return False
    if op == "in":
        return number in [Decimal(str(a)) for a in arg]
    if op == "between":
        return Decimal(str(arg[0])) <= number <= Decimal(str(arg[1]))
    arg = Decimal(str(arg))
    return {"eq": number == arg, "lt": number < arg, "lte": number <= arg,
            "gt": number > arg, "gte": number >= arg}[op]  # fmt: skip


def _day_match(moment, op, day: dt.date):
    """Whole-day comparison of a datetime (or date) against a day."""
    if moment is None:
        return op == "is_unknown" or op == "neq"
    value = moment.date() if isinstance(moment, dt.datetime) else moment
    return {"eq": value == day, "neq": value != day, "lt": value < day, "lte": value <= day,
            "gt": value > day, "gte": value >= day}[op]  # fmt: skip


def oracle_property(world, name, op, arg=None, kind="text"):
    out = set()
    for pk, person in world.people.items():
        value = person.get(name)
        if name == "hs_additional_emails":
            hit = any(_text_match(v, op, arg) for v in value) if op not in (
                "neq", "not_in", "not_contains", "is_unknown") else not any(
                _text_match(v, {"neq": "eq", "not_in": "in", "not_contains": "contains",
                                "is_unknown": "is_known"}[op], arg) for v in value)  # fmt: skip
        elif kind == "number":
            hit = _number_match(value, op, arg)
        elif kind == "day":
            if op in ("is_known", "is_unknown"):
                hit = (value not in (None, "")) == (op == "is_known")
            else:
                parsed = dt.date.fromisoformat(value) if isinstance(value, str) and value else value
                hit = _day_match(parsed, op, arg)
        else:
            hit = _text_match(value, op, arg)
        if hit:
            out.add(pk)
    return out


def oracle_participations(world, keep):
    return {p["contact"] for p in world.participations if keep(p) and p["contact"] in world.people}


def everyone(world):
    return set(world.people)


# ---- Property filters ----------------------------------------------------------------------

TEXT_CASES = [
    ("email", "eq", "ANA@acme.com"),
    ("email", "neq", "ana@acme.com"),
    ("email", "contains", "ACME"),
    ("email", "not_contains", "acme"),
    ("email", "starts_with", "b"),
    ("email", "ends_with", "@beta.io"),
    ("email", "in", ["ana@acme.com", "HAL@delta.net"]),
    ("email", "not_in", ["ana@acme.com"]),
    ("email", "is_known", None),
    ("email", "is_unknown", None),
    ("company", "eq", "acme"),
    ("company", "contains", "ACME"),
    ("company", "neq", "Acme"),
    ("company", "is_unknown", None),
    ("firstname", "starts_with", "g"),
    ("tier", "eq", "gold"),
    ("tier", "neq", "gold"),
    ("tier", "in", ["gold", "silver"]),
    ("tier", "is_known", None),
    ("hs_additional_emails", "ends_with", "@acme.com"),
    ("hs_additional_emails", "not_contains", "bo@"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize(("name", "op", "arg"), TEXT_CASES)
def test_text_and_enumeration_property_filters(world, strategy, name, op, arg):
    # rule G2: text operators ignore case; negatives include contacts without a value
    node = {"type": "property", "property": name, "operator": op}
    if arg is not None:
        node["value"] = arg
    assert evaluate({"or": [{"and": [node]}]}, strategy) == oracle_property(world, name, op, arg)


NUMBER_CASES = [
    ("eq", 12), ("neq", 12), ("lt", 10), ("lte", "7.5"), ("gt", 7.5), ("gte", 12),
    ("between", [7, 12]), ("in", [7.5, 30]), ("not_in", [30]), ("is_known", None),
    ("is_unknown", None),
]  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize(("op", "arg"), NUMBER_CASES)
def test_number_property_filters(world, strategy, op, arg):
    # rule G2: numbers compare as numbers ("7.5" < "12"), not as text
    node = {"type": "property", "property": "score", "operator": op}
    if arg is not None:
        node["value"] = arg
    expected = oracle_property(world, "score", op, arg, kind="number")
    assert evaluate({"or": [{"and": [node]}]}, strategy) == expected


@pytest.mark.django_db
@pytest.mark.parametrize("op", ["gte", "lt"])
def test_legacy_properties_are_filters_too(world, op):
    # rule G2: the legacy properties P1–P4 filter like any number property
    node = {"type": "property", "property": "zoom_webinar_attendance_count", "operator": op,
            "value": 1}  # fmt: skip
    expected = oracle_property(world, "zoom_webinar_attendance_count", op, 1, kind="number")
    assert evaluate({"or": [{"and": [node]}]}, "exists") == expected
    assert expected  # the fixture has someone on each side


DATE_CASES = [
    ("eq", "2026-06-01"), ("lt", "2026-06-01"), ("gte", "2026-01-01"),
    ("between", ["2025-12-31", "2026-06-01"]), ("neq", "2026-06-01"), ("is_known", None),
]  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize(("op", "arg"), DATE_CASES)
def test_date_property_filters(world, op, arg):
    node = {"type": "property", "property": "signup_day", "operator": op}
    if arg is not None:
        node["value"] = arg
    if op == "between":
        low, high = (dt.date.fromisoformat(a) for a in arg)
        expected = {
            pk for pk, p in world.people.items()
            if p.get("signup_day") and low <= dt.date.fromisoformat(p["signup_day"]) <= high
        }  # fmt: skip
    else:
        day = dt.date.fromisoformat(arg) if arg else None
        expected = oracle_property(world, "signup_day", op, day, kind="day")
    assert evaluate({"or": [{"and": [node]}]}, "exists") == expected


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("op", "days"), [("gte", 30), ("gte", 7), ("lt", 30), ("eq", 0), ("lte", 10)]
)
def test_relative_dates_on_create_date(world, op, days):
    # rule G2: "created in the last 30 days" = createdate gte {"days_ago": 30}, whole days
    node = {"type": "property", "property": "createdate", "operator": op,
            "value": {"days_ago": days}}  # fmt: skip
    today = timezone.localtime(NOW).date()
    day = today - dt.timedelta(days=days)
    expected = {
        pk for pk, p in world.people.items()
        if _day_match(timezone.localtime(p["createdate"]).date(), op, day)
    }  # fmt: skip
    assert evaluate({"or": [{"and": [node]}]}, "exists") == expected
    assert 0 < len(expected) or op == "eq"


# ---- Marketing-event filters ----------------------------------------------------------------

REGISTERED = {"REGISTERED", "ATTENDED"}


@pytest.mark.django_db
@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("negate", [False, True])
@pytest.mark.parametrize("event", ["W1", "W2", "E3", None])
@pytest.mark.parametrize(
    ("kind", "states"),
    [
        ("event_registered", REGISTERED),
        ("event_attended", {"ATTENDED"}),
        ("event_cancelled", {"CANCELLED"}),
    ],
)
def test_event_state_filters(world, strategy, negate, event, kind, states):
    # rule G2 / G4: a negated filter is NOT EXISTS of the positive one — a contact who
    # attended another event but not this one *is* in "has not attended"
    event_id = world.id(event) if event else None
    tree = {"or": [{"and": [{"type": kind, "event_id": event_id, "negate": negate}]}]}
    positive = oracle_participations(
        world, lambda p: p["state"] in states and (event_id is None or p["event"] == event_id)
    )
    expected = everyone(world) - positive if negate else positive
    assert evaluate(tree, strategy) == expected


@pytest.mark.django_db
def test_not_attended_includes_people_who_attended_something_else(world):
    # rule G4, spelled out: Cy attended W2, not W1, so Cy has "not attended W1"
    tree = {"or": [{"and": [{"type": "event_attended", "event_id": world.id("W1"),
                             "negate": True}]}]}  # fmt: skip
    members = evaluate(tree, "exists")
    assert world.contacts["cy"].pk in members
    assert world.contacts["ana"].pk not in members
    assert world.archived.pk not in members  # archived contacts are never members


@pytest.mark.django_db
@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize(
    ("op", "value"), [("gte", 1800), ("lt", 1800), ("between", [600, 3600]), ("eq", 1799)]
)
@pytest.mark.parametrize("event", ["W1", None])
def test_attendance_duration(world, strategy, op, value, event):
    event_id = world.id(event) if event else None
    tree = {"or": [{"and": [{"type": "event_attendance_duration", "event_id": event_id,
                             "operator": op, "value": value}]}]}  # fmt: skip
    expected = oracle_participations(
        world,
        lambda p: p["state"] == "ATTENDED"
        and (event_id is None or p["event"] == event_id)
        and _number_match(p["duration"], op, value),
    )
    assert evaluate(tree, strategy) == expected


@pytest.mark.django_db
@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("negate", [False, True])
@pytest.mark.parametrize(
    ("op", "value"),
    [("gte", 3600), ("lt", 1800), ("between", [0, 1799]), ("eq", 0), ("neq", 5400),
     ("in", [1800, 2399])],
)  # fmt: skip
def test_total_attendance_duration(world, strategy, negate, op, value):
    # issue 21: seconds attended at all events together; 0 for someone who never attended
    tree = {"or": [{"and": [{"type": "event_attendance_duration", "event_id": None,
                             "total": True, "operator": op, "value": value,
                             "negate": negate}]}]}  # fmt: skip
    totals = dict.fromkeys(everyone(world), 0)
    for p in world.participations:
        if p["state"] == "ATTENDED" and p["contact"] in totals:
            totals[p["contact"]] += p["duration"]
    positive = {pk for pk, total in totals.items() if _number_match(total, op, value)}
    expected = everyone(world) - positive if negate else positive
    assert evaluate(tree, strategy) == expected


@pytest.mark.django_db
@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("negate", [False, True])
@pytest.mark.parametrize(
    ("op", "value"),
    [("gte", 2), ("gte", 1), ("lt", 2), ("eq", 0), ("neq", 1), ("between", [1, 2]), ("in", [0, 2])],
)
@pytest.mark.parametrize(
    ("kind", "states"),
    [
        ("event_registered", REGISTERED),
        ("event_attended", {"ATTENDED"}),
        ("event_cancelled", {"CANCELLED"}),
    ],
)
def test_event_count_filters(world, strategy, negate, op, value, kind, states):
    # issue 21: "attended at least N events", "registered for at least N events"; the count
    # is of events (one participation each), 0 for someone without any. Ana also attended E3
    # and Bo cancelled W2, so that somebody is at 2 or more in every state.
    Participation.objects.create(
        contact=world.contacts["ana"], event=world.events["E3"], state="ATTENDED",
        duration_seconds=60,
    )  # fmt: skip
    Participation.objects.create(
        contact=world.contacts["bo"], event=world.events["W2"], state="CANCELLED"
    )
    activity_rebuild()
    world.load_plain_data()
    tree = {"or": [{"and": [{"type": kind, "event_id": None, "negate": negate,
                             "count": {"operator": op, "value": value}}]}]}  # fmt: skip
    counts = dict.fromkeys(everyone(world), 0)
    for p in world.participations:
        if p["state"] in states and p["contact"] in counts:
            counts[p["contact"]] += 1
    assert max(counts.values()) >= 2
    positive = {pk for pk, n in counts.items() if _number_match(n, op, value)}
    expected = everyone(world) - positive if negate else positive
    assert evaluate(tree, strategy) == expected


@pytest.mark.django_db
@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize(
    ("node", "matches_nobody_active"),
    [
        ({"type": "event_attended", "event_id": None, "negate": True}, True),
        ({"type": "event_registered", "event_id": None, "negate": False}, False),
        ({"type": "event_attended", "event_id": None, "negate": False,
          "count": {"operator": "eq", "value": 0}}, True),
        ({"type": "event_attendance_duration", "event_id": None, "total": True,
          "operator": "lt", "value": 60, "negate": False}, True),
        ({"type": "event_attendance_duration", "event_id": None, "total": True,
          "operator": "gte", "value": 60, "negate": True}, True),
    ],
)  # fmt: skip
def test_a_rollup_row_of_zeros_counts_as_no_activity(world, strategy, node, matches_nobody_active):
    # issue 21: a contact whose participations all went keeps a rollup row of zeros
    # (`ContactActivity`); every filter reads it as it reads a contact without a row, and as
    # the oracle reads a contact without participations.
    idle = everyone(world) - {p["contact"] for p in world.participations}
    assert idle
    ContactActivity.objects.bulk_create([ContactActivity(contact_id=pk) for pk in sorted(idle)])
    matched = evaluate({"or": [{"and": [node]}]}, strategy)
    assert (idle <= matched) is matches_nobody_active
    assert not (idle & matched) or matches_nobody_active


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("count", "path"),
    [
        ({"operator": "gte", "value": 1.5}, "or[0].and[0].count.value"),
        ({"operator": "gte", "value": -1}, "or[0].and[0].count.value"),
        ({"operator": "contains", "value": 1}, "or[0].and[0].count.operator"),
        ("3", "or[0].and[0].count"),
    ],
)
def test_an_event_count_is_a_whole_number_of_any_event(world, count, path):
    node = {"type": "event_attended", "event_id": None, "count": count}
    with pytest.raises(TreeInvalid) as info:
        clean_tree({"or": [{"and": [node]}]}, FilterContext.build(now=NOW))
    assert [e.path for e in info.value.errors] == [path]
    node = {**node, "event_id": world.id("W1"), "count": {"operator": "gte", "value": 2}}
    with pytest.raises(TreeInvalid) as info:
        clean_tree({"or": [{"and": [node]}]}, FilterContext.build(now=NOW))
    assert [e.path for e in info.value.errors] == ["or[0].and[0].count"]


@pytest.mark.django_db
def test_total_takes_no_event(world):
    node = {"type": "event_attendance_duration", "event_id": world.id("W1"), "total": True,
            "operator": "gte", "value": 60}  # fmt: skip
    with pytest.raises(TreeInvalid) as info:
        clean_tree({"or": [{"and": [node]}]}, FilterContext.build(now=NOW))
    assert [e.path for e in info.value.errors] == ["or[0].and[0].total"]


# ---- Zoom filters ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"webinar_id": "81100000001"},
        {"webinar_id": 81100000002},
        {"webinar_name": {"operator": "contains", "value": "growth"}},
        {"duration": {"operator": "gte", "value": 1800}},
        {"duration_percent": {"operator": "lt", "value": 50}},
        {"webinar_id": "81100000001", "duration": {"operator": "gte", "value": 1800}},
    ],
)
@pytest.mark.parametrize("negate", [False, True])
def test_zoom_webinar_attendance(world, strategy, extra, negate):
    # rule G2: all conditions of one filter hold for the same participation; only Zoom events
    tree = {"or": [{"and": [{"type": "zoom_webinar_attendance", **extra, "negate": negate}]}]}

    def keep(p):
        if p["source"] != "zoom" or p["state"] != "ATTENDED":
            return False
        if "webinar_id" in extra and p["webinar_id"] != str(extra["webinar_id"]):
            return False
        if "webinar_name" in extra and "growth" not in p["name"].lower():
            return False
        if "duration" in extra and p["duration"] < 1800:
            return False
        return not ("duration_percent" in extra and not (p["percent"] < 50))

    positive = oracle_participations(world, keep)
    expected = everyone(world) - positive if negate else positive
    assert evaluate(tree, strategy) == expected


@pytest.mark.django_db
@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"webinar_id": "81100000002"},
        {"webinar_name": {"operator": "eq", "value": "GROWTH WEBINAR"}},
    ],
)
def test_zoom_webinar_registration(world, extra):
    tree = {"or": [{"and": [{"type": "zoom_webinar_registration", **extra}]}]}

    def keep(p):
        if p["source"] != "zoom" or p["state"] not in REGISTERED:
            return False
        if "webinar_id" in extra and p["webinar_id"] != extra["webinar_id"]:
            return False
        return not ("webinar_name" in extra and p["name"] != "Growth Webinar")

    assert evaluate(tree, "exists") == oracle_participations(world, keep)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("extra", "keep"),
    [
        ({}, lambda r: True),
        ({"topic": {"operator": "contains", "value": "deep"}}, lambda r: "Deep" in r["topic"]),
        ({"start_time": {"operator": "gte", "value": {"days_ago": 7}}},
         lambda r: r["at"] >= NOW - dt.timedelta(days=8)),
        ({"recording_url": {"operator": "ends_with", "value": "/abc"}},
         lambda r: r["url"].endswith("/abc")),
    ],
)  # fmt: skip
def test_zoom_recording_available(world, extra, keep):
    tree = {"or": [{"and": [{"type": "zoom_recording_available", **extra}]}]}
    expected = {r["contact"] for r in world.recordings if keep(r)}
    assert evaluate(tree, "exists") == expected
    assert expected


# ---- Trees ------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_or_of_and_groups_with_negation(world, strategy):
    # The example: attended W1 for >= 30 min OR (registered for W2 AND not attended W2)
    w1, w2 = world.id("W1"), world.id("W2")
    tree = {"or": [
        {"and": [{"type": "event_attendance_duration", "event_id": w1, "operator": "gte",
                  "value": 1800}]},
        {"and": [{"type": "event_registered", "event_id": w2},
                 {"type": "event_attended", "event_id": w2, "negate": True}]},
    ]}  # fmt: skip
    long_w1 = oracle_participations(
        world, lambda p: p["event"] == w1 and p["state"] == "ATTENDED" and p["duration"] >= 1800
    )
    reg_w2 = oracle_participations(world, lambda p: p["event"] == w2 and p["state"] in REGISTERED)
    att_w2 = oracle_participations(world, lambda p: p["event"] == w2 and p["state"] == "ATTENDED")
    expected = long_w1 | (reg_w2 - att_w2)
    assert evaluate(tree, strategy) == expected
    assert expected == {world.contacts[k].pk for k in ("ana", "ed")}


@pytest.mark.django_db
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_groups_mixing_properties_and_sets(world, strategy):
    w1 = world.id("W1")
    tree = {"or": [
        {"and": [{"type": "event_attended", "event_id": None},
                 {"type": "property", "property": "email", "operator": "ends_with",
                  "value": "@acme.com"}]},
        {"and": [{"type": "event_cancelled", "event_id": None},
                 {"type": "event_registered", "event_id": w1, "negate": True}]},
    ]}  # fmt: skip
    attended_any = oracle_participations(world, lambda p: p["state"] == "ATTENDED")
    acme = oracle_property(world, "email", "ends_with", "@acme.com")
    cancelled = oracle_participations(world, lambda p: p["state"] == "CANCELLED")
    reg_w1 = oracle_participations(world, lambda p: p["event"] == w1 and p["state"] in REGISTERED)
    expected = (attended_any & acme) | (cancelled - reg_w1)
    assert evaluate(tree, strategy) == expected


@pytest.mark.django_db
def test_a_group_without_positive_set_matches_people_without_activity(world):
    tree = {"or": [
        {"and": [{"type": "event_attended", "event_id": world.id("W1")}]},
        {"and": [{"type": "event_registered", "event_id": None, "negate": True}]},
    ]}  # fmt: skip
    registered_any = oracle_participations(world, lambda p: p["state"] in REGISTERED)
    attended_w1 = oracle_participations(
        world, lambda p: p["event"] == world.id("W1") and p["state"] == "ATTENDED"
    )
    assert evaluate(tree, "exists") == attended_w1 | (everyone(world) - registered_any)


@pytest.mark.django_db
def test_empty_or_matches_no_one(world):
    assert evaluate({"or": []}, "exists") == set()


@pytest.mark.django_db
def test_one_query_whatever_the_tree(world, django_assert_num_queries):
    # rule G4: the tree is one statement; contacts are never loaded to be filtered
    ctx = FilterContext.build(now=NOW)
    tree = clean_tree(
        {"or": [
            {"and": [{"type": "event_attended", "event_id": world.id("W1")},
                     {"type": "property", "property": "score", "operator": "gt", "value": 1}]},
            {"and": [{"type": "zoom_webinar_registration", "webinar_id": "81100000002"},
                     {"type": "zoom_recording_available", "negate": True}]},
        ]},
        ctx,
    )  # fmt: skip
    with django_assert_num_queries(1):
        matching_contacts(tree, ctx).count()


# ---- Choosing the query shape ---------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_narrow_sets_with_broad_ones_in_the_same_group(world, strategy):
    # The set form combines only the narrow sets (one event) and tests broad ones ("any
    # event") and properties on those candidates: same rows as every other shape
    w1, w2 = world.id("W1"), world.id("W2")
    tree = {"or": [
        {"and": [{"type": "event_attended", "event_id": w1},
                 {"type": "event_attended", "event_id": None},
                 {"type": "event_cancelled", "event_id": None, "negate": True}]},
        {"and": [{"type": "event_registered", "event_id": w2},
                 {"type": "property", "property": "email", "operator": "ends_with",
                  "value": "@beta.io"}]},
    ]}  # fmt: skip
    attended_w1 = oracle_participations(
        world, lambda p: p["event"] == w1 and p["state"] == "ATTENDED"
    )
    cancelled_any = oracle_participations(world, lambda p: p["state"] == "CANCELLED")
    reg_w2 = oracle_participations(world, lambda p: p["event"] == w2 and p["state"] in REGISTERED)
    beta = oracle_property(world, "email", "ends_with", "@beta.io")
    expected = (attended_w1 - cancelled_any) | (reg_w2 & beta)
    assert evaluate(tree, strategy) == expected
    assert expected == {world.contacts[k].pk for k in ("ana", "fay", "ed")}


def _conditions(*groups, rollups=False):
    ctx = FilterContext(now=NOW, specs={}, check_references=False, rollups=rollups)
    return tree_conditions({"or": [{"and": list(group)} for group in groups]}, ctx)


ATTENDED_ONE = {"type": "event_attended", "event_id": 7, "negate": False}
ATTENDED_ANY = {"type": "event_attended", "event_id": None, "negate": False}
NOT_ATTENDED_ONE = {**ATTENDED_ONE, "negate": True}
DURATION_ONE = {"type": "event_attendance_duration", "event_id": 7, "operator": "gte",
                "value": 1800, "negate": False}  # fmt: skip
WEBINAR_ONE = {"type": "zoom_webinar_attendance", "webinar_id": "81100000001", "negate": False}
WEBINAR_NAMED = {"type": "zoom_webinar_registration", "negate": False,
                 "webinar_name": {"operator": "contains", "value": "growth"}}  # fmt: skip
RECORDING = {"type": "zoom_recording_available", "negate": False}


@pytest.mark.parametrize(
    ("node", "narrow"),
    [
        (ATTENDED_ONE, True),
        (NOT_ATTENDED_ONE, True),
        (ATTENDED_ANY, False),
        (DURATION_ONE, True),
        ({**DURATION_ONE, "event_id": None}, False),
        (WEBINAR_ONE, True),
        (WEBINAR_NAMED, False),
        (RECORDING, False),
    ],
)
def test_filters_say_whether_their_set_is_narrow(node, narrow):
    # One event's (one webinar's) participations stay few however large the database grows
    ((condition,),) = _conditions([node])
    assert condition.is_set
    assert condition.narrow is narrow


@pytest.mark.parametrize(
    ("node", "rollup", "negate"),
    [
        (ATTENDED_ANY, 'events_attended" > 0', False),
        ({**ATTENDED_ANY, "negate": True}, 'events_attended" > 0', True),
        ({**ATTENDED_ANY, "type": "event_registered"}, 'events_registered" > 0', False),
        (
            {**ATTENDED_ANY, "type": "event_cancelled", "negate": True},
            'events_cancelled" > 0',
            True,
        ),
        ({**DURATION_ONE, "event_id": None, "total": True}, 'attended_seconds" >= 1800', False),
        # 0 seconds match "< 60": the rows that do not match, negated (someone without a row)
        (
            {**DURATION_ONE, "event_id": None, "total": True, "operator": "lt", "value": 60},
            'attended_seconds" < 60)',
            True,
        ),
        (ATTENDED_ONE, None, False),  # one event: its participations, not a rollup
        ({**DURATION_ONE, "event_id": None}, None, False),  # some one event's duration: likewise
    ],
)
def test_rollups_answer_the_any_event_filters_from_their_own_table(node, rollup, negate):
    # issue 21: "attended any event" reads the contacts' rollups (a narrow table with partial
    # indexes), not 5M participations, and not a column of the contact row
    ((condition,),) = _conditions([node], rollups=True)
    assert condition.is_set
    table = condition.ids.model._meta.db_table
    if rollup is None:
        assert table == "marketing_events_participation"
        return
    assert table == "marketing_events_contactactivity" and not condition.narrow
    assert rollup in str(condition.ids.query)
    assert condition.negate is negate


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        # the (b): every group anchored by one event -> set operations
        ([[ATTENDED_ONE], [ATTENDED_ONE, NOT_ATTENDED_ONE]], "sets"),
        # one group with a negation: EXCEPT reads two events' rows, not every contact
        ([[ATTENDED_ONE, NOT_ATTENDED_ONE]], "sets"),
        # broad sets alongside a narrow anchor are tested per candidate, still sets
        ([[ATTENDED_ONE, ATTENDED_ANY]], "sets"),
        # a group anchored only by "any event" would be built whole before a page is cut
        ([[ATTENDED_ONE], [ATTENDED_ANY]], "exists"),
        ([[ATTENDED_ANY]], "exists"),
        # a group without a positive set can match contacts with no activity
        ([[ATTENDED_ONE], [NOT_ATTENDED_ONE]], "exists"),
        ([], "exists"),
    ],
)
def test_strategy_follows_the_narrowest_anchor_of_each_group(groups, expected):
    assert choose_strategy(_conditions(*groups), vendor="postgresql") == expected


def test_sqlite_always_gets_exists():
    groups = _conditions([ATTENDED_ONE], [ATTENDED_ONE, NOT_ATTENDED_ONE])
    assert choose_strategy(groups, vendor="sqlite") == "exists"


@pytest.mark.django_db
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_result_can_be_a_sub_query(world, strategy):
    # Workflows use the matching contacts inside another query, where Django renames the
    # contact table: the set form must not name it
    if strategy == "sets" and connection.vendor != "postgresql":
        pytest.skip("the set-operation shape is PostgreSQL's")
    ctx = FilterContext.build(now=NOW)
    tree = clean_tree(
        {"or": [{"and": [{"type": "event_attended", "event_id": world.id("W1")}]}]}, ctx
    )
    matching = matching_contacts(tree, ctx, strategy=strategy)
    outside = set(
        Contact.objects.exclude(pk__in=matching.values("pk")).values_list("pk", flat=True)
    )
    attended = {world.contacts[k].pk for k in ("ana", "bo", "fay")}
    assert outside == set(Contact.objects.values_list("pk", flat=True)) - attended


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the set shape is PostgreSQL's")
def test_the_set_form_finds_its_ids_by_primary_key(world):
    # A narrow set is built once and its ids looked up in order, so a members page stops
    # after one page of them (`id IN (set)` let PostgreSQL walk every contact in id order).
    ctx = FilterContext.build(now=NOW)
    tree = clean_tree(
        {"or": [{"and": [{"type": "event_attended", "event_id": world.id("W1")}]}]}, ctx
    )
    page = matching_contacts(tree, ctx, strategy="sets").order_by("pk")[:50]
    sql = str(page.query)
    assert '"crm_contact"."id" = ANY(ARRAY((SELECT' in sql
    assert {c.email for c in page} == {"ana@acme.com", "bo@beta.io", None}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("value", "rollups", "shape"),
    [
        # "@domain" is the stored e-mail domain (contact_live_domain_id_idx), anywhere
        ("@ACME.com", True, "email_domain"),
        # another ending, or rollups off: a prefix of the reversed e-mail on PostgreSQL
        ("cme.com", True, "REVERSE"),
        ("@ACME.com", False, "REVERSE"),
    ],
)
def test_email_ends_with_reads_an_index(world, value, rollups, shape):
    # A rare domain is found through an index instead of a full scan.
    if shape == "REVERSE" and connection.vendor != "postgresql":
        pytest.skip("the reversed-e-mail index is PostgreSQL's")
    ctx = FilterContext.build(now=NOW, rollups=rollups)
    tree = clean_tree(
        {"or": [{"and": [{"type": "property", "property": "email", "operator": "ends_with",
                          "value": value}]}]},
        ctx,
    )  # fmt: skip
    queryset = matching_contacts(tree, ctx)
    assert shape in str(queryset.query)
    index = {
        "REVERSE": "contact_email_reversed_idx",
        "email_domain": "contact_live_domain_id_idx",
    }
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [index[shape]])
            assert cursor.fetchone() == (1,)
    assert set(queryset.values_list("pk", flat=True)) == oracle_property(
        world, "email", "ends_with", value
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("email", "domain"),
    [
        ("ana@acme.com", "acme.com"),
        ('"a@b"@mail.example.org', "mail.example.org"),  # after the last "@"
        ("no-at-sign", None),
        (None, None),
    ],
)
def test_the_database_keeps_the_email_domain(email, domain):
    contact = Contact.objects.create(email=email)
    assert Contact.objects.values_list("email_domain", flat=True).get(pk=contact.pk) == domain


ANY = {"event_id": None, "negate": False}
KEYED_COUNTS = [
    ([{"type": "event_attended", **ANY}], True),
    ([{"type": "event_attendance_duration", **ANY, "total": True, "operator": "gte",
       "value": 1800}], True),
    ([{"type": "event_registered", **ANY}, {"type": "event_attended", **ANY, "negate": True}],
     True),
    ([{"type": "event_attended", **ANY, "count": {"operator": "gte", "value": 2}}], True),
    ([{"type": "event_cancelled", **ANY}, {"type": "event_registered", **ANY}], True),
    # all negated: contacts without a row match too, the contacts' query counts them
    ([{"type": "event_attended", **ANY, "negate": True}], False),
    ([{"type": "event_attended", **ANY, "count": {"operator": "eq", "value": 0}}], False),
    # a condition on the contact row, or a set of another table: the contacts' query
    ([{"type": "event_attended", **ANY},
      {"type": "property", "property": "email", "operator": "ends_with", "value": "@acme.com"}],
     False),
    ([{"type": "event_attended", **ANY}, {"type": "event_attended", "event_id": "W1",
                                          "negate": False}], False),
]  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize(("nodes", "keyed"), KEYED_COUNTS)
def test_counts_read_the_rollups_alone_when_they_answer_the_tree(world, nodes, keyed):
    # issue 21: one group of rollup sets is counted on the rollup rows, the archived contacts
    # left out (Zed, archived, attended and has a row): the same number as the contacts'
    # query with rollups and without (the participations, which the oracle tests check).
    assert ContactActivity.objects.filter(contact=world.archived, events_attended__gt=0).exists()
    ids = {"W1": world.events["W1"].pk}
    nodes = [{**n, "event_id": ids.get(n["event_id"], n["event_id"])} if "event_id" in n else n
             for n in nodes]  # fmt: skip
    ctx = FilterContext.build(now=NOW)
    tree = clean_tree({"or": [{"and": nodes}]}, ctx)
    query = count_query(tree, ctx)
    assert (query.model is ContactActivity) is keyed
    expected = len(evaluate(tree, "exists-tables"))
    assert matching_count(tree, ctx) == query.count() == expected
    assert expected == matching_contacts(tree, ctx).count()


@pytest.mark.django_db
def test_two_groups_are_counted_on_the_contacts(world):
    ctx = FilterContext.build(now=NOW)
    tree = clean_tree(
        {"or": [{"and": [{"type": "event_attended", **ANY}]},
                {"and": [{"type": "event_cancelled", **ANY}]}]},
        ctx,
    )  # fmt: skip
    assert count_query(tree, ctx).model is Contact
    assert matching_count(tree, ctx) == len(evaluate(tree, "exists-tables"))


@pytest.mark.django_db
@pytest.mark.parametrize(("nodes", "keyed"), KEYED_COUNTS)
def test_pages_test_rollup_sets_contact_by_contact(world, nodes, keyed):
    # issue 21: a page by id probes each contact's rollup row (a sub-plan PostgreSQL keeps
    # per row: a merge join would read the rollup table from its first row however deep the
    # page starts); the same members as the joined shape and as the participations say.
    ids = {"W1": world.events["W1"].pk}
    nodes = [{**n, "event_id": ids.get(n["event_id"], n["event_id"])} if "event_id" in n else n
             for n in nodes]  # fmt: skip
    ctx = FilterContext.build(now=NOW)
    tree = clean_tree({"or": [{"and": nodes}]}, ctx)
    paged = matching_contacts(tree, ctx, per_contact=True)
    members = set(paged.values_list("pk", flat=True))
    assert members == set(matching_contacts(tree, ctx).values_list("pk", flat=True))
    assert members == evaluate(tree, "exists-tables")
    after = min(members, default=0)
    assert [c.pk for c in paged.filter(pk__gt=after).order_by("pk")] == sorted(
        pk for pk in members if pk > after
    )
    if connection.vendor == "postgresql":
        # (the set shape, anchored by one event, tests the rest on those few candidates)
        contact_driven = choose_strategy(tree_conditions(tree, ctx)) == "exists"
        assert ("OFFSET 0" in str(paged.query)) is contact_driven
        assert contact_driven is not any(n.get("event_id") == ids["W1"] for n in nodes)


@pytest.mark.django_db
def test_a_count_runs_with_the_parallel_workers_settings_give_it(world, settings):
    # issue 21: on a small machine a parallel plan waits for its workers; the segment count
    # sets max_parallel_workers_per_gather for its own statement only (SET LOCAL).
    ctx = FilterContext.build(now=NOW)
    tree = clean_tree({"or": [{"and": [{"type": "event_attended", **ANY}]}]}, ctx)
    expected = len(evaluate(tree, "exists-tables"))
    settings.SEGMENT_COUNT_PARALLEL_WORKERS = 0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET max_parallel_workers_per_gather = 3")
    with CaptureQueriesContext(connection) as queries:
        assert matching_count(tree, ctx) == expected
    sets = [q["sql"] for q in queries if "max_parallel_workers_per_gather" in q["sql"]]
    if connection.vendor == "postgresql":
        assert len(sets) == 2  # set for the count, set back after it
        assert "current_setting" in sets[0] and "'0'" in sets[0]
        with connection.cursor() as cursor:  # for that statement only
            cursor.execute("SHOW max_parallel_workers_per_gather")
            assert cursor.fetchone()[0] == "3"
    else:
        assert sets == []
    settings.SEGMENT_COUNT_PARALLEL_WORKERS = None
    settings.SEGMENT_COUNT_WORK_MEM = None
    with CaptureQueriesContext(connection) as queries:
        assert matching_count(tree, ctx) == expected
    assert not [q for q in queries if "max_parallel_workers_per_gather" in q["sql"]]


@pytest.mark.django_db
def test_a_count_runs_with_the_memory_settings_give_it(world, settings):
    # issue 21: a bitmap of the matches larger than work_mem turns lossy and every row of its
    # pages is tested again; a segment count sets work_mem for its own statement only.
    ctx = FilterContext.build(now=NOW)
    tree = clean_tree({"or": [{"and": [{"type": "event_attended", **ANY}]}]}, ctx)
    settings.SEGMENT_COUNT_PARALLEL_WORKERS = None
    settings.SEGMENT_COUNT_WORK_MEM = "64MB"
    if connection.vendor != "postgresql":
        with CaptureQueriesContext(connection) as queries:
            assert matching_count(tree, ctx) == len(evaluate(tree, "exists-tables"))
        assert not [q for q in queries if "work_mem" in q["sql"]]
        return
    with connection.cursor() as cursor:
        cursor.execute("SET work_mem = '4MB'")
    seen = []

    def spy(execute, sql, params, many, context):
        if "count(" in sql.lower() and "work_mem" not in sql:
            with connection.cursor() as cursor:
                cursor.execute("SHOW work_mem")
                seen.append(cursor.fetchone()[0])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        assert matching_count(tree, ctx) == len(evaluate(tree, "exists-tables"))
    assert seen == ["64MB"]  # during the count
    with connection.cursor() as cursor:  # and set back after it
        cursor.execute("SHOW work_mem")
        assert cursor.fetchone()[0] == "4MB"


ONE_EVENT_COUNTS = [
    {"type": "event_attended", "event_id": "W1"},
    {"type": "event_registered", "event_id": "W1"},
    {"type": "event_cancelled", "event_id": "E3"},
    {"type": "event_attendance_duration", "event_id": "W1", "operator": "gte", "value": 1800},
]


@pytest.mark.django_db
@pytest.mark.parametrize("node", ONE_EVENT_COUNTS)
def test_one_events_set_is_counted_on_its_participations(world, node):
    # issue 21: one event's participations name each contact once, so a tree of that one set
    # is counted on them, the archived contacts left out by an anti-join with their own index
    # (Zed, archived, attended W1 for 4,000 s): no contact row read per member.
    node = {**node, "event_id": world.events[node["event_id"]].pk}
    ctx = FilterContext.build(now=NOW)
    tree = clean_tree({"or": [{"and": [node]}]}, ctx)
    query = count_query(tree, ctx)
    assert query.model is Participation
    expected = len(evaluate(tree, "exists-tables"))
    assert matching_count(tree, ctx) == query.count() == expected
    assert expected == matching_contacts(tree, ctx).count()
    in_w1 = Participation.objects.filter(event=world.events["W1"], contact=world.archived)
    assert in_w1.exists()


@pytest.mark.django_db
def test_a_negated_or_combined_event_set_is_counted_on_the_contacts(world):
    ctx = FilterContext.build(now=NOW)
    w1 = world.events["W1"].pk
    for nodes in (
        [{"type": "event_attended", "event_id": w1, "negate": True}],
        [{"type": "event_attended", "event_id": w1},
         {"type": "property", "property": "email", "operator": "ends_with", "value": "@acme.com"}],
    ):  # fmt: skip
        tree = clean_tree({"or": [{"and": nodes}]}, ctx)
        assert count_query(tree, ctx).model is Contact
        assert matching_count(tree, ctx) == len(evaluate(tree, "exists-tables"))
