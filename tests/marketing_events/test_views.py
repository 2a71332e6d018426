"""Marketing events pages: list (search, date filter, paging), event page (counters, funnel,
attendance-duration histogram, occurrences, participants by state, CSV export), the contact
page's "Marketing events" card and webinar timeline entries (rule M4). Data is written through
`plan_apply`, as a sync would write it."""

import csv
import datetime as dt
import io
import re

import pytest
from django.urls import reverse

from crm.models import Contact, Role
from marketing_events.models import Participation
from marketing_events.plan import NewContact, OccurrenceFact, Plan, RegistrationFact, SessionFact
from marketing_events.selectors_ui import event_stats
from marketing_events.services import event_upsert, plan_apply
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 1, 10, 15, 0, tzinfo=dt.UTC)
WEBINAR = {"webinar_id": "81234567890", "webinar_name": "Q1 roadmap"}


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def make_event(external_id="81234567890", name="Q1 roadmap", start=T0, minutes=60, **extra):
    return event_upsert(
        source="zoom",
        external_account_id="acct-1",
        external_event_id=external_id,
        defaults={
            "name": name,
            "starts_at": start,
            "ends_at": start + dt.timedelta(minutes=minutes),
            "organizer": "host@example.com",
            "url": "https://zoom.us/j/81234567890",
            **extra,
        },
    )


# Attendees and their sessions (minutes from the start); eva's two sessions overlap and are
# merged into 45 minutes (rule M2), never summed to 55.
ATTENDEES = {
    "ana": [(2, 40)],  # 38 min -> 30-45
    "bruno": [(0, 2)],  # 2 -> 0-5
    "gabriel": [(0, 3)],  # 3 -> 0-5
    "carla": [(0, 5)],  # 5 -> 5-15 (lower bound included)
    "davi": [(0, 20)],  # 20 -> 15-30
    "eva": [(0, 30), (20, 45)],  # 45 -> 45-60
    "fabio": [(0, 60)],  # 60 -> 60+
}
NO_SHOWS = ("gil", "hana")
CANCELLED = ("ivo",)


def email(name: str) -> str:
    return f"{name}@example.com"


def populate(event, *, attendees=ATTENDEES, no_shows=NO_SHOWS, cancelled=CANCELLED):
    people = [*attendees, *no_shows, *cancelled]
    plan = Plan(
        event_id=event.pk,
        new_contacts=[NewContact(email(n), n.capitalize(), "Silva") for n in people],
        registrations=[
            RegistrationFact(email(n), registered_at=at(-60 * 24), external_registrant_id=n)
            for n in people
        ]
        + [RegistrationFact(email(n), cancelled_at=at(-60)) for n in cancelled],
        occurrences=[OccurrenceFact("uuid-1", event.starts_at, event.ends_at)],
        sessions=[
            SessionFact(email(n), "uuid-1", f"p-{n}", at(join), at(leave), n)
            for n, sessions in attendees.items()
            for join, leave in sessions
        ],
    )
    plan_apply(plan, now=at(120))
    event.refresh_from_db()
    return event


@pytest.fixture
def event():
    return populate(make_event())


