"""The engagement pull's pure core and the score, without a database (rules E6-E8)."""

from __future__ import annotations

import datetime as dt

import pytest

from marketing_events.rules import ContactRef, CrmSnapshot
from zoom_integration.engagement.planner import (
    answer_records,
    digest,
    plan_answers,
    plan_views,
    view_records,
)
from zoom_integration.engagement.score import (
    Facts,
    WeightsInvalid,
    clean_weights,
    engagement_score,
)
from zoom_integration.sync.planner import SyncSettings
from zoom_integration.sync.records import WebinarInfo

WEBINAR = WebinarInfo(zoom_webinar_id=81, topic="Launch", event_id=7)
WEIGHTS = {"attendance": 50, "questions": 15, "polls": 15, "survey": 10, "recording": 10}
POLLS = {
    "questions": [
        {
            "email": " Ana@Example.com",
            "name": "Ana Silva",
            "question_details": [
                {
                    "polling_id": "p1",
                    "question": "When?",
                    "answer": "This quarter",
                    "date_time": "2026-11-01T10:20:00Z",
                }
            ],
        },
        {
            "email": "",
            "name": "Anonymous Attendee",
            "question_details": [
                {"polling_id": "p1", "question": "When?", "answer": "Later"},
                {"polling_id": "p2", "question": "Plan?", "answer": "Pro"},
            ],
        },
        {"email": "user@crm.test", "name": "Crm User", "question_details": [{"answer": "x"}]},
        {"email": "gone@example.com", "name": "Gone", "question_details": [{"answer": "y"}]},
        {"email": "new@example.com", "name": "New Person", "question_details": [{"answer": "z"}]},
    ]
}
SNAPSHOT = CrmSnapshot(
    contacts={"ana@example.com": ContactRef(id=1)},
    tombstones=frozenset({"gone@example.com"}),
    crm_user_emails=frozenset({"user@crm.test"}),
)


def test_answers_attach_to_participations_and_anonymous_to_no_one():
    # rule E6: anonymous rows are counted and attached to no one; person rules as for
    # participants (Z4 CRM user, Z6 deleted contact) give skips with their reasons.
    plan = plan_answers(WEBINAR, answer_records("polls", POLLS), SNAPSHOT, SyncSettings(), {1: 70})
    attached = [(a.participation_id, a.record.answer) for a in plan.answers]
    assert attached == [(70, "This quarter"), (None, "Later"), (None, "Pro")]
    assert plan.anonymous_rows == 1  # one anonymous person (row), two answers
    assert sorted((s.reason, s.email) for s in plan.skips) == [
        ("crm_user", "user@crm.test"),
        ("deleted_contact", "gone@example.com"),
    ]
    assert plan.unmatched == 1  # a new person with no participation: not attached


def test_qa_records_keep_status_and_answers():
    body = {
        "questions": [
            {
                "email": "ana@example.com",
                "name": "Ana",
                "question_details": [
                    {
                        "question_id": "q1",
                        "question": "SSO?",
                        "question_status": "answered",
                        "create_time": "2026-11-01T10:25:00Z",
                        "answer_details": [
                            {"name": "Olga", "content": "Yes"},
                            {"name": "Olga", "content": "Since v2"},
                        ],
                    }
                ],
            }
        ]
    }
    (record,) = answer_records("qa", body)
    assert (record.kind, record.status, record.answer, record.answered_by) == (
        "question",
        "answered",
        "Yes\nSince v2",
        "Olga",
    )
    assert record.answered_at == dt.datetime(2026, 11, 1, 10, 25, tzinfo=dt.UTC)


def test_survey_records_and_empty_shapes():
    body = {
        "survey_answers": [
            {"email": "a@x.io", "name": "A", "answer_details": [{"question": "Q", "answer": "5"}]}
        ]
    }
    assert [(r.kind, r.answer) for r in answer_records("survey", body)] == [("survey", "5")]
    assert answer_records("survey", {"survey_answers": []}) == []
    assert answer_records("polls", None) == []


def test_digest_ignores_row_order_and_sees_changes():
    records = answer_records("polls", POLLS)
    assert digest(records) == digest(list(reversed(records)))
    changed = {"questions": [dict(POLLS["questions"][0], name="Ana S.")]}
    assert digest(answer_records("polls", changed)) != digest(
        answer_records("polls", {"questions": [POLLS["questions"][0]]})
    )


