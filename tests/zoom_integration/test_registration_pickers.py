"""The segment builder's pickers for `zoom_registration_answer` and `registration_source`
(rules E1, E4, E5, G3): fed by the stored questions and the stored source values, a constant
number of queries, bad input a 400 that says why."""

import datetime as dt
from collections import Counter

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import Brand
from marketing_events.plan import NewContact, Plan, RegistrationFact
from marketing_events.services import event_upsert, plan_apply
from segments.builder import catalogue
from zoom_integration.models import ConnectionStatus, ZoomConnection, ZoomWebinar
from zoom_integration.models_registration import WebinarRegistrationInfo

pytestmark = pytest.mark.django_db
QUESTIONS = reverse("zoom_integration:pick_questions")
SOURCES = reverse("zoom_integration:pick_sources")


def _question(name, kind="standard", answers=(), required=False):
    return {"question": name, "type": kind, "required": required, "answers": list(answers)}


@pytest.fixture
def forms(db):
    """Two webinars with stored forms: their events, questions and tracking sources."""
    brand = Brand.objects.create(name="Acme", is_primary=True)
    connection = ZoomConnection.objects.create(
        brand=brand, kind="s2s", status=ConnectionStatus.CONNECTED, zoom_account_id="acct"
    )
    webinars = []
    specs = [
        (
            [
                _question("last_name", required=True),
                _question("org", required=True),
                _question("Company size", "single_radio", ["1-10", "11-100"], True),
            ],
            [{"id": "ts_1", "name": "LinkedIn"}, {"id": "ts_9", "name": "Partners"}],
        ),
        (
            [
                _question("job_title"),
                _question("Company size", "single_dropdown", ["11-100", "100+"]),
                _question("Topics", "multiple", ["AI", "Cloud"]),
            ],
            [{"id": "ts_2", "name": "Newsletter"}],
        ),
    ]
    for n, (questions, sources) in enumerate(specs):
        event = event_upsert(
            source="zoom",
            external_account_id="acct",
            external_event_id=str(82000000000 + n),
            defaults={"name": f"W{n}", "starts_at": timezone.now() + dt.timedelta(days=n)},
        )
        webinar = ZoomWebinar.objects.create(
            connection=connection, zoom_webinar_id=82000000000 + n, topic=f"W{n}", event=event
        )
        WebinarRegistrationInfo.objects.create(
            webinar=webinar, questions=questions, tracking_sources=sources
        )
        webinars.append(webinar)
    return webinars


def _register(event_id, rows):
    """rows: (email, utm dict, source name, referrer)."""
    now = timezone.now()
    plan_apply(
        Plan(
            event_id=event_id,
            new_contacts=[NewContact(email) for email, *_ in rows],
            registrations=[
                RegistrationFact(
                    email,
                    registered_at=now,
                    source_id="ts" if source else "",
                    source_name=source,
                    utm=tuple(utm.items()),
                    referrer=referrer,
                )
                for email, utm, source, referrer in rows
            ],
        )
    )


def test_the_questions_of_one_webinar_without_name_and_email(client, admin_user, forms):
    client.force_login(admin_user)
    answer = client.get(QUESTIONS, {"webinar_id": forms[0].zoom_webinar_id})
    assert answer.status_code == 200
    assert answer.json()["results"] == [
        {"question": "Company size", "label": "Company size", "type": "single_radio",
         "answers": ["1-10", "11-100"]},
        {"question": "org", "label": "Organization (org)", "type": "standard", "answers": []},
    ]  # fmt: skip


def test_without_a_webinar_every_stored_question_merged(client, admin_user, forms):
    client.force_login(admin_user)
    results = client.get(QUESTIONS).json()["results"]
    by_name = {r["question"]: r for r in results}
    assert set(by_name) == {"Company size", "job_title", "org", "Topics"}
    # The choices any webinar offers, each once.
    assert sorted(by_name["Company size"]["answers"]) == ["1-10", "100+", "11-100"]
    assert by_name["job_title"]["label"] == "Job title (job_title)"


def test_questions_searched_by_name_or_label(client, admin_user, forms):
    client.force_login(admin_user)
    assert [r["question"] for r in client.get(QUESTIONS, {"q": "organ"}).json()["results"]] == [
        "org"
    ]
    assert [r["question"] for r in client.get(QUESTIONS, {"q": "SIZE"}).json()["results"]] == [
        "Company size"
    ]


