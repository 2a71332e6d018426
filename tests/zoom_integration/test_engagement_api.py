"""`GET|PUT /api/v1/zoom/engagement-weights/` (rule E8): defaults, validation (the whole object,
whole numbers adding up to 100; bad input changes nothing), super admins only, and a change
recomputes every score in the background with progress. Engagement filters as a workflow
trigger and as a segment over the API."""

from __future__ import annotations

import datetime as dt

import pytest

from crm.models import Account, Tier
from marketing_events.models import EventOccurrence, MarketingEvent, Participation
from zoom_integration.engagement.models import EngagementAnswer, ParticipationEngagement

pytestmark = pytest.mark.django_db
URL = "/api/v1/zoom/engagement-weights/"
DEFAULTS = {"attendance": 50, "questions": 15, "polls": 15, "survey": 10, "recording": 10}


def test_defaults(admin_api, viewer_api):
    assert admin_api.get(URL).json() == DEFAULTS
    assert viewer_api.get(URL).status_code in (200, 403)


@pytest.mark.parametrize(
    "body",
    [
        {**DEFAULTS, "recording": 11},
        {k: v for k, v in DEFAULTS.items() if k != "survey"},
        {**DEFAULTS, "extra": 0},
        {**DEFAULTS, "attendance": "50"},
        {**DEFAULTS, "attendance": 50.5, "survey": 9.5},
        [50, 15, 15, 10, 10],
        {},
    ],
)
def test_bad_weights_are_a_400_and_change_nothing(admin_api, body):
    answer = admin_api.put(URL, body, format="json")
    assert answer.status_code == 400, answer.content
    assert answer.json()["detail"]
    assert admin_api.get(URL).json() == DEFAULTS


def test_only_super_admins_change_them(marketer_api):
    answer = marketer_api.put(URL, {**DEFAULTS, "attendance": 40, "survey": 20}, format="json")
    assert answer.status_code == 403


def test_a_change_recomputes_every_score(admin_api, django_capture_on_commit_callbacks):
    from crm.models import Contact

    event = MarketingEvent.objects.create(
        source="zoom", external_account_id="a", external_event_id="81000000001", name="W"
    )
    occurrence = EventOccurrence.objects.create(event=event, external_id="u1")
    contact = Contact.objects.create(email="ana@example.com")
    participation = Participation.objects.create(
        contact=contact, event=event, state="ATTENDED", attendance_percent=100
    )
    EngagementAnswer.objects.create(
        event=event,
        occurrence=occurrence,
        participation=participation,
        kind="survey",
        question="Useful?",
        answer="5",
    )
    from zoom_integration.engagement.services import event_engagement_recompute

    event_engagement_recompute(event.pk)
    assert ParticipationEngagement.objects.get().score == 60  # 50 attendance + 10 survey
    weights = {"attendance": 0, "questions": 0, "polls": 0, "survey": 100, "recording": 0}
    with django_capture_on_commit_callbacks(execute=True):
        answer = admin_api.put(URL, weights, format="json")
    assert (answer.status_code, answer.json()) == (200, weights)
    engagement = ParticipationEngagement.objects.get()
    assert (engagement.score, engagement.parts["survey"]) == (100, 100)
    progress = admin_api.get(URL + "recompute/").json()
    assert progress == {"status": "idle", "done": 1, "total": 1}
    assert Contact.objects.get().properties["zoom_engagement_score"] == "100"


def test_engagement_filters_as_a_workflow_trigger_and_a_segment(admin_api):
    # "answered the buying-intent poll with 'this quarter'" as a trigger (rule E6, W1)
    Account.objects.update_or_create(pk=1, defaults={"tier": Tier.PROFESSIONAL})
    filters = {
        "or": [
            {
                "and": [
                    {
                        "type": "zoom_poll_answer",
                        "webinar_id": "81000000001",
                        "question": {"operator": "contains", "value": "buy"},
                        "answer": {"operator": "eq", "value": "This quarter"},
                    }
                ]
            }
        ]
    }
    workflow = admin_api.post(
        "/api/v1/workflows/",
        {
            "name": "Follow-up",
            "trigger": {"type": "filters", "filters": filters},
            "actions": [{"type": "zoom.add_contact_to_webinar", "webinar_id": "81000000002"}],
        },
        format="json",
    )
    assert workflow.status_code == 201, workflow.content
    assert workflow.json()["trigger"]["filters"]["or"][0]["and"][0]["type"] == "zoom_poll_answer"
    segment = admin_api.post(
        "/api/v1/segments/", {"name": "Buyers", "kind": "active", "filters": filters}, format="json"
    )
    assert segment.status_code == 201, segment.content
    assert admin_api.get(f"/api/v1/segments/{segment.json()['id']}/count/").json() == {"count": 0}
    bad = admin_api.post(
        "/api/v1/segments/",
        {
            "name": "Bad",
            "kind": "active",
            "filters": {"or": [{"and": [{"type": "zoom_engagement_score", "operator": "gt"}]}]},
        },
        format="json",
    )
    assert bad.status_code == 400 and "or[0].and[0]" in bad.content.decode()


def test_hubspot_breakdown_carries_the_engagement_facts(admin_api):
    # rules E7, E8: added fields under `properties`; a viewer who never registered
    from crm.models import Contact

    event = MarketingEvent.objects.create(
        source="zoom", external_account_id="acct", external_event_id="81000000009", name="W"
    )
    viewer = Participation.objects.create(
        contact=Contact.objects.create(email="bo@example.com"),
        event=event,
        state="VIEWED_RECORDING",
    )
    first = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
    ParticipationEngagement.objects.create(
        participation=viewer,
        contact_id=viewer.contact_id,
        event=event,
        recording_first_viewed_at=first,
        recording_seconds=1500,
        score=4,
        parts={"attendance": 0, "questions": 0, "polls": 0, "survey": 0, "recording": 4},
    )
    base = "/marketing/v3/marketing-events/participations/acct/81000000009/breakdown"
    body = admin_api.get(base).json()
    properties = body["results"][0]["properties"]
    assert properties["attendanceState"] == "VIEWED_RECORDING"
    assert properties["recording"] == {
        "firstViewedAt": "2026-11-02T09:00:00.000Z",
        "secondsWatched": 1500,
    }
    assert properties["engagement"] == {
        "score": 4,
        "parts": {"attendance": 0, "questions": 0, "polls": 0, "survey": 0, "recording": 4},
    }
    only = admin_api.get(base, {"state": "VIEWED_RECORDING"}).json()
    assert only["total"] == 1
    assert admin_api.get(base, {"state": "ATTENDED"}).json()["total"] == 0
