"""The event page's engagement sections and scores (rules E6-E8): a poll chart per question in
SVG, the Q&A with askers and answers, survey results, recording views, the score distribution;
the participants table shows each score with its parts and sorts by it. Facts are written
through the engagement services, as the sync writes them."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from marketing_events.models import EventOccurrence, Participation
from marketing_events.plan import NewContact, OccurrenceFact, Plan, RegistrationFact, SessionFact
from marketing_events.rules import CrmSnapshot
from marketing_events.services import event_upsert, plan_apply
from zoom_integration.engagement.planner import answer_records, plan_answers
from zoom_integration.engagement.services import answers_apply, event_engagement_recompute
from zoom_integration.sync.planner import SyncSettings
from zoom_integration.sync.records import WebinarInfo

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 1, 10, 15, 0, tzinfo=dt.UTC)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def engaged_event(people: int = 3):
    event = event_upsert(
        source="zoom",
        external_account_id="acct-1",
        external_event_id="81234567890",
        defaults={"name": "Q1 roadmap", "starts_at": T0, "ends_at": at(60)},
    )
    emails = [f"p{n}@example.com" for n in range(people)]
    plan_apply(
        Plan(
            event_id=event.pk,
            new_contacts=[NewContact(e, f"P{n}", "Person") for n, e in enumerate(emails)],
            registrations=[RegistrationFact(email=e, registered_at=at(-60)) for e in emails],
            occurrences=[OccurrenceFact("uuid-1", T0, at(60))],
            sessions=[
                SessionFact(e, "uuid-1", f"pu{n}", at(0), at(60 if n == 0 else 15))
                for n, e in enumerate(emails)
            ],
        )
    )
    occurrence = EventOccurrence.objects.get(event=event)
    participations = dict(Participation.objects.filter(event=event).values_list("contact_id", "pk"))
    from crm.models import Contact
    from marketing_events.rules import ContactRef

    snapshot = CrmSnapshot(
        contacts={c.email: ContactRef(id=c.pk) for c in Contact.objects.filter(email__in=emails)}
    )
    info = WebinarInfo(zoom_webinar_id=81234567890, topic="Q1 roadmap", event_id=event.pk)
    polls = {
        "questions": [
            {
                "email": e,
                "name": e,
                "question_details": [
                    {"polling_id": "p1", "question": "When?", "answer": "This quarter"}
                ],
            }
            for e in emails[:2]
        ]
        + [
            {
                "email": "",
                "name": "Anonymous Attendee",
                "question_details": [{"polling_id": "p1", "question": "When?", "answer": "Later"}],
            }
        ]
    }
    qa = {
        "questions": [
            {
                "email": emails[0],
                "name": "P0 Person",
                "question_details": [
                    {
                        "question_id": "q1",
                        "question": "Is SSO included?",
                        "question_status": "answered",
                        "answer_details": [{"name": "Olga Owner", "content": "Yes, in Pro"}],
                    }
                ],
            }
        ]
    }
    for report, body in (("polls", polls), ("qa", qa)):
        records = answer_records(report, body)
        plan = plan_answers(info, records, snapshot, SyncSettings(), participations)
        answers_apply(occurrence=occurrence, report=report, plan=plan, digest="d")
    event_engagement_recompute(event.pk)
    return event


def test_event_sections_show_poll_chart_qa_and_scores(client, marketer):
    event = engaged_event()
    client.force_login(marketer)
    page = client.get(reverse("marketing_events:detail", args=[event.pk])).content.decode()
    section_url = reverse("zoom_engagement:event_sections", args=[event.pk])
    assert f'hx-get="{section_url}"' in page  # loaded into the event page
    html = client.get(section_url).content.decode()
    # rule E6: a chart per poll question, anonymous answers counted in it
    assert 'data-testid="poll-chart"' in html and "When?" in html
    assert re.search(r'data-answer="This quarter" data-count="2"', html)
    assert re.search(r'data-answer="Later" data-count="1"', html)
    assert 'data-testid="anonymous-polls"' in html
    assert "Is SSO included?" in html and "Yes, in Pro" in html and "answered" in html
    assert 'data-testid="score-chart"' in html
    assert "<script" not in html and "style=" not in html  # strict CSP: no inline code


def test_section_queries_do_not_grow_with_people(client, marketer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(marketer)
    counts = []
    for people in (3, 40):
        Participation.objects.all().delete()
        event = engaged_event(people)
        url = reverse("zoom_engagement:event_sections", args=[event.pk])
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 16, counts


def test_participants_show_the_score_with_its_parts_and_sort_by_it(client, marketer):
    # rule E8: every score shown with its parts
    event = engaged_event()
    client.force_login(marketer)
    url = reverse("marketing_events:detail", args=[event.pk])
    html = client.get(url, {"sort": "score"}).content.decode()
    scores = [int(s) for s in re.findall(r'data-score="(\d+)"', html)]
    assert len(scores) == 3 and scores == sorted(scores, reverse=True)
    top = re.search(r'<span class="me-score" title="([^"]+)" data-score="(\d+)"', html)
    assert "Attendance 50" in top.group(1) and "Polls 15" in top.group(1)
    assert int(top.group(2)) == 50 + 15 + 8  # full attendance, the poll, one question (7.5)


def test_unknown_event_is_404(client, marketer):
    client.force_login(marketer)
    assert client.get(reverse("zoom_engagement:event_sections", args=[999])).status_code == 404


def test_weights_page_is_for_super_admins_and_validates(client, admin_user, marketer):
    # rule E8: weights in Settings (admins); bad input re-renders with an error, changes nothing
    url = reverse("zoom_engagement:weights")
    client.force_login(marketer)
    assert client.get(url).status_code == 403
    client.force_login(admin_user)
    page = client.get(url)
    assert page.status_code == 200 and 'value="50"' in page.content.decode()
    bad = {"attendance": 60, "questions": 15, "polls": 15, "survey": 10, "recording": 10}
    answer = client.post(url, bad)
    assert answer.status_code == 400 and 'data-testid="weights-error"' in answer.content.decode()
    from zoom_integration.engagement.services import weights_get

    assert weights_get()["attendance"] == 50
    good = {**bad, "attendance": 40, "survey": 20}
    assert client.post(url, good).status_code == 302
    assert weights_get() == good


def asked(event, count: int) -> None:
    """Replaces the event's Q&A by `count` questions, asked in turn by its participants (and
    every fifth anonymously), one minute apart."""
    from crm.models import Contact
    from marketing_events.rules import ContactRef

    occurrence = EventOccurrence.objects.get(event=event)
    people = list(Contact.objects.filter(participations__event=event).order_by("pk"))
    participations = dict(Participation.objects.filter(event=event).values_list("contact_id", "pk"))
    snapshot = CrmSnapshot(contacts={c.email: ContactRef(id=c.pk) for c in people})
    qa = {
        "questions": [
            {
                "email": "" if n % 5 == 4 else people[n % len(people)].email,
                "name": "Anonymous Attendee" if n % 5 == 4 else "Someone",
                "question_details": [
                    {
                        "question_id": f"q{n}",
                        "question": f"Question number {n:03d}?",
                        "question_status": "open",
                        "create_time": at(n).isoformat().replace("+00:00", "Z"),
                    }
                ],
            }
            for n in range(count)
        ]
    }
    info = WebinarInfo(zoom_webinar_id=81234567890, topic="Q1 roadmap", event_id=event.pk)
    plan = plan_answers(info, answer_records("qa", qa), snapshot, SyncSettings(), participations)
    answers_apply(occurrence=occurrence, report="qa", plan=plan, digest="d")


def questions_shown(html: str) -> list[str]:
    return re.findall(r"Question number (\d{3})\?", html)


def test_the_qa_is_paged_in_the_order_asked(client, marketer):
    # A big webinar's questions do not all render at once: 25 a page, like the participants.
    event = engaged_event()
    asked(event, 30)
    client.force_login(marketer)

    sections = client.get(reverse("zoom_engagement:event_sections", args=[event.pk]))
    html = sections.content.decode()
    questions_url = reverse("zoom_engagement:event_questions", args=[event.pk])
    page_2 = client.get(questions_url, {"page": 2}).content.decode()

    assert questions_shown(html) == [f"{n:03d}" for n in range(25)]
    assert "30 questions" in html
    assert 'id="engagement-qa"' in html
    assert f'hx-get="{questions_url}?page=2"' in html
    assert 'hx-target="#engagement-qa"' in html and 'hx-swap="outerHTML"' in html
    assert questions_shown(page_2) == [f"{n:03d}" for n in range(25, 30)]
    assert page_2.count("<section") == 1  # the Q&A section alone, swapped in place
    assert "Anonymous" in page_2  # question 29 was asked anonymously
    # A page past the last shows the last (as the participants' pager does).
    assert questions_shown(client.get(questions_url, {"page": 9}).content.decode()) == (
        questions_shown(page_2)
    )


def test_a_qa_page_costs_the_same_queries_however_many_questions(client, marketer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    event = engaged_event(people=6)
    client.force_login(marketer)
    url = reverse("zoom_engagement:event_questions", args=[event.pk])
    counts = []
    for questions in (3, 80):
        asked(event, questions)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, {"page": 2 if questions > 25 else 1})
        assert response.status_code == 200
        assert len(questions_shown(response.content.decode())) == min(questions, 25)
        counts.append(len(queries))
    # session and user, the event, the page's count and its rows (askers joined)
    assert counts[0] == counts[1] <= 5, counts


def test_the_qa_of_an_unknown_event_is_a_404(client, marketer):
    client.force_login(marketer)
    assert client.get(reverse("zoom_engagement:event_questions", args=[999999])).status_code == 404


def test_a_bar_chart_leaves_room_for_its_counts():
    # Each bar's "count (share%)" is written right of the bar: the longest bar's must end
    # within the drawing (about 7 units a character at its 12-unit font), or it is cut off.
    from zoom_integration.engagement.selectors import _charts

    charts = _charts([("Plan?", "This quarter", 1234), ("Plan?", "Later", 1)])
    for chart in charts:
        for bar in chart.bars:
            text = f"{bar['count']:,} ({bar['percent']}%)"
            assert bar["count_x"] + 7 * len(text) <= chart.width, text