def test_questions_cost_one_query_whatever_the_number_of_webinars(
    client, admin_user, forms, django_assert_num_queries
):
    client.force_login(admin_user)
    client.get(QUESTIONS)  # the session and user are read once here, then cached per request
    with django_assert_num_queries(3):  # session, user, the stored forms
        client.get(QUESTIONS)
    for n in range(5):
        extra = ZoomWebinar.objects.create(
            connection=forms[0].connection, zoom_webinar_id=82000000100 + n
        )
        WebinarRegistrationInfo.objects.create(webinar=extra, questions=[_question(f"Q{n}")])
    with django_assert_num_queries(3):
        assert len(client.get(QUESTIONS).json()["results"]) == 9


def test_source_values_with_their_counts_most_frequent_first(client, admin_user, forms):
    client.force_login(admin_user)
    e0, e1 = forms[0].event_id, forms[1].event_id
    rows0 = [
        ("a@x.test", {"utm_source": "newsletter"}, "LinkedIn", "https://blog.test/a"),
        ("b@x.test", {"utm_source": "newsletter", "utm_campaign": "spring"}, "", ""),
        ("c@x.test", {"utm_source": "ads"}, "LinkedIn", "https://blog.test/a"),
    ]
    rows1 = [("d@x.test", {"utm_source": "ads"}, "Newsletter", ""),
             ("e@x.test", {"utm_source": "ads"}, "", "https://other.test/")]  # fmt: skip
    _register(e0, rows0)
    _register(e1, rows1)
    utm = client.get(SOURCES, {"field": "utm_source"}).json()["results"]
    expected = Counter(r[1]["utm_source"] for r in rows0 + rows1)
    assert utm == [{"value": v, "count": n} for v, n in expected.most_common()]
    assert client.get(SOURCES, {"field": "utm_source", "event_id": e0}).json()["results"] == [
        {"value": "newsletter", "count": 2},
        {"value": "ads", "count": 1},
    ]
    assert client.get(SOURCES, {"field": "utm_campaign"}).json()["results"] == [
        {"value": "spring", "count": 1}
    ]
    assert client.get(SOURCES, {"field": "referrer", "q": "BLOG"}).json()["results"] == [
        {"value": "https://blog.test/a", "count": 2}
    ]
    # Tracking sources: the registrations' names, and the ones Zoom lists that none came from yet.
    assert client.get(SOURCES, {"field": "tracking_source"}).json()["results"] == [
        {"value": "LinkedIn", "count": 2},
        {"value": "Newsletter", "count": 1},
        {"value": "Partners", "count": 0},
    ]
    assert client.get(SOURCES, {"field": "tracking_source", "event_id": e1}).json()["results"] == [
        {"value": "Newsletter", "count": 1}
    ]


def test_source_values_cost_a_constant_number_of_queries(
    client, admin_user, forms, django_assert_num_queries
):
    client.force_login(admin_user)
    _register(forms[0].event_id, [("a@x.test", {"utm_source": "newsletter"}, "LinkedIn", "")])
    client.get(SOURCES, {"field": "utm_source"})
    with django_assert_num_queries(3):
        client.get(SOURCES, {"field": "utm_source"})
    with django_assert_num_queries(4):  # + the tracking sources Zoom lists
        client.get(SOURCES, {"field": "tracking_source"})
    _register(
        forms[1].event_id,
        [(f"p{n}@x.test", {"utm_source": f"s{n}"}, f"T{n}", "") for n in range(8)],
    )
    with django_assert_num_queries(4):
        assert len(client.get(SOURCES, {"field": "tracking_source"}).json()["results"]) == 11


@pytest.mark.parametrize(
    ("url", "params", "message"),
    [
        (SOURCES, {"field": "utm_nope"}, "field: one of tracking_source"),
        (SOURCES, {}, "field: one of tracking_source"),
        (SOURCES, {"field": "utm_source", "event_id": "12a"}, "event_id: an id is digits only"),
        (SOURCES, {"field": "utm_source", "event_id": "9" * 40}, "event_id"),
        (QUESTIONS, {"webinar_id": "81-000"}, "webinar_id: an id is digits only"),
        (QUESTIONS, {"webinar_id": "²"}, "webinar_id"),
        (QUESTIONS, {"q": "x" * 1000}, "at most"),
    ],
)
def test_bad_input_is_a_400_that_says_why(client, admin_user, forms, url, params, message):
    client.force_login(admin_user)
    answer = client.get(url, params)
    assert answer.status_code == 400
    assert message in answer.json()["error"]
    assert answer.json()["results"] == []


@pytest.mark.parametrize("url", [QUESTIONS, SOURCES])
def test_pickers_need_a_signed_in_user(client, forms, url):
    answer = client.get(url, {"field": "utm_source"})
    assert answer.status_code == 302
    assert "/login" in answer["Location"]


def test_the_builder_catalogue_names_the_pickers(forms):
    pickers = catalogue()["pickers"]
    assert pickers["zoom_registration_answer"] == {"questions": QUESTIONS}
    assert pickers["registration_source"] == {"values": SOURCES}