def html_of(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


# List ------------------------------------------------------------------------------------------


def test_list_shows_columns_counts_and_zoom_badge(admin_client, event):
    html = html_of(admin_client.get(reverse("marketing_events:list")))
    row = html[html.index(f'data-event-id="{event.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Q1 roadmap" in row and "Webinar" in row and ">Zoom<" in row
    assert re.search(r'data-col="registered">9<', row)
    assert re.search(r'data-col="attended">7<', row)
    assert re.search(r'data-col="no_shows">2<', row)
    assert reverse("marketing_events:detail", args=[event.pk]) in row


def test_list_search_by_name(admin_client):
    make_event("1", "Product launch")
    make_event("2", "Hiring webinar")
    html = html_of(admin_client.get(reverse("marketing_events:list"), {"q": "LAUNCH"}))
    assert "Product launch" in html and "Hiring webinar" not in html
    assert "1 event" in html


def test_list_search_longer_than_200_characters_is_said_inline_and_not_run(admin_client):
    make_event("1", "Product launch")
    url = reverse("marketing_events:list")

    html = html_of(admin_client.get(url, {"q": "launch" * 34}))

    assert 'data-testid="filter-errors"' in html
    assert "at most 200 characters" in html
    assert "The filter was not applied" in html
    assert 'maxlength="200"' in html_of(admin_client.get(url))


def test_list_date_range_filter_is_inclusive_by_day(admin_client):
    make_event("1", "January", start=dt.datetime(2026, 1, 31, 23, 30, tzinfo=dt.UTC))
    make_event("2", "February", start=dt.datetime(2026, 2, 1, 0, 0, tzinfo=dt.UTC))
    make_event("3", "March", start=dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC))
    url = reverse("marketing_events:list")
    html = html_of(admin_client.get(url, {"starts_from": "2026-01-31", "starts_to": "2026-02-01"}))
    assert "January" in html and "February" in html and "March" not in html
    html = html_of(admin_client.get(url, {"starts_from": "2026-02-01"}))
    assert "January" not in html and "February" in html and "March" in html
    html = html_of(admin_client.get(url, {"starts_to": "2026-01-31"}))
    assert "January" in html and "February" not in html


def test_list_bad_dates_show_an_error_not_a_500(admin_client):
    make_event("1", "January")
    url = reverse("marketing_events:list")
    html = html_of(admin_client.get(url, {"starts_from": "31/02/2026"}))
    assert "Enter a date, like 2026-01-31." in html and "January" in html
    html = html_of(admin_client.get(url, {"starts_from": "2026-03-01", "starts_to": "2026-02-01"}))
    assert "The end date must be on or after the start date." in html


def test_list_pages_by_25_and_htmx_gets_the_fragment(admin_client):
    for i in range(30):
        make_event(str(i), f"Event {i:02d}", start=T0 + dt.timedelta(days=i))
    url = reverse("marketing_events:list")
    first = html_of(admin_client.get(url))
    assert first.count("data-event-id=") == 25 and "30 events" in first
    assert "Event 29" in first and "Event 04" not in first  # newest first
    second = html_of(admin_client.get(url, {"page": 2}))
    assert second.count("data-event-id=") == 5 and "Event 04" in second
    fragment = html_of(
        admin_client.get(url, {"page": 2}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="event-results")
    )
    assert "<html" not in fragment and fragment.count("data-event-id=") == 5


def test_list_empty_states_say_what_to_do(admin_client):
    html = html_of(admin_client.get(reverse("marketing_events:list")))
    assert "No marketing events yet" in html
    assert reverse("crm:settings_integrations") in html
    make_event("1", "Launch")
    html = html_of(admin_client.get(reverse("marketing_events:list"), {"q": "nothing"}))
    assert "No event matches these filters" in html and "Clear the filters" in html


def test_nav_links_to_the_marketing_events_list(admin_client):
    html = html_of(admin_client.get(reverse("crm:contact_list")))
    assert f'href="{reverse("marketing_events:list")}"' in html
    assert reverse("marketing_events:list") == "/marketing-events/"


# Event page ------------------------------------------------------------------------------------


def counter(html: str, name: str) -> int:
    block = html[html.index(f'data-counter="{name}"') :]
    return int(re.search(r'me-stat__value">(\d+)<', block).group(1))


def test_event_page_header_counters_and_funnel(admin_client, event):
    html = html_of(admin_client.get(reverse("marketing_events:detail", args=[event.pk])))
    assert "Q1 roadmap" in html and "host@example.com" in html
    assert 'href="https://zoom.us/j/81234567890"' in html
    assert {n: counter(html, n) for n in ("registered", "attended", "no_shows", "cancelled")} == {
        "registered": 9,
        "attended": 7,
        "no_shows": 2,
        "cancelled": 1,
    }
    assert "77.8% of registrants" in html
    steps = re.findall(r'data-step="(\w+)" data-count="(\d+)" data-percent="([\d.]+)"', html)
    assert steps == [("registered", "9", "100.0"), ("attended", "7", "77.8")]
    # 2 of 9 never came; attendees stayed (38 + 2 + 3 + 5 + 20 + 45 + 60) / 7 = 24.7 min.
    assert 'data-fact="no_show_rate">22.2%<' in html
    assert 'data-fact="average_duration">25 min<' in html


def test_event_page_badges(admin_client):
    event = make_event(cancelled=True, completed=True)
    html = html_of(admin_client.get(reverse("marketing_events:detail", args=[event.pk])))
    assert 'data-testid="badge-cancelled"' in html and 'data-testid="badge-completed"' in html


def test_histogram_buckets_are_exact_and_drawn_as_svg(admin_client, event):
    stats = event_stats(event)
    assert [(b.key, b.count) for b in stats.buckets] == [
        ("0-5", 2),
        ("5-15", 1),
        ("15-30", 1),
        ("30-45", 1),
        ("45-60", 1),
        ("60+", 1),
    ]
    html = html_of(admin_client.get(reverse("marketing_events:detail", args=[event.pk])))
    chart = html[html.index('data-testid="histogram-chart"') :]
    chart = chart[: chart.index("</svg>")]
    bars = re.findall(
        r'<rect class="me-histogram__bar"[^>]*data-bucket="([^"]+)" data-count="(\d+)"', chart
    )
    assert bars == [
        ("0-5", "2"),
        ("5-15", "1"),
        ("15-30", "1"),
        ("30-45", "1"),
        ("45-60", "1"),
        ("60+", "1"),
    ]
    heights = [float(h) for h in re.findall(r'me-histogram__bar"[^>]*height="([\d.]+)"', chart)]
    assert heights[0] == pytest.approx(2 * heights[1]) and heights[1] > 0


def test_histogram_bar_titles_count_attendees_in_the_singular_and_plural(admin_client, event):
    # rule L1: a count is a plural form of its own (blocktranslate count), never "1 attendees"
    html = html_of(admin_client.get(reverse("marketing_events:detail", args=[event.pk])))
    titles = re.findall(r"<title>([^<]* min: [^<]*)</title>", html)
    assert len(titles) == 6
    assert titles[0].endswith(" min: 2 attendees")
    assert all(title.endswith(" min: 1 attendee") for title in titles[1:])


def test_histogram_buckets_need_one_query(django_assert_num_queries, event):
    with django_assert_num_queries(1):
        event_stats(event)


def test_event_without_attendance_explains_the_empty_chart(admin_client):
    event = make_event(start=T0 + dt.timedelta(days=3650))  # upcoming
    populate(event, attendees={}, no_shows=("gil",), cancelled=())
    html = html_of(admin_client.get(reverse("marketing_events:detail", args=[event.pk])))
    assert 'data-testid="histogram-empty"' in html and "<svg viewBox" not in html
    assert counter(html, "registered") == 1 and counter(html, "no_shows") == 0
    assert "Counted once the event is over" in html


def test_occurrences_table_counts_attendees_per_occurrence(admin_client):
    event = make_event(minutes=60 * 24 * 8)
    plan_apply(
        Plan(
            event_id=event.pk,
            new_contacts=[NewContact(email("ana")), NewContact(email("bruno"))],
            occurrences=[
                OccurrenceFact("occ-1", at(0), at(60)),
                OccurrenceFact("occ-2", at(60 * 24 * 7), at(60 * 24 * 7 + 30)),
            ],
            sessions=[
                SessionFact(email("ana"), "occ-1", "a1", at(0), at(60)),
                SessionFact(email("bruno"), "occ-1", "b1", at(0), at(30)),
                SessionFact(email("ana"), "occ-2", "a2", at(60 * 24 * 7), at(60 * 24 * 7 + 15)),
            ],
        ),
    )
    html = html_of(admin_client.get(reverse("marketing_events:detail", args=[event.pk])))
    rows = re.findall(r'data-occurrence="(occ-\d)".*?data-col="attendees">(\d+)<', html, re.S)
    assert rows == [("occ-1", "2"), ("occ-2", "1")]
    assert "1 h 00 min" in html and "30 min" in html  # lengths


def participant_rows(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<tr data-contact-id="(\d+)" data-state="(\w+)">', html)


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("", {"ATTENDED": 7, "NO_SHOW": 2, "CANCELLED": 1}),
        ("REGISTERED", {"ATTENDED": 7, "NO_SHOW": 2}),  # registered and not cancelled
        ("ATTENDED", {"ATTENDED": 7}),
        ("NO_SHOW", {"NO_SHOW": 2}),
        ("CANCELLED", {"CANCELLED": 1}),
        ("BOGUS", {"ATTENDED": 7, "NO_SHOW": 2, "CANCELLED": 1}),
    ],
)
def test_participants_filter_by_state(admin_client, event, state, expected):
    response = admin_client.get(
        reverse("marketing_events:detail", args=[event.pk]),
        {"state": state},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="participants",
    )
    html = html_of(response)
    assert "<html" not in html  # the HTMX fragment only
    states = [s for _pk, s in participant_rows(html)]
    assert {s: states.count(s) for s in set(states)} == expected


def test_participant_row_shows_times_duration_percent_and_contact_link(admin_client, event):
    ana = Contact.objects.get(email=email("ana"))
    html = html_of(
        admin_client.get(reverse("marketing_events:detail", args=[event.pk]), {"state": "ATTENDED"})
    )
    row = html[html.index(f'<tr data-contact-id="{ana.pk}"') :]
    row = row[: row.index("</tr>")]
    assert reverse("crm:contact_detail", args=[ana.pk]) in row
    assert 'data-col="minutes">38<' in row and 'data-col="percent">63.3%<' in row
    assert "provisional" not in row


def test_provisional_badge_while_live(admin_client):
    event = make_event(start=T0)
    plan_apply(
        Plan(
            event_id=event.pk,
            new_contacts=[NewContact(email("ana"))],
            occurrences=[OccurrenceFact("uuid-1", at(0), None)],
            sessions=[SessionFact(email("ana"), "uuid-1", "a", at(0), None)],
            event_over=False,
        ),
        now=at(10),
    )
    html = html_of(admin_client.get(reverse("marketing_events:detail", args=[event.pk])))
    assert ">provisional</span>" in html


def test_participants_page_by_25(admin_client):
    event = make_event()
    names = [f"p{i:02d}" for i in range(30)]
    populate(event, attendees={n: [(0, 10)] for n in names}, no_shows=(), cancelled=())
    url = reverse("marketing_events:detail", args=[event.pk])
    assert len(participant_rows(html_of(admin_client.get(url)))) == 25
    page2 = html_of(
        admin_client.get(url, {"page": 2}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="participants")
    )
    assert len(participant_rows(page2)) == 5 and "30 participants" in page2


def test_unknown_event_is_404(admin_client):
    assert admin_client.get(reverse("marketing_events:detail", args=[999])).status_code == 404
    assert (
        admin_client.get(reverse("marketing_events:participants_csv", args=[9])).status_code == 404
    )


# CSV export ------------------------------------------------------------------------------------


def csv_of(response) -> list[list[str]]:
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_csv_export_is_streamed_with_exact_content(admin_client):
    event = make_event()
    populate(event, attendees={"ana": [(2, 40)]}, no_shows=("gil",), cancelled=("ivo",))
    ids = {c.email: c.pk for c in Contact.objects.all()}
    Contact.objects.filter(email=email("gil")).update(first_name="=HYPERLINK(1)")
    response = admin_client.get(reverse("marketing_events:participants_csv", args=[event.pk]))
    assert "attachment" in response["Content-Disposition"]
    assert csv_of(response) == [
        [
            "contact_id",
            "email",
            "firstname",
            "lastname",
            "state",
            "registered_at",
            "first_join_at",
            "last_leave_at",
            "duration_seconds",
            "attendance_percent",
        ],
        [
            str(ids["ana@example.com"]),
            "ana@example.com",
            "Ana",
            "Silva",
            "ATTENDED",
            "2026-01-09T15:00:00+00:00",
            "2026-01-10T15:02:00+00:00",
            "2026-01-10T15:40:00+00:00",
            "2280",
            "63.3",
        ],
        [
            str(ids["gil@example.com"]),
            "gil@example.com",
            "'=HYPERLINK(1)",  # neutralised: a spreadsheet must not run it
            "Silva",
            "NO_SHOW",
            "2026-01-09T15:00:00+00:00",
            "",
            "",
            "0",
            "",
        ],
        [
            str(ids["ivo@example.com"]),
            "ivo@example.com",
            "Ivo",
            "Silva",
            "CANCELLED",
            "2026-01-09T15:00:00+00:00",
            "",
            "",
            "0",
            "",
        ],
    ]


def test_csv_export_escapes_formulas_in_emails_and_names(admin_client):
    # OWASP "CSV Injection": registrants type their e-mail and names; a plain value is unchanged.
    event = populate(make_event(), attendees={"ana": [(2, 40)]}, no_shows=("gil",), cancelled=())
    Contact.objects.filter(email=email("gil")).update(
        email="=1+2@evil.example", first_name="@SUM(A1)", last_name="+cmd"
    )
    response = admin_client.get(reverse("marketing_events:participants_csv", args=[event.pk]))
    rows = {r[4]: r[1:4] for r in csv_of(response)[1:]}
    assert rows == {
        "ATTENDED": ["ana@example.com", "Ana", "Silva"],
        "NO_SHOW": ["'=1+2@evil.example", "'@SUM(A1)", "'+cmd"],
    }


def test_csv_export_follows_the_state_filter(admin_client, event):
    response = admin_client.get(
        reverse("marketing_events:participants_csv", args=[event.pk]), {"state": "NO_SHOW"}
    )
    rows = csv_of(response)
    assert [r[1] for r in rows[1:]] == ["gil@example.com", "hana@example.com"]
    assert {r[4] for r in rows[1:]} == {"NO_SHOW"}
    assert "no_show" in response["Content-Disposition"]


# Contact page ----------------------------------------------------------------------------------


def test_contact_page_card_and_timeline_texts(admin_client, event):
    ana = Contact.objects.get(email=email("ana"))
    plan_apply(
        Plan(
            event_id=event.pk,
            registrations=[RegistrationFact(email("ana"), cancelled_at=at(100))],
        ),
        now=at(120),
    )
    from crm.services.timeline import timeline_event_add

    timeline_event_add(
        contact=ana,
        kind="zoom_recording_available",
        occurred_at=at(180),
        data={**WEBINAR, "recording_url": "https://zoom.us/rec/share/abc", "event_id": event.pk},
    )
    html = html_of(admin_client.get(reverse("crm:contact_detail", args=[ana.pk])))
    event_url = reverse("marketing_events:detail", args=[event.pk])
    card = html[html.index('data-testid="contact-participations"') :]
    card = card[: card.index("</section>")]
    assert event_url in card and "Q1 roadmap" in card
    assert 'data-state="ATTENDED"' in card and "38 min" in card and "63.3%" in card
    text = re.sub(r"<[^>]+>", "", html)
    text = re.sub(r"\s+", " ", text)
    assert "Registered for Q1 roadmap" in text
    assert "Attended Q1 roadmap — joined 15:02, left 15:40, 38 min" in text
    assert "Cancelled registration for Q1 roadmap" in text
    assert "Recording available for Q1 roadmap" in text
    assert 'href="https://zoom.us/rec/share/abc"' in html and "Watch the recording" in html
    assert f'<a href="{event_url}"><strong>Q1 roadmap</strong></a>' in html
    assert "(live, provisional)" not in text


def test_contact_page_no_show_and_provisional_timeline(admin_client, event):
    gil = Contact.objects.get(email=email("gil"))
    html = html_of(admin_client.get(reverse("crm:contact_detail", args=[gil.pk])))
    assert 'data-state="NO_SHOW"' in html and ">No-show<" in html

    live = make_event("live-1", "Live demo")
    plan_apply(
        Plan(
            event_id=live.pk,
            occurrences=[OccurrenceFact("u", at(0), None)],
            sessions=[SessionFact(email("gil"), "u", "g", at(0), None)],
            event_over=False,
        ),
        now=at(12),
    )
    text = re.sub(
        r"\s+",
        " ",
        re.sub(
            r"<[^>]+>", "", html_of(admin_client.get(reverse("crm:contact_detail", args=[gil.pk])))
        ),
    )
    assert "Attended Live demo — joined 15:00, 12 min so far (live, provisional)" in text


def test_contact_page_marketing_event_kinds_and_empty_card(admin_client):
    from crm.services.timeline import timeline_event_add

    contact = Contact.objects.create(email="zoe@example.com", first_name="Zoe")
    html = html_of(admin_client.get(reverse("crm:contact_detail", args=[contact.pk])))
    assert 'data-testid="contact-participations-empty"' in html
    timeline_event_add(
        contact=contact,
        kind="marketing_event_registered",
        occurred_at=T0,
        data={"event_name": "Partner summit", "event_id": 12345},
    )
    timeline_event_add(
        contact=contact,
        kind="zoom_recording_available",
        occurred_at=T0,
        data={"webinar_name": "Bad link", "recording_url": "javascript:alert(1)"},
    )
    html = html_of(admin_client.get(reverse("crm:contact_detail", args=[contact.pk])))
    assert (
        'Registered for <a href="/marketing-events/12345/"><strong>Partner summit</strong></a>'
        in html
    )
    assert "javascript:alert" not in html


# Cost and access -------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [5, 50])
def test_query_counts_do_not_grow_with_participants(
    admin_client, django_assert_max_num_queries, size
):
    event = make_event()
    people = {f"p{i:02d}": [(0, 5 + i)] for i in range(size)}
    populate(event, attendees=people, no_shows=(), cancelled=())
    contact = Contact.objects.get(email=email("p00"))
    detail = reverse("marketing_events:detail", args=[event.pk])
    # + 1 on the event page, its participants and CSV: the questions answered (rule E1); + 2 on
    # the event page: registrations by source and Zoom's tracking sources (rules E4, E5)
    with django_assert_max_num_queries(11):  # + 1: the bell's unread count in the top bar
        html_of(admin_client.get(detail))
    with django_assert_max_num_queries(7):
        html_of(
            admin_client.get(
                detail,
                {"state": "ATTENDED", "page": 2},
                HTTP_HX_REQUEST="true",
                HTTP_HX_TARGET="participants",
            )
        )
    with django_assert_max_num_queries(5):  # + 1: the bell's unread count in the top bar
        html_of(admin_client.get(reverse("marketing_events:list")))
    with django_assert_max_num_queries(5):
        response = admin_client.get(reverse("marketing_events:participants_csv", args=[event.pk]))
        assert len(csv_of(response)) == size + 1
    # + 2 for the workflow enrollment form (the account's tier, the workflows that are on),
    # + 1 for the personal registration links (the webinars with a public page)
    with django_assert_max_num_queries(10):
        html_of(admin_client.get(reverse("crm:contact_detail", args=[contact.pk])))


def test_viewer_can_read_every_page(client, event):
    viewer = UserFactory(role=Role.VIEWER)
    client.force_login(viewer)
    ana = Contact.objects.get(email=email("ana"))
    for url in (
        reverse("marketing_events:list"),
        reverse("marketing_events:detail", args=[event.pk]),
        reverse("crm:contact_detail", args=[ana.pk]),
    ):
        assert client.get(url).status_code == 200, url
    response = client.get(reverse("marketing_events:participants_csv", args=[event.pk]))
    assert len(csv_of(response)) == 11


def test_viewer_empty_list_points_to_a_super_admin(client):
    client.force_login(UserFactory(role=Role.VIEWER))
    html = html_of(client.get(reverse("marketing_events:list")))
    assert "Ask a super admin to connect Zoom" in html and "Connect Zoom</a>" not in html


def test_anonymous_is_sent_to_log_in(client, event):
    for url in (
        reverse("marketing_events:list"),
        reverse("marketing_events:detail", args=[event.pk]),
        reverse("marketing_events:participants_csv", args=[event.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_participation_count_matches_data(event):
    # Guards the fixture: 7 attendees + 2 no-shows + 1 cancelled.
    assert Participation.objects.filter(event=event).count() == 10


@pytest.mark.parametrize(
    "language, people, state",
    [
        ("pt-br", ("Registrados", "Participantes"), "Participou"),
        ("fr", ("Inscrits", "Participants"), "A participé"),
    ],
)
def test_counts_of_people_and_a_persons_state_read_as_the_language_says_them(
    admin_client, admin_user, event, language, people, state
):
    # rule L1: "Attended" heads a count of people and is also one person's state; the two
    # read differently in Portuguese and French (translation contexts)
    admin_user.language = language
    admin_user.save(update_fields=["language"])
    html = html_of(admin_client.get(reverse("marketing_events:detail", args=[event.pk])))
    labels = re.findall(r'me-stat__label">([^<]+)<', html)
    assert labels[:2] == list(people)
    participants = html_of(
        admin_client.get(reverse("marketing_events:detail", args=[event.pk]), {"state": "ATTENDED"})
    )
    assert f'data-state="ATTENDED">{state}<' in participants