def test_viewers_go_through_the_person_rules():
    # rule E7: a viewer who may be created is; refused ones are skips (Z9).
    rows = [
        {"email": "ana@example.com", "name": "Ana", "date_time": "2026-11-02T09:00:00Z"},
        {"email": "New@Example.com ", "name": "Nia Novak", "date_time": "2026-11-02T09:00:00Z"},
        {"email": "gone@example.com", "name": "Gone", "date_time": "2026-11-02T09:00:00Z"},
        {"email": "", "name": "", "date_time": "2026-11-02T09:00:00Z", "duration": 5},
        {"email": "x@example.com", "name": "No time"},
    ]
    rows[0]["duration"] = 600
    plan = plan_views(WEBINAR, view_records(rows), SNAPSHOT, SyncSettings())
    assert [(email, v.seconds) for email, v in plan.views] == [
        ("ana@example.com", 600),
        ("new@example.com", 0),
    ]
    assert plan.contact_ids == {"ana@example.com": 1}
    assert [(c.email, c.first_name, c.last_name) for c in plan.new_contacts] == [
        ("new@example.com", "Nia", "Novak")
    ]
    assert [s.reason for s in plan.skips] == ["deleted_contact"]
    assert plan.anonymous == 1


def test_contact_exclusion_domain_blocks_new_viewers_only():
    # rule Z7 applies to viewers as to participants
    rows = [{"email": "bo@blocked.test", "name": "Bo", "date_time": "2026-11-02T09:00:00Z"}]
    plan = plan_views(
        WEBINAR,
        view_records(rows),
        CrmSnapshot(),
        SyncSettings(contact_exclusion_domains=("blocked.test",)),
    )
    assert plan.views == [] and [s.reason for s in plan.skips] == ["contact_exclusion_domain"]


@pytest.mark.parametrize(
    ("facts", "score", "parts"),
    [
        (Facts(), 0, {"attendance": 0, "questions": 0, "polls": 0, "survey": 0, "recording": 0}),
        (
            Facts(
                attendance_percent=100,
                questions_asked=3,
                polls_answered=2,
                poll_questions=2,
                survey_answered=True,
                recording_seconds=7200,
                length_seconds=3600,
            ),
            100,
            WEIGHTS,
        ),
        (
            Facts(
                attendance_percent=58.3,
                questions_asked=1,
                polls_answered=1,
                poll_questions=3,
                recording_seconds=900,
                length_seconds=3600,
            ),
            # 29.15 → 29, 7.5 → 8, 5 → 5, 0, 2.5 → 3 (half up)
            45,
            {"attendance": 29, "questions": 8, "polls": 5, "survey": 0, "recording": 3},
        ),
    ],
)
def test_score_parts_add_up_to_the_score(facts, score, parts):
    # rule E8: parts in points, each at most its weight, adding up to the 0-100 score
    assert engagement_score(facts, WEIGHTS) == (score, parts)


def test_weights_change_the_parts():
    weights = {"attendance": 0, "questions": 0, "polls": 0, "survey": 100, "recording": 0}
    assert engagement_score(Facts(attendance_percent=100, survey_answered=True), weights) == (
        100,
        {"attendance": 0, "questions": 0, "polls": 0, "survey": 100, "recording": 0},
    )


@pytest.mark.parametrize(
    "weights",
    [
        {"attendance": 50, "questions": 15, "polls": 15, "survey": 10, "recording": 11},
        {"attendance": 50, "questions": 15, "polls": 15, "survey": 20},
        {"attendance": 50.0, "questions": 15, "polls": 15, "survey": 10, "recording": 10},
        {"attendance": -10, "questions": 35, "polls": 35, "survey": 30, "recording": 10},
        {"attendance": True, "questions": 49, "polls": 30, "survey": 10, "recording": 10},
        [50, 15, 15, 10, 10],
    ],
)
def test_bad_weights_are_refused(weights):
    # rule E8: the whole object, whole numbers, adding up to 100
    with pytest.raises(WeightsInvalid):
        clean_weights(weights)


def test_good_weights_are_kept():
    assert clean_weights(dict(WEIGHTS)) == WEIGHTS
