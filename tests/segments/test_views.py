"""Segments in the browser (server side): list, sizes, builder save and errors, segment page,
export, static members, pickers, legacy conversion (B9), roles."""

import csv
import io
import json

import pytest
from django.db import connection
from django.urls import reverse

from crm.models import Role
from marketing_events.models import MarketingEvent, Participation
from segments.models import Segment, SegmentKind, SegmentMember
from tests.factories import ContactFactory, UserFactory
from tests.segments import PAGE_WALK


@pytest.fixture
def webinar(db):
    return MarketingEvent.objects.create(
        source="zoom", external_account_id="a", external_event_id="81100000001", name="Growth 101"
    )


@pytest.fixture
def attendees(webinar):
    people = [ContactFactory(email=f"a{i}@acme.com") for i in range(3)]
    for person in people:
        Participation.objects.create(contact=person, event=webinar, state="ATTENDED")
    return people


def tree_attended(event_id):
    return {"or": [{"and": [{"type": "event_attended", "event_id": event_id}]}]}


def login(client, role=Role.MARKETING):
    user = UserFactory(role=role)
    client.force_login(user)
    return user


@pytest.mark.django_db
def test_empty_list_says_what_to_do(client):
    login(client)
    html = client.get(reverse("segments:list")).content.decode()
    assert "No segments yet" in html
    assert reverse("segments:create") in html


@pytest.mark.django_db
def test_list_and_sizes(client, attendees, webinar, django_assert_max_num_queries):
    login(client)
    active = Segment.objects.create(name="Came", filters=tree_attended(webinar.pk))
    static = Segment.objects.create(name="Hand", kind=SegmentKind.STATIC)
    SegmentMember.objects.create(segment=static, contact=attendees[0])
    for i in range(10):
        Segment.objects.create(name=f"Other {i}", kind=SegmentKind.STATIC)
    with django_assert_max_num_queries(6):
        html = client.get(reverse("segments:list")).content.decode()
    assert "Came" in html and "Hand" in html
    ids = f"{active.pk},{static.pk}"
    sizes = client.get(reverse("segments:sizes") + f"?ids={ids}").json()
    assert sizes == {str(active.pk): 3, str(static.pk): 1}
    found = client.get(reverse("segments:list") + "?q=han", HTTP_HX_REQUEST="true")
    assert "Hand" in found.content.decode() and "Came" not in found.content.decode()


@pytest.mark.django_db
def test_builder_saves_a_segment(client, attendees, webinar):
    login(client)
    assert client.get(reverse("segments:create")).status_code == 200
    response = client.post(
        reverse("segments:create"),
        {"name": "Growth attendees", "kind": "active",
         "filters": json.dumps(tree_attended(webinar.pk))},
    )  # fmt: skip
    segment = Segment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("segments:detail", args=[segment.pk])
    page = client.get(response["Location"]).content.decode()
    assert "Growth attendees" in page
    assert "Attended “Growth 101”" in page
    for person in attendees:
        assert person.email in page


