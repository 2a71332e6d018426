"""Engagement over real HTTP against the sandbox (rules E6-E8): a generated scenario syncs and
the stored poll answers, questions, survey answers, recording views and scores equal what the
scenario implies (an oracle computed from the scenario's own state, without the CRM's code);
anonymous rows attach to no one; a re-run changes nothing; 429s on the Heavy reports and 5xx
converge to the state of a clean run."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from crm.models import Brand, Contact, TimelineEntry, TimelineEvent
from marketing_events.models import EventOccurrence, MarketingEvent, Participation
from zoom_integration.engagement import services as engagement_services
from zoom_integration.engagement.kinds import TIMELINE_KIND_OF
from zoom_integration.engagement.models import (
    EngagementAnswer,
    EngagementReport,
    ParticipationEngagement,
    RecordingView,
)
from zoom_integration.models import SyncRun, ZoomConnection, ZoomWebinar
from zoom_integration.services.connections import (
    connection_create_s2s,
    connection_settings_update,
)
from zoom_integration.services.sync import sync_run_execute, sync_run_request

pytestmark = pytest.mark.django_db
GENERATE = {"accounts": 1, "webinars": 8, "registrants": 40, "attendance": 0.6, "seed": 5}


def _time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture
def generated(zoom_sandbox):
    info = zoom_sandbox.post("/_sandbox/generate", json=GENERATE).json()
    zoom_sandbox.post("/_sandbox/settings", json={"rate_limits": False}).raise_for_status()
    return zoom_sandbox.get("/_sandbox/state").json(), _time(info["now"])


@pytest.fixture
def connection(generated, django_capture_on_commit_callbacks):
    account = generated[0]["accounts"][0]
    app = next(a for a in account["apps"] if a["type"] == "s2s")
    with django_capture_on_commit_callbacks(execute=True):
        connection = connection_create_s2s(
            brand=Brand.objects.create(name="Demo", is_primary=True),
            account_id=account["id"],
            client_id=app["client_id"],
            client_secret=app["client_secret"],
        )
    connection_settings_update(connection=connection, sync_webinar_data=True, recordings_sync="all")
    return connection


def run_sync(connection) -> SyncRun:
    run = sync_run_request(connection=ZoomConnection.objects.get(pk=connection.pk))
    return sync_run_execute(run_id=run.pk)


def oracle(state):
    """Answers, anonymous items and views the scenario implies (rules E6, E7)."""
    answers, anonymous, views = set(), defaultdict(int), defaultdict(list)
    anonymous_rows = 0
    for webinar in state["accounts"][0]["webinars"]:
        if webinar.get("zoom_events"):
            continue  # rule Z1
        wid = str(webinar["id"])
        for instance in webinar["instances"]:
            if instance.get("end_time") is None:
                continue
            uuid = instance["uuid"]
            survey = (instance.get("survey") or {}).get("answers", [])
            for kind, rows, items in (
                ("poll", instance.get("polls") or [], "question_details"),
                ("question", instance.get("qa") or [], "question_details"),
                ("survey", survey, "answer_details"),
            ):
                for row in rows:
                    if not row["email"]:
                        anonymous[kind] += len(row[items])
                        anonymous_rows += 1
                        continue
                    for item in row[items]:
                        answer = item.get("answer", "")
                        if kind == "question":
                            answer = "\n".join(a["content"] for a in item["answer_details"])
                        answers.add(
                            (
                                row["email"].strip().lower(),
                                wid,
                                uuid,
                                kind,
                                item["question"],
                                answer,
                            )
                        )
        for recording in webinar["recordings"]:
            for view in recording.get("views", []):
                views[(view["email"].strip().lower(), wid)].append(
                    (_time(view["date_time"]), view["duration"])
                )
    return answers, dict(anonymous), anonymous_rows, views


def stored_answers():
    return set(
        EngagementAnswer.objects.filter(participation__isnull=False).values_list(
            "participation__contact__email",
            "event__external_event_id",
            "occurrence__external_id",
            "kind",
            "question",
            "answer",
        )
    )


def world():
    return {
        "answers": sorted(
            EngagementAnswer.objects.values_list(
                "participation__contact__email",
                "occurrence__external_id",
                "kind",
                "question_id",
                "question",
                "answer",
                "status",
                "answered_at",
            ),
            key=str,
        ),
        "views": sorted(
            RecordingView.objects.values_list(
                "participation__contact__email", "occurrence__external_id", "viewed_at", "seconds"
            )
        ),
        "scores": sorted(
            ParticipationEngagement.objects.values_list(
                "participation__contact__email",
                "event__external_event_id",
                "score",
                "polls_answered",
                "questions_asked",
                "survey_answered",
                "recording_seconds",
            )
        ),
        "participations": sorted(
            Participation.objects.values_list(
                "contact__email", "event__external_event_id", "state", "duration_seconds"
            )
        ),
        "timeline": sorted(
            (email, kind, occurred_at, {k: v for k, v in data.items() if k != "event_id"})
            for email, kind, occurred_at, data in TimelineEntry.objects.exclude(
                kind="contact_created"
            ).values_list("contact__email", "kind", "occurred_at", "data")
        ),
        "contacts": sorted(Contact.objects.values_list("email", "properties"), key=str),
    }


def reset_crm():
    MarketingEvent.objects.all().delete()
    Contact.objects.all().delete()
    TimelineEvent.objects.all().delete()
    ZoomWebinar.objects.update(registrants_synced_at=None, participants_synced_at=None, event=None)


def test_stored_engagement_equals_what_the_scenario_implies(generated, connection):
    state, _now = generated
    run = run_sync(connection)
    assert run.status == "succeeded", run.errors
    answers, anonymous, anonymous_rows, views = oracle(state)
    assert len(answers) > 50 and views  # the scenario is not trivial
    # rule E6: every answer of a known person is attached to their participation...
    assert stored_answers() == answers
    # ...and anonymous ones are kept for the results, attached to no one, counted per report.
    stored_anonymous = defaultdict(int)
    for kind in EngagementAnswer.objects.filter(participation__isnull=True).values_list(
        "kind", flat=True
    ):
        stored_anonymous[kind] += 1
    assert dict(stored_anonymous) == anonymous
    assert run.counts["anonymous_answers"] == anonymous_rows
    assert sum(EngagementReport.objects.values_list("anonymous_count", flat=True)) == (
        anonymous_rows
    )
    assert "anonymous" not in str(run.skips)  # not skips
    # One timeline entry per contact, occurrence and kind, listing the items (read from the
    # answers: none is stored).
    per_entry = defaultdict(list)
    for email, _wid, uuid, kind, question, _answer in answers:
        per_entry[(email, uuid, TIMELINE_KIND_OF[kind])].append(question)
    entries = TimelineEntry.objects.filter(kind__in=TIMELINE_KIND_OF.values())
    assert not TimelineEvent.objects.filter(kind__in=TIMELINE_KIND_OF.values()).exists()
    assert {
        (email, data["occurrence"], kind): sorted(item["question"] for item in data["items"])
        for email, data, kind in entries.values_list("contact__email", "data", "kind")
    } == {key: sorted(questions) for key, questions in per_entry.items()}
    sample = entries.filter(kind="zoom_webinar_question_asked").first()
    assert set(sample.data["items"][0]) == {"question", "answer", "status"}
    # rule E7: views per viewer and webinar: first view and seconds watched.
    stored = {
        (email, wid): (first, seconds)
        for email, wid, first, seconds in ParticipationEngagement.objects.filter(
            recording_seconds__gt=0
        ).values_list(
            "participation__contact__email",
            "event__external_event_id",
            "recording_first_viewed_at",
            "recording_seconds",
        )
    }
    expected_views = {
        key: (min(t for t, _ in rows), sum(s for _, s in rows)) for key, rows in views.items()
    }
    assert stored == expected_views
    # Viewers who never registered get a state-less participation.
    registered = {
        (r["email"].strip().lower(), str(w["id"]))
        for w in state["accounts"][0]["webinars"]
        for r in w["registrants"]
    }
    viewers_only = {key for key in views if key not in registered}
    assert viewers_only
    assert {
        (e, w)
        for e, w in Participation.objects.filter(state="VIEWED_RECORDING").values_list(
            "contact__email", "event__external_event_id"
        )
    } == viewers_only
    # rule E8: every participation has a score, whose parts add up to it.
    assert ParticipationEngagement.objects.count() == Participation.objects.count()
    for score, parts in ParticipationEngagement.objects.values_list("score", "parts"):
        assert 0 <= score <= 100 and sum(parts.values()) == score
    assert ParticipationEngagement.objects.filter(score__gt=50).exists()
    assert Contact.objects.filter(properties__has_key="zoom_engagement_score").count() == (
        Contact.objects.filter(participations__isnull=False).distinct().count()
    )


def test_second_run_changes_nothing(connection):
    assert run_sync(connection).status == "succeeded"
    before = world()
    second = run_sync(connection)
    assert second.status == "succeeded"
    assert world() == before
    # Unchanged reports write nothing (their digests match).
    assert second.counts.get("engagement_reports_unchanged", 0) > 0
    assert second.counts.get("poll_answers", 0) == 0


def test_reports_read_in_parts_store_what_one_part_stores(connection, monkeypatch):  # rule E6
    # A large report is read as a stream and written part by part (the worker's memory holds
    # one part): every report here, in parts of 3 answers, so people's rows and their
    # timeline items span parts.
    from zoom_integration.engagement import pull

    assert run_sync(connection).status == "succeeded"
    whole = world()
    assert len(whole["answers"]) > 50
    reset_crm()
    EngagementReport.objects.all().delete()
    monkeypatch.setattr(pull, "REPORT_PART", 3)
    monkeypatch.setattr(pull, "REPORT_WHOLE_BYTES", 0)  # every report parsed row by row
    assert run_sync(connection).status == "succeeded"
    assert world() == whole


def test_a_report_whose_connection_drops_is_read_again(zoom_sandbox, connection):
    # And one whose access token expired on the way: renewed, the call made again once.
    assert run_sync(connection).status == "succeeded"
    clean = world()
    reset_crm()
    EngagementReport.objects.all().delete()
    zoom_sandbox.delete("/_sandbox/requests")
    zoom_sandbox.post(
        "/_sandbox/faults",
        json={
            "rules": [
                {"path": r"/past_webinars/.+/polls$", "drop_connection": True, "times": 2},
                {"path": r"/report/webinars/.+/qa$", "expire_token": True, "times": 1},
            ]
        },
    ).raise_for_status()
    run = run_sync(connection)
    assert run.status == "succeeded", run.errors
    assert world() == clean
    log = zoom_sandbox.get("/_sandbox/requests").json()["requests"]
    assert {e["fault"] for e in log if e.get("fault")} == {"drop_connection", "expire_token"}


@pytest.mark.parametrize("whole_bytes", [0, 1 << 20], ids=["row by row", "whole"])
def test_a_report_that_is_not_json_is_a_transient_error(whole_bytes, monkeypatch):
    import io

    from zoom_integration.client import ZoomTransientError
    from zoom_integration.engagement import pull

    monkeypatch.setattr(pull, "REPORT_WHOLE_BYTES", whole_bytes)

    def records(raw: bytes) -> list:
        found, _streamed = pull._records("polls", io.BytesIO(raw))
        return list(found)

    with pytest.raises(ZoomTransientError):
        records(b'{"questions": [{"email": "a@x.io", "quest')
    assert records(b"") == []  # no body: no records
    rows = (
        b'{"questions": [{"email": "a@x.io", "name": "A", "question_details": '
        b'[{"question": "Q", "answer": "Yes", "polling_id": "p1"}]}]}'
    )
    (record,) = records(rows)
    assert (record.email, record.question, record.answer) == ("a@x.io", "Q", "Yes")


def test_heavy_429_and_5xx_converge_to_a_clean_run(zoom_sandbox, connection):
    assert run_sync(connection).status == "succeeded"
    clean = world()
    reset_crm()
    EngagementReport.objects.all().delete()
    zoom_sandbox.post(
        "/_sandbox/faults",
        json={
            "rules": [
                {"path": r"/report/webinars/.+/qa$", "status": 429, "retry_after": 1, "times": 2},
                {"path": r"/report/webinars/.+/survey$", "status": 503, "times": 2},
                {"path": r"/past_webinars/.+/polls$", "status": 502, "times": 1},
                {"path": r"/analytics_details$", "status": 503, "times": 2},
            ]
        },
    ).raise_for_status()
    run = run_sync(connection)
    assert run.status == "succeeded", run.errors
    assert world() == clean
    log = zoom_sandbox.get("/_sandbox/requests").json()["requests"]
    assert {e["status"] for e in log if e.get("fault")} == {429, 502, 503}


def test_a_report_that_changes_is_replaced(zoom_sandbox, connection, generated, monkeypatch):
    """A report read again with other answers replaces the stored ones (no duplicates)."""
    from zoom_integration.engagement import pull

    # The generated webinars ended days ago: their reports count as final once read. Here they
    # still settle, so the next run reads them again.
    monkeypatch.setattr(pull, "SETTLING", dt.timedelta(days=365))
    state, _now = generated
    assert run_sync(connection).status == "succeeded"
    webinar = next(
        w
        for w in state["accounts"][0]["webinars"]
        if any(i.get("polls") for i in w["instances"]) and not w.get("zoom_events")
    )
    instance = next(i for i in webinar["instances"] if i.get("polls"))
    row = next(r for r in instance["polls"] if r["email"])
    row["question_details"][0]["answer"] = "Changed my mind"
    # Someone else's answers leave the report: their timeline entry for it goes too.
    gone = next(
        r
        for r in instance["polls"]
        if r["email"] and r["email"].strip().lower() != row["email"].strip().lower()
    )
    gone_email = gone["email"].strip().lower()
    removed = sum(
        len(r["question_details"])
        for r in instance["polls"]
        if (r["email"] or "").strip().lower() == gone_email
    )
    instance["polls"] = [
        r for r in instance["polls"] if (r["email"] or "").strip().lower() != gone_email
    ]
    occurrence = EventOccurrence.objects.get(external_id=instance["uuid"])
    entries = TimelineEntry.objects.filter(
        kind="zoom_webinar_poll_answered", data__occurrence=occurrence.external_id
    )
    gone_entries = entries.filter(contact__email=gone_email)
    assert gone_entries.exists()
    kept_entries = entries.exclude(contact__email=gone_email)
    kept = kept_entries.count()
    zoom_sandbox.post("/_sandbox/scenario", json=state).raise_for_status()
    zoom_sandbox.post("/_sandbox/settings", json={"rate_limits": False}).raise_for_status()
    polls_before = EngagementAnswer.objects.filter(kind="poll").count()
    ZoomWebinar.objects.update(participants_synced_at=None)  # its report is due again
    assert run_sync(connection).status == "succeeded"
    assert EngagementAnswer.objects.filter(kind="poll").count() == polls_before - removed
    assert not gone_entries.exists()
    assert kept_entries.count() == kept
    assert EngagementAnswer.objects.filter(
        kind="poll",
        answer="Changed my mind",
        participation__contact__email=row["email"].strip().lower(),
    ).exists()


def test_answers_of_someone_not_yet_a_participant_attach_once_they_are(
    zoom_sandbox, connection, generated, monkeypatch
):  # rule E6
    """Zoom's participants report can lag behind its polls: an answer of a person with no
    participation in the event is counted, not attached, and the same report read again once
    the person is a participant attaches it (the report's digest is not kept meanwhile)."""
    import copy

    from zoom_integration.engagement import pull

    monkeypatch.setattr(pull, "SETTLING", dt.timedelta(days=365))  # the reports still settle
    state, _now = generated
    webinar = next(
        w
        for w in state["accounts"][0]["webinars"]
        if len(w["instances"]) == 1 and w["instances"][0].get("polls") and not w.get("zoom_events")
    )
    instance = webinar["instances"][0]
    row = next(r for r in instance["polls"] if r["email"])
    email = row["email"].strip().lower()
    full = copy.deepcopy(state)

    def other(entry, key):
        return (entry.get(key) or "").strip().lower() != email

    webinar["registrants"] = [r for r in webinar["registrants"] if other(r, "email")]
    instance["participants"] = [p for p in instance["participants"] if other(p, "user_email")]
    zoom_sandbox.post("/_sandbox/scenario", json=state).raise_for_status()
    zoom_sandbox.post("/_sandbox/settings", json={"rate_limits": False}).raise_for_status()
    run = run_sync(connection)
    assert run.status == "succeeded"
    assert run.counts.get("engagement_unmatched", 0) >= len(row["question_details"])
    theirs = EngagementAnswer.objects.filter(
        kind="poll", occurrence__external_id=instance["uuid"]
    ).filter(participation__contact__email=email)
    assert not theirs.exists()

    # The participants report catches up; the polls report says the same as before.
    zoom_sandbox.post("/_sandbox/scenario", json=full).raise_for_status()
    zoom_sandbox.post("/_sandbox/settings", json={"rate_limits": False}).raise_for_status()
    ZoomWebinar.objects.update(registrants_synced_at=None, participants_synced_at=None)
    assert run_sync(connection).status == "succeeded"
    assert theirs.count() == len(row["question_details"])
    # Complete now: a third read of the same report writes nothing.
    ZoomWebinar.objects.update(participants_synced_at=None)
    third = run_sync(connection)
    assert third.counts.get("engagement_reports_unchanged", 0) >= 1
    assert theirs.count() == len(row["question_details"])


@pytest.mark.parametrize("registrants", [10, 150])
def test_queries_per_report_do_not_grow_with_its_rows(
    zoom_sandbox, registrants, monkeypatch, django_capture_on_commit_callbacks
):
    zoom_sandbox.post(
        "/_sandbox/generate", json={**GENERATE, "webinars": 3, "registrants": registrants}
    ).raise_for_status()
    zoom_sandbox.post("/_sandbox/settings", json={"rate_limits": False}).raise_for_status()
    account = zoom_sandbox.get("/_sandbox/state").json()["accounts"][0]
    app = next(a for a in account["apps"] if a["type"] == "s2s")
    with django_capture_on_commit_callbacks(execute=True):
        connection = connection_create_s2s(
            brand=Brand.objects.create(name="B", is_primary=True),
            account_id=account["id"],
            client_id=app["client_id"],
            client_secret=app["client_secret"],
        )
    connection_settings_update(connection=connection, sync_webinar_data=True, recordings_sync="all")
    per_call: dict[str, list[int]] = defaultdict(list)
    from zoom_integration.engagement import pull

    monkeypatch.setattr(pull, "REPORT_PART", 40)  # the larger reports come in several parts
    for name in ("answers_chunk_apply", "views_apply"):
        real = getattr(engagement_services, name)

        def counting(*args, _real=real, _name=name, **kwargs):
            with CaptureQueriesContext(db_connection) as queries:
                result = _real(*args, **kwargs)
            per_call[_name].append(len(queries))
            return result

        monkeypatch.setattr(pull, name, counting)
    assert run_sync(connection).status == "succeeded"
    assert per_call["answers_chunk_apply"] and per_call["views_apply"]
    assert max(per_call["answers_chunk_apply"]) <= 12, per_call
    assert max(per_call["views_apply"]) <= 16, per_call  # SQLite: 14 (contacts_ensure ORM path)
