"""The event page while a webinar is live (rule B4): the statistics and participants poll
`marketing_events:live_fragment` every 3 s iff the event is live (provisional durations, or
started and not over); the fragment answers the numbers as they are now, keeps the participants'
state filter and page, stops polling once the event is over, and costs constant queries."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import Role
from marketing_events.models import Participation
from marketing_events.plan import NewContact, OccurrenceFact, Plan, RegistrationFact, SessionFact
from marketing_events.services import plan_apply
from tests.factories import UserFactory
from tests.marketing_events.test_views import email, make_event, populate

pytestmark = pytest.mark.django_db

POLL = 'hx-trigger="every 3s"'


@pytest.fixture
def viewer_client(client):
    client.force_login(UserFactory(role=Role.VIEWER))
    return client


def live_event(name="Live launch", external_id="85000000001"):
    """A webinar that started ten minutes ago and ends in fifty."""
    return make_event(
        external_id, name, start=timezone.now() - dt.timedelta(minutes=10), minutes=60
    )


def join(event, *names: str, registered: tuple[str, ...] = ()) -> None:
    """People join the live webinar now (no leave yet: their durations are provisional), as
    the webhooks would write it."""
    now = timezone.now()
    plan_apply(
        Plan(
            event_id=event.pk,
            new_contacts=[NewContact(email(n), n.capitalize(), "Live") for n in names + registered],
            registrations=[
                RegistrationFact(email(n), registered_at=now - dt.timedelta(days=1))
                for n in names + registered
            ],
            occurrences=[OccurrenceFact("live-1", event.starts_at, None)],
            sessions=[
                SessionFact(email(n), "live-1", f"p-{n}", now - dt.timedelta(minutes=5), None, n)
                for n in names
            ],
            event_over=False,
        ),
        now=now,
    )


def counter(html: str, name: str) -> int:
    block = html[html.index(f'data-counter="{name}"') :]
    return int(re.search(r'me-stat__value">(\d+)<', block).group(1))


def html_of(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def detail(client, event) -> str:
    return html_of(client.get(reverse("marketing_events:detail", args=[event.pk])))


def live(client, event, **params) -> str:
    url = reverse("marketing_events:live_fragment", args=[event.pk])
    return html_of(client.get(url, params, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="event-live"))


def region_tag(html: str) -> str:
    start = html.index('<div id="event-live"')
    return html[start : html.index(">", start) + 1]


def _ended_with_provisional():
    # Over by the clock, but the webhooks have not closed everyone's session yet.
    event = make_event("3", "Ended, still provisional")
    join(event, "ana")
    assert Participation.objects.filter(event=event, provisional=True).exists()
    return event


@pytest.mark.parametrize(
    ("make", "is_live"),
    [
        (lambda: populate(make_event()), False),  # ended in January, durations final
        (
            lambda: make_event("1", "Next month", start=timezone.now() + dt.timedelta(days=30)),
            False,
        ),
        (live_event, True),  # started, not over, nobody joined yet
        (_ended_with_provisional, True),
        (
            lambda: make_event(
                "2", "Cancelled", start=timezone.now() - dt.timedelta(minutes=5), cancelled=True
            ),
            False,
        ),
    ],
    ids=["ended", "upcoming", "started", "provisional", "cancelled"],
)
def test_polling_attribute_present_iff_live(viewer_client, make, is_live):
    event = make()
    html = detail(viewer_client, event)
    tag = region_tag(html)
    live_url = reverse("marketing_events:live_fragment", args=[event.pk])
    if is_live:
        assert POLL in tag and f'hx-get="{live_url}"' in tag and 'hx-swap="outerHTML"' in tag
        assert 'data-testid="live-indicator"' in html and ">Live</span>" in html
        assert "update every few seconds" in html
    else:
        assert "hx-trigger" not in tag and "hx-get" not in tag
        assert "every 3s" not in html and live_url not in html
        assert 'data-testid="live-indicator"' not in html


def test_fragment_returns_the_numbers_as_they_are_now(viewer_client):
    event = live_event()
    join(event, "ana", registered=("bruno",))
    page = detail(viewer_client, event)
    assert (counter(page, "registered"), counter(page, "attended")) == (2, 1)

    join(event, "carla", "davi")  # two more join during the webinar
    html = live(viewer_client, event)

    assert "<html" not in html and html.lstrip().startswith('<div id="event-live"')
    assert POLL in region_tag(html)  # still live: keeps polling
    # Its own links (participant tabs, pages) must not inherit the poll's swap or params.
    assert 'hx-disinherit="*"' in region_tag(html)
    # The header's badges come along out of band.
    assert re.search(
        r'<div class="me-header__badges" id="event-badges"[^>]*hx-swap-oob="true"', html
    )
    assert 'data-testid="badge-live-now"' in html
    assert (counter(html, "registered"), counter(html, "attended")) == (4, 3)
    steps = re.findall(r'data-step="(\w+)" data-count="(\d+)"', html)
    assert steps == [("registered", "4"), ("attended", "3")]
    rows = re.findall(r'<tr data-contact-id="\d+" data-state="(\w+)">', html)
    assert sorted(rows) == ["ATTENDED", "ATTENDED", "ATTENDED", "REGISTERED"]
    assert html.count(">provisional</span>") == 3
    assert "Carla Live" in html and "Davi Live" in html


def test_fragment_keeps_the_participants_filter_and_page(viewer_client):
    event = live_event()
    join(event, *(f"p{i:02d}" for i in range(27)), registered=("zed",))
    html = live(viewer_client, event, state="ATTENDED", page=2)
    rows = re.findall(r'<tr data-contact-id="\d+" data-state="(\w+)">', html)
    assert rows == ["ATTENDED", "ATTENDED"]  # 27 attendees: 25 on page 1, 2 on page 2
    assert '<input type="hidden" name="state" value="ATTENDED" data-live-param>' in html
    assert '<input type="hidden" name="page" value="2" data-live-param>' in html
    assert 'hx-include="[data-live-param]"' in region_tag(html)


def test_fragment_stops_polling_once_the_event_is_over(viewer_client):
    event = live_event()
    join(event, "ana")
    assert POLL in region_tag(live(viewer_client, event))
    # The webinar ends; its report makes the durations final (rule B4).
    Participation.objects.filter(event=event).update(provisional=False)
    type(event).objects.filter(pk=event.pk).update(ends_at=timezone.now() - dt.timedelta(seconds=1))
    html = live(viewer_client, event)
    assert "hx-trigger" not in region_tag(html) and 'data-testid="live-indicator"' not in html
    assert 'data-testid="badge-ended"' in html and 'data-testid="badge-live-now"' not in html
    assert counter(html, "attended") == 1


def test_fragment_of_an_unknown_event_is_404_and_needs_a_login(client, viewer_client):
    url = reverse("marketing_events:live_fragment", args=[999])
    assert viewer_client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302


@pytest.mark.parametrize("size", [3, 40])
def test_query_counts_are_constant(viewer_client, django_assert_num_queries, size):
    event = live_event()
    join(event, *(f"p{i:02d}" for i in range(size)))
    # Session, user, event (with its provisional flag), counters, participant count and
    # rows, the registration questions and sources asked (rules E1, E4), occurrences; the
    # whole page also counts the bell's unread notifications, and reads the registrations by
    # source and the webinar's tracking sources for its attribution card (rules E4, E5).
    with django_assert_num_queries(8):
        live(viewer_client, event)
    with django_assert_num_queries(11):
        detail(viewer_client, event)


def test_a_webinar_held_before_its_scheduled_start_is_live_not_upcoming(client, admin_user):
    """Zoom lets a host start early: provisional attendance makes it live whatever the
    schedule says (rule B4)."""
    import datetime as dt

    from django.urls import reverse
    from django.utils import timezone

    from marketing_events.plan import NewContact, OccurrenceFact, Plan, SessionFact
    from marketing_events.services import event_upsert, plan_apply

    later = timezone.now() + dt.timedelta(days=3)
    event = event_upsert(
        source="zoom",
        external_account_id="a",
        external_event_id="early",
        defaults={
            "name": "Early bird",
            "starts_at": later,
            "ends_at": later + dt.timedelta(hours=1),
        },
    )
    now = timezone.now()
    plan = Plan(
        event_id=event.pk,
        event_over=False,
        new_contacts=[NewContact("ana@example.com", "Ana", "S")],
        occurrences=[OccurrenceFact("u1", now - dt.timedelta(minutes=5), None)],
        sessions=[
            SessionFact("ana@example.com", "u1", "p1", now - dt.timedelta(minutes=4), None, "Ana")
        ],
    )
    plan_apply(plan)
    client.force_login(admin_user)
    html = client.get(reverse("marketing_events:detail", args=[event.pk])).content.decode()
    assert 'data-testid="badge-live-now"' in html
    assert "Upcoming" not in html