@pytest.mark.django_db
def test_builder_shows_errors_and_keeps_input(client, webinar):
    login(client)
    bad = {"or": [{"and": [{"type": "event_attendance_duration", "event_id": webinar.pk,
                            "operator": "gte", "value": "soon"}]}]}  # fmt: skip
    response = client.post(
        reverse("segments:create"),
        {"name": "Keep me", "kind": "active", "filters": json.dumps(bad)},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "or[0].and[0].value" in html
    assert "Keep me" in html
    assert not Segment.objects.exists()


@pytest.mark.django_db
def test_builder_refuses_unreadable_filters(client):
    login(client)
    response = client.post(
        reverse("segments:create"), {"name": "X", "kind": "active", "filters": "{nope"}
    )
    assert response.status_code == 400
    assert not Segment.objects.exists()


@pytest.mark.django_db
def test_a_viewer_sees_segments_but_cannot_build(client, webinar):
    login(client, Role.VIEWER)
    segment = Segment.objects.create(name="Came", filters=tree_attended(webinar.pk))
    assert client.get(reverse("segments:detail", args=[segment.pk])).status_code == 200
    html = client.get(reverse("segments:list")).content.decode()
    assert reverse("segments:create") not in html
    assert client.get(reverse("segments:create")).status_code == 403
    assert client.post(reverse("segments:delete", args=[segment.pk])).status_code == 403
    response = client.post(
        reverse("segments:edit", args=[segment.pk]), {"name": "Hacked", "filters": "{}"}
    )
    assert response.status_code == 403
    assert Segment.objects.get().name == "Came"


@pytest.mark.django_db
def test_members_pages_by_keyset(client, db, django_assert_max_num_queries):
    login(client)
    ContactFactory.create_batch(60)
    segment = Segment.objects.create(
        name="All",
        filters={"or": [{"and": [{"type": "property", "property": "email",
                                  "operator": "is_known"}]}]},
    )  # fmt: skip
    url = reverse("segments:detail", args=[segment.pk])
    # (+2 on PostgreSQL: the count sets its parallel workers, and back inside the test's
    # transaction; and the page's walk)
    with django_assert_max_num_queries(
        (12 if connection.vendor == "postgresql" else 10) + PAGE_WALK
    ):
        first = client.get(url)
    assert "members-next" in first.content.decode()
    after = first.context["next_after"]
    with django_assert_max_num_queries(10 + PAGE_WALK):
        second = client.get(f"{url}?after={after}", HTTP_HX_REQUEST="true")
    assert len(second.context["members"]) == 10
    assert second.context["next_after"] is None


@pytest.mark.django_db
def test_export_from_the_page(client, attendees, webinar):
    login(client, Role.VIEWER)
    segment = Segment.objects.create(name="Came", filters=tree_attended(webinar.pk))
    response = client.get(reverse("segments:export", args=[segment.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["id", "email", "firstname", "lastname"]
    assert sorted(r[1] for r in rows[1:]) == sorted(p.email for p in attendees)


@pytest.mark.django_db
def test_export_from_the_page_escapes_formulas(client):
    # OWASP "CSV Injection": e-mails and names are escaped, a plain value is unchanged.
    login(client, Role.VIEWER)
    ContactFactory(email="=1+2@evil.example", first_name="-2+3", last_name="\t=cmd")
    ContactFactory(email="ana@acme.com", first_name="Ana", last_name="Silva")
    known = {"type": "property", "property": "email", "operator": "is_known"}
    segment = Segment.objects.create(name="All", filters={"or": [{"and": [known]}]})
    response = client.get(reverse("segments:export", args=[segment.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert sorted(r[1:] for r in rows[1:]) == [
        ["'=1+2@evil.example", "'-2+3", "'\t=cmd"],
        ["ana@acme.com", "Ana", "Silva"],
    ]


@pytest.mark.django_db
def test_static_members_by_hand(client, attendees):
    login(client)
    segment = Segment.objects.create(name="Hand", kind=SegmentKind.STATIC)
    change = reverse("segments:members_change", args=[segment.pk, "add"])
    client.post(change, {"contact": attendees[0].email.upper()})
    client.post(change, {"contact": str(attendees[1].pk)})
    response = client.post(change, {"contact": "nobody@nowhere.test"}, follow=True)
    assert "No contact with the e-mail" in response.content.decode()
    assert set(SegmentMember.objects.values_list("contact_id", flat=True)) == {
        attendees[0].pk,
        attendees[1].pk,
    }
    client.post(
        reverse("segments:members_change", args=[segment.pk, "remove"]),
        {"contact": attendees[0].pk},
    )
    assert list(SegmentMember.objects.values_list("contact_id", flat=True)) == [attendees[1].pk]


@pytest.mark.django_db
def test_snapshot_and_delete_from_the_page(client, attendees, webinar):
    login(client)
    segment = Segment.objects.create(name="Came", filters=tree_attended(webinar.pk))
    response = client.post(reverse("segments:snapshot", args=[segment.pk]))
    static = Segment.objects.get(kind=SegmentKind.STATIC)
    assert response["Location"] == reverse("segments:detail", args=[static.pk])
    assert static.members.count() == 3
    client.post(reverse("segments:delete", args=[segment.pk]))
    assert list(Segment.objects.values_list("name", flat=True)) == [static.name]


@pytest.mark.django_db
def test_pickers_search_events_and_webinars(client, webinar):
    login(client, Role.VIEWER)
    MarketingEvent.objects.create(
        source="api", external_account_id="a", external_event_id="x", name="Growth summit"
    )
    events = client.get(reverse("segments:pick_events") + "?q=growth").json()["results"]
    assert {e["name"] for e in events} == {"Growth 101", "Growth summit"}
    webinars = client.get(reverse("segments:pick_webinars") + "?q=growth").json()["results"]
    assert webinars == [{"id": "81100000001", "name": "Growth 101", "starts_at": None}]
    by_id = client.get(reverse("segments:pick_webinars") + "?q=811").json()["results"]
    assert [w["id"] for w in by_id] == ["81100000001"]


@pytest.mark.django_db
def test_legacy_segment_converts_in_one_click(client, attendees):
    # rule B9: a segment on legacy properties offers the conversion; the builder opens with
    # marketing-event filters and notes, and saving applies them
    login(client)
    legacy = {"or": [{"and": [
        {"type": "property", "property": "zoom_webinar_attendance_count", "operator": "gte",
         "value": 1},
        {"type": "property", "property": "zoom_average_webinar_attendance_percent",
         "operator": "gte", "value": 50},
    ]}]}  # fmt: skip
    segment = Segment.objects.create(name="Legacy", filters=legacy)
    page = client.get(reverse("segments:detail", args=[segment.pk])).content.decode()
    assert "Convert to marketing-event filters" in page
    builder = client.get(reverse("segments:edit", args=[segment.pk]) + "?convert=legacy")
    converted = json.loads(builder.context["filters_json"])
    assert converted == {"or": [{"and": [
        {"type": "zoom_webinar_attendance", "webinar_id": None, "negate": False},
        {"type": "zoom_webinar_attendance", "webinar_id": None,
         "duration_percent": {"operator": "gte", "value": 50}, "negate": False},
    ]}]}  # fmt: skip
    assert "not on the average" in builder.content.decode()
    client.post(
        reverse("segments:edit", args=[segment.pk]),
        {"name": "Legacy", "filters": builder.context["filters_json"]},
    )
    segment.refresh_from_db()
    assert segment.filters == converted
    page = client.get(reverse("segments:detail", args=[segment.pk])).content.decode()
    assert "Convert to marketing-event filters" not in page


def _tables_read(queries) -> str:
    return " ".join(q["sql"] for q in queries.captured_queries)


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [False, True])
def test_a_too_long_list_search_says_so_and_runs_no_query(client, htmx):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    login(client)
    Segment.objects.create(name="Hand", kind=SegmentKind.STATIC)
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("segments:list"), {"q": "h" * 201}, **headers)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="search-error"' in html
    assert "at most 200 characters" in html
    assert "Hand" not in html
    assert Segment._meta.db_table not in _tables_read(queries)
    # At the bound, the search runs.
    at_bound = client.get(reverse("segments:list"), {"q": "h" * 200}).content.decode()
    assert "No segment matches" in at_bound
    assert "search-error" not in at_bound


@pytest.mark.django_db
def test_the_list_search_box_takes_at_most_200_characters(client):
    login(client)
    html = client.get(reverse("segments:list")).content.decode()
    assert 'maxlength="200"' in html


@pytest.mark.django_db
@pytest.mark.parametrize("picker", ["segments:pick_events", "segments:pick_webinars"])
def test_pickers_refuse_a_too_long_search(client, webinar, picker):
    login(client, Role.VIEWER)

    response = client.get(reverse(picker), {"q": "g" * 201})

    assert response.status_code == 400
    assert response.json()["results"] == []
    assert "at most 200 characters" in response.json()["error"]


@pytest.mark.django_db
def test_builder_shows_a_tree_too_large_and_saves_nothing(client):
    login(client)
    node = {"type": "property", "property": "email", "operator": "is_known"}
    tree = {"or": [{"and": [node] * 21} for _ in range(5)]}

    response = client.post(
        reverse("segments:create"), {"name": "Big", "kind": "active", "filters": json.dumps(tree)}
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "at most 100 filters are allowed in all; got 105" in html
    assert "Big" in html
    assert not Segment.objects.exists()


@pytest.mark.django_db
def test_builder_shows_an_in_list_too_long_on_its_filter(client):
    login(client)
    node = {"type": "property", "property": "email", "operator": "in", "value": ["a"] * 501}

    response = client.post(
        reverse("segments:create"),
        {"name": "Big", "kind": "active", "filters": json.dumps({"or": [{"and": [node]}]})},
    )

    assert response.status_code == 400
    errors = json.loads(
        response.content.decode().split('id="seg-errors" type="application/json">')[1].split("<")[0]
    )
    assert errors == [
        {"path": "or[0].and[0].value", "message": "in takes at most 500 values; got 501"}
    ]
    assert not Segment.objects.exists()


@pytest.mark.django_db
def test_builder_knows_the_input_bounds(client):
    login(client)
    response = client.get(reverse("segments:create"))
    catalogue = json.loads(
        response.content.decode()
        .split('id="seg-catalogue" type="application/json">')[1]
        .split("</")[0]
    )
    assert catalogue["limits"] == {"search": 200, "text": 1000}
