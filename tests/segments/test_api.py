"""`/api/v1/segments/` (DESIGN "Own API shapes", "Decisions on details", rules G1–G4, B9)."""

import csv
import io

import pytest

from crm.contact_filters import REGISTRY as FILTER_TYPES
from crm.models import Contact, PropertyDefinition, PropertyType
from marketing_events.activity import activity_rebuild
from marketing_events.models import MarketingEvent, Participation
from segments.models import Segment, SegmentMember
from tests.factories import ContactFactory
from tests.segments import PAGE_WALK

URL = "/api/v1/segments/"


@pytest.fixture
def event(db):
    return MarketingEvent.objects.create(
        source="zoom", external_account_id="acct", external_event_id="81100000001", name="Growth"
    )


@pytest.fixture
def people(db, event):
    contacts = [ContactFactory(email=f"p{i}@acme.com", company=f"Co {i}") for i in range(7)]
    for contact in contacts[:4]:
        Participation.objects.create(
            contact=contact, event=event, state="ATTENDED", duration_seconds=2400
        )
    Participation.objects.create(contact=contacts[4], event=event, state="REGISTERED")
    return contacts


ALL_CONTACTS = {
    "or": [{"and": [{"type": "property", "property": "email", "operator": "is_known"}]}]
}


def attended(event_id, negate=False):
    return {"or": [{"and": [{"type": "event_attended", "event_id": event_id, "negate": negate}]}]}


@pytest.mark.django_db
def test_create_read_update_delete(admin_api, event):
    created = admin_api.post(
        URL, {"name": "Attendees", "filters": attended(event.pk)}, format="json"
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["kind"] == "active"
    assert body["name"] == "Attendees"
    assert body["filters"] == {
        "or": [{"and": [{"type": "event_attended", "event_id": event.pk, "negate": False}]}]
    }
    segment_url = f"{URL}{body['id']}/"
    assert admin_api.get(segment_url).json()["id"] == body["id"]
    renamed = admin_api.patch(segment_url, {"name": "Growth attendees"}, format="json")
    assert renamed.json()["name"] == "Growth attendees"
    listing = admin_api.get(URL).json()
    assert [s["name"] for s in listing["results"]] == ["Growth attendees"]
    assert listing["next"] is None
    assert admin_api.delete(segment_url).status_code == 204
    assert not Segment.objects.exists()


@pytest.mark.django_db
def test_event_ids_may_be_strings(admin_api, event):
    # DESIGN "Decisions": ids are strings, integers accepted
    response = admin_api.post(URL, {"name": "S", "filters": attended(str(event.pk))}, format="json")
    assert response.status_code == 201
    assert response.json()["filters"]["or"][0]["and"][0]["event_id"] == event.pk


BAD_TREES = [
    ({"and": []}, "", "The filter tree is"),
    ({"or": [{"and": []}]}, "or[0].and", "at least one filter"),
    ({"or": [{"and": [{"type": "nope"}]}]}, "or[0].and[0].type", "Unknown filter type"),
    (
        {"or": [{"and": [{"type": "event_attended", "event_id": None}]},
                {"and": [{"type": "property", "property": "email", "operator": "like",
                          "value": "x"}]}]},
        "or[1].and[0].operator",
        "Unknown operator",
    ),
    (
        {"or": [{"and": [{"type": "event_attendance_duration", "event_id": None,
                          "operator": "gte", "value": "thirty"}]}]},
        "or[0].and[0].value",
        "not a number",
    ),
    (
        {"or": [{"and": [{"type": "property", "property": "nope", "operator": "eq",
                          "value": "x"}]}]},
        "or[0].and[0].property",
        "does not exist",
    ),
    (
        {"or": [{"and": [{"type": "property", "property": "email", "operator": "is_known",
                          "value": "x"}]}]},
        "or[0].and[0].value",
        "takes no value",
    ),
    (
        {"or": [{"and": [{"type": "property", "property": "createdate", "operator": "gte",
                          "value": "yesterday"}]}]},
        "or[0].and[0].value",
        "is not a date",
    ),
    (
        {"or": [{"and": [{"type": "zoom_webinar_attendance", "webinar_id": "811-000"}]}]},
        "or[0].and[0].webinar_id",
        "digits only",
    ),
    (
        {"or": [{"and": [{"type": "zoom_webinar_attendance",
                          "duration": {"operator": "gte", "value": [1, 2]}}]}]},
        "or[0].and[0].duration.value",
        "one value",
    ),
    (
        {"or": [{"and": [{"type": "event_attended", "event_id": 999999}]}]},
        "or[0].and[0].event_id",
        "does not exist",
    ),
    (
        {"or": [{"and": [{"type": "event_registered", "event_id": None, "negate": "yes"}]}]},
        "or[0].and[0].negate",
        "true or false",
    ),
]  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize(("tree", "path", "message"), BAD_TREES)
def test_bad_filters_are_refused_naming_the_node(admin_api, tree, path, message):
    # DESIGN "Decisions": an empty AND group is a 400; errors name the bad node or[i].and[j]
    response = admin_api.post(URL, {"name": "Bad", "filters": tree}, format="json")
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["errors"][0]["path"] == path
    assert message in body["errors"][0]["message"]
    assert message in body["detail"]
    assert not Segment.objects.exists()


@pytest.mark.django_db
def test_every_bad_node_is_reported(admin_api):
    tree = {"or": [{"and": [{"type": "x"}, {"type": "event_attended", "event_id": "a"}]},
                   {"and": []}]}  # fmt: skip
    response = admin_api.post(URL, {"name": "Bad", "filters": tree}, format="json")
    assert [e["path"] for e in response.json()["errors"]] == [
        "or[0].and[0].type",
        "or[0].and[1].event_id",
        "or[1].and",
    ]


@pytest.mark.django_db
def test_a_viewer_reads_but_cannot_create_or_edit(viewer_api, admin_api, event):
    segment = admin_api.post(URL, {"name": "A", "filters": attended(event.pk)}, format="json")
    segment_url = f"{URL}{segment.json()['id']}/"
    assert viewer_api.get(segment_url).status_code == 200
    refused = viewer_api.post(URL, {"name": "B", "filters": {"or": []}}, format="json")
    assert refused.status_code == 403
    assert "read-only" in refused.json()["detail"]
    assert viewer_api.patch(segment_url, {"name": "C"}, format="json").status_code == 403
    assert viewer_api.delete(segment_url).status_code == 403
    assert Segment.objects.get().name == "A"


@pytest.mark.django_db
def test_count_members_and_paging(admin_api, people, event, django_assert_max_num_queries):
    created = admin_api.post(
        URL, {"name": "Attendees", "filters": attended(event.pk)}, format="json"
    ).json()
    base = f"{URL}{created['id']}/"
    assert admin_api.get(f"{base}count/").json() == {"count": 4}
    seen = []
    url = f"{base}members/?limit=3&properties=company"
    while url:
        with django_assert_max_num_queries(6 + PAGE_WALK):
            page = admin_api.get(url).json()
        seen += page["results"]
        url = page["next"]
    expected = sorted(people[:4], key=lambda c: c.pk)
    assert [row["id"] for row in seen] == [c.pk for c in expected]
    assert seen[0] == {
        "id": expected[0].pk,
        "email": expected[0].email,
        "firstname": expected[0].first_name,
        "lastname": expected[0].last_name,
        "company": expected[0].company,
    }


@pytest.mark.django_db
def test_members_page_costs_the_same_at_any_depth(admin_api, db, django_assert_max_num_queries):
    ContactFactory.create_batch(30)
    created = admin_api.post(
        URL,
        {"name": "All", "filters": {"or": [{"and": [
            {"type": "property", "property": "email", "operator": "is_known"}]}]}},
        format="json",
    ).json()  # fmt: skip
    url = f"{URL}{created['id']}/members/?limit=5"
    pages = 0
    while url:
        with django_assert_max_num_queries(5 + PAGE_WALK):
            body = admin_api.get(url).json()
        url = body["next"]
        pages += 1
    assert pages == 6


@pytest.mark.django_db
def test_unknown_property_or_bad_limit_is_a_400(admin_api, event):
    created = admin_api.post(URL, {"name": "A", "filters": attended(event.pk)}, format="json")
    base = f"{URL}{created.json()['id']}/"
    assert admin_api.get(f"{base}members/?properties=nope").status_code == 400
    assert admin_api.get(f"{base}members/?limit=0").status_code == 400
    assert admin_api.get(f"{base}export.csv?properties=nope").status_code == 400


@pytest.mark.django_db
def test_csv_export(admin_api, people, event):
    created = admin_api.post(
        URL, {"name": "Attendees", "filters": attended(event.pk)}, format="json"
    ).json()
    response = admin_api.get(f"{URL}{created['id']}/export.csv?properties=company")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["id", "email", "firstname", "lastname", "company"]
    expected = sorted(people[:4], key=lambda c: c.pk)
    assert rows[1:] == [
        [str(c.pk), c.email, c.first_name, c.last_name, c.company] for c in expected
    ]


@pytest.mark.django_db
def test_csv_neutralizes_formulas(admin_api, db):
    ContactFactory(email="x@acme.com", first_name="=HYPERLINK(1)")
    created = admin_api.post(
        URL, {"name": "All", "filters": {"or": [{"and": [
            {"type": "property", "property": "email", "operator": "is_known"}]}]}},
        format="json",
    ).json()  # fmt: skip
    text = b"".join(admin_api.get(f"{URL}{created['id']}/export.csv").streaming_content).decode()
    assert "'=HYPERLINK(1)" in text


@pytest.mark.django_db
def test_csv_escapes_formulas_in_every_text_cell(admin_api, db):
    # E-mails, names and properties are typed by outsiders: none may reach a spreadsheet as a
    # formula (OWASP "CSV Injection"); a plain value is unchanged.
    evil = ContactFactory(
        email="=1+2@evil.example", first_name="+SUM(1,2)", last_name="\r@cmd", company="-2+3"
    )
    plain = ContactFactory(
        email="ana@acme.com", first_name="Ana", last_name="Silva", company="Acme"
    )
    segment = Segment.objects.create(name="Everyone", filters=ALL_CONTACTS)
    response = admin_api.get(f"{URL}{segment.pk}/export.csv?properties=company")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert sorted(rows[1:]) == sorted(
        [
            [str(evil.pk), "'=1+2@evil.example", "'+SUM(1,2)", "'\r@cmd", "'-2+3"],
            [str(plain.pk), "ana@acme.com", "Ana", "Silva", "Acme"],
        ]
    )


@pytest.mark.django_db
def test_static_segment_starts_as_snapshot_then_add_remove(admin_api, people, event):
    # DESIGN "Decisions": created with filters, a static segment starts as their snapshot
    created = admin_api.post(
        URL, {"name": "Snap", "kind": "static", "filters": attended(event.pk)}, format="json"
    ).json()
    base = f"{URL}{created['id']}/"
    assert admin_api.get(f"{base}count/").json() == {"count": 4}
    # New activity does not change a static segment.
    Participation.objects.create(contact=people[5], event=event, state="ATTENDED")
    assert admin_api.get(f"{base}count/").json() == {"count": 4}
    added = admin_api.post(
        f"{base}members/add/", {"contact_ids": [people[5].pk, people[0].pk]}, format="json"
    )
    assert added.json() == {"changed": 1, "count": 5}
    removed = admin_api.post(
        f"{base}members/remove/", {"contact_ids": [people[0].pk, people[6].pk]}, format="json"
    )
    assert removed.json() == {"changed": 1, "count": 4}
    members = {r["id"] for r in admin_api.get(f"{base}members/").json()["results"]}
    assert members == {people[1].pk, people[2].pk, people[3].pk, people[5].pk}


@pytest.mark.django_db
def test_static_add_with_an_unknown_id_changes_nothing(admin_api, people):
    created = admin_api.post(
        URL, {"name": "Hand", "kind": "static", "filters": {"or": []}}, format="json"
    ).json()
    base = f"{URL}{created['id']}/"
    response = admin_api.post(
        f"{base}members/add/", {"contact_ids": [people[0].pk, 999999]}, format="json"
    )
    assert response.status_code == 400
    assert "999999" in response.json()["detail"]
    assert not SegmentMember.objects.exists()


@pytest.mark.django_db
def test_active_segments_take_no_members_by_hand(admin_api, people, event):
    created = admin_api.post(URL, {"name": "A", "filters": attended(event.pk)}, format="json")
    response = admin_api.post(
        f"{URL}{created.json()['id']}/members/add/", {"contact_ids": [people[6].pk]}, format="json"
    )
    assert response.status_code == 409


@pytest.mark.django_db
def test_archived_contacts_leave_every_segment(admin_api, people, event):
    created = admin_api.post(
        URL, {"name": "Snap", "kind": "static", "filters": attended(event.pk)}, format="json"
    ).json()
    Contact.objects.filter(pk=people[0].pk).update(archived_at="2026-01-01T00:00:00Z")
    assert admin_api.get(f"{URL}{created['id']}/count/").json() == {"count": 3}


@pytest.mark.django_db
def test_snapshot_of_an_active_segment(admin_api, people, event):
    created = admin_api.post(URL, {"name": "A", "filters": attended(event.pk)}, format="json")
    snap = admin_api.post(
        f"{URL}{created.json()['id']}/snapshot/", {"name": "A, frozen"}, format="json"
    )
    assert snap.status_code == 201
    assert snap.json()["kind"] == "static"
    assert admin_api.get(f"{URL}{snap.json()['id']}/count/").json() == {"count": 4}


@pytest.mark.django_db
def test_preview_counts_without_saving(marketer_api, people, event):
    response = marketer_api.post(
        f"{URL}preview/", {"filters": attended(event.pk, negate=True)}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [m["id"] for m in body["members"]] == sorted(c.pk for c in people[4:])
    assert not Segment.objects.exists()


@pytest.mark.django_db
def test_a_viewer_may_preview(viewer_api, event):
    response = viewer_api.post(f"{URL}preview/", {"filters": attended(event.pk)}, format="json")
    assert response.status_code == 200


@pytest.mark.django_db
def test_static_segment_filters_are_fixed(admin_api, event):
    created = admin_api.post(
        URL, {"name": "Snap", "kind": "static", "filters": attended(event.pk)}, format="json"
    ).json()
    response = admin_api.patch(f"{URL}{created['id']}/", {"filters": {"or": []}}, format="json")
    assert response.status_code == 409


@pytest.mark.django_db
def test_duplicate_name_is_a_409(admin_api):
    admin_api.post(URL, {"name": "Same", "filters": {"or": []}}, format="json")
    response = admin_api.post(URL, {"name": "same", "filters": {"or": []}}, format="json")
    assert response.status_code == 409
    assert "already exists" in response.json()["detail"]


@pytest.mark.django_db
def test_token_scopes(token_client, marketer, event):
    reader = token_client(marketer, ["segments.read"])
    assert reader.get(URL).status_code == 200
    response = reader.post(URL, {"name": "X", "filters": {"or": []}}, format="json")
    assert response.status_code == 403
    assert "segments.write" in response.json()["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "method, path, body",
    [
        ("get", "{id}/members/", None),
        ("get", "{id}/members/?properties=company,phone", None),
        ("get", "{id}/export.csv", None),
        ("get", "{id}/export.csv?properties=company,phone", None),
        ("post", "preview/", {"filters": ALL_CONTACTS}),
    ],
)
def test_contact_data_needs_the_contact_read_scope(token_client, marketer, method, path, body):
    # DESIGN "Production safety": members, previews and exports need the contact read scope
    # as well as the segment one.
    ContactFactory(email="secret@acme.com", company="Hidden Co")
    segment = Segment.objects.create(name="Everyone", filters=ALL_CONTACTS)
    url = URL + path.format(id=segment.pk)
    segments_only = token_client(marketer, ["segments.read"])
    refused = getattr(segments_only, method)(url, body, format="json")
    assert refused.status_code == 403
    assert refused.json() == {
        "detail": "This token lacks the scope crm.objects.contacts.read: this endpoint needs it "
        "as well as segments.read, because it shows contacts' data.",
        "code": "missing_scopes",
    }
    assert b"secret@acme.com" not in refused.content
    both = token_client(marketer, ["segments.read", "crm.objects.contacts.read"])
    allowed = getattr(both, method)(url, body, format="json")
    assert allowed.status_code == 200
    content = b"".join(allowed.streaming_content) if allowed.streaming else allowed.content
    assert b"secret@acme.com" in content


@pytest.mark.django_db
def test_counts_need_the_segment_scope_only(token_client, marketer):
    ContactFactory(email="secret@acme.com")
    segment = Segment.objects.create(name="Everyone", filters=ALL_CONTACTS)
    segments_only = token_client(marketer, ["segments.read"])
    assert segments_only.get(f"{URL}{segment.pk}/count/").json() == {"count": 1}
    assert segments_only.get(f"{URL}{segment.pk}/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "node",
    [
        {"type": "event_attended", "event_id": "²"},
        {"type": "property", "property": "hs_object_id", "operator": "eq", "value": 1.5},
        {"type": "property", "property": "hs_object_id", "operator": "between", "value": [1, 10.5]},
    ],
)
def test_filters_the_query_cannot_use_are_a_400_when_saved(admin_api, node):
    """Both were accepted, then answered 500 (an int() of "²"; a record id of 1.5 at count)."""
    response = admin_api.post(
        URL, {"name": "Odd", "filters": {"or": [{"and": [node]}]}}, format="json"
    )
    assert response.status_code == 400, response.content
    preview = admin_api.post(
        f"{URL}preview/", {"filters": {"or": [{"and": [node]}]}}, format="json"
    )
    assert preview.status_code == 400


def _tree(*nodes, groups=1):
    return {"or": [{"and": list(nodes)} for _ in range(groups)]}


def _prop(operator, value, prop="firstname"):
    return {"type": "property", "property": prop, "operator": operator, "value": value}


TOO_LARGE_TREES = [
    (_tree(_prop("in", ["a"] * 501)), "or[0].and[0].value", "at most 500 values; got 501"),
    (_tree(_prop("not_in", list(range(501)), "score")), "or[0].and[0].value", "at most 500"),
    (_tree(_prop("contains", "a" * 1001)), "or[0].and[0].value", "at most 1000 characters"),
    (_tree(_prop("in", ["a", "b" * 1001])), "or[0].and[0].value[1]", "at most 1000 characters"),
    (_tree(_prop("between", ["a", "z" * 1001])), "or[0].and[0].value[1]", "at most 1000"),
    (_tree(_prop("eq", "a", "p" * 101)), "or[0].and[0].property", "at most 100 characters"),
    (
        _tree({"type": "event_attendance_duration", "operator": "gt", "value": "9" * 5000}),
        "or[0].and[0].value",
        "at most 1000 characters",
    ),
    (
        _tree({"type": "zoom_webinar_registration", "webinar_name": _prop("eq", "w" * 1001)}),
        "or[0].and[0].webinar_name.value",
        "at most 1000 characters",
    ),
    (
        _tree({"type": "zoom_webinar_attendance", "webinar_id": "8" * 101}),
        "or[0].and[0].webinar_id",
        "at most 100 characters",
    ),
    # Python refuses int() of more than 4300 digits; "²" is a digit to isdigit(), not to int().
    (
        _tree({"type": "event_attended", "event_id": "9" * 5000}),
        "or[0].and[0].event_id",
        "a number",
    ),
    (_tree({"type": "event_attended", "event_id": "²"}), "or[0].and[0].event_id", "a number"),
    (
        _tree(*[_prop("is_known", None)] * 21, groups=5),
        "or",
        "at most 100 filters are allowed in all; got 105",
    ),
    (_tree({"type": "t" * 5000}), "or[0].and[0].type", "Unknown filter type 'tttt"),
    (_tree({"type": "event_attended", "k" * 5000: 1}), "or[0].and[0]." + "k" * 40, "Unknown key"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("tree", "path", "message"), TOO_LARGE_TREES)
@pytest.mark.parametrize("endpoint", ["create", "preview"])
def test_filters_beyond_their_bounds_are_400s_naming_the_node(
    admin_api, tree, path, message, endpoint
):
    PropertyDefinition.objects.create(
        name="score", label="Score", type=PropertyType.NUMBER, field_type="number"
    )
    body = {"name": "Big", "filters": tree} if endpoint == "create" else {"filters": tree}

    response = admin_api.post(
        URL if endpoint == "create" else f"{URL}preview/", body, format="json"
    )

    assert response.status_code == 400, response.content[:300]
    error = response.json()["errors"][0]
    assert error["path"] == path
    assert message in error["message"]
    # The input is named, not repeated (an unknown type's message lists the known types).
    known = ", ".join(FILTER_TYPES)
    assert len(response.json()["detail"]) < 300 + len(known)
    assert "t" * 100 not in response.json()["detail"] and "k" * 100 not in response.json()["detail"]
    assert not Segment.objects.exists()


@pytest.mark.django_db
def test_filters_at_their_bounds_are_accepted(admin_api):
    # A first name is at most 150 characters (the column); the longest value is another one.
    ContactFactory(first_name="A" * 150)
    tree = {
        "or": [
            {"and": [_prop("in", [f"n{i}" for i in range(498)] + ["B" * 1000, "A" * 150])] * 25},
            *[{"and": [_prop("is_known", None)] * 25}] * 3,
        ]
    }

    response = admin_api.post(URL, {"name": "Big", "filters": tree}, format="json")

    assert response.status_code == 201, response.content[:300]
    count = admin_api.get(f"{URL}{response.json()['id']}/count/").json()
    assert count == {"count": 1}


TOO_MANY_PROPERTIES = "properties=" + ",".join(f"p{i}" for i in range(61))
TOO_LONG_PROPERTY = "properties=email," + "p" * 101


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("page", "query", "message"),
    [
        ("members/", TOO_MANY_PROPERTIES, "60 property names"),
        ("members/", "properties=email,caf%C3%A9", "letters, digits and underscores"),
        ("members/", TOO_LONG_PROPERTY, "100 characters"),
        ("members/", "limit=" + "9" * 5000, "limit"),
        ("members/", "after=²", "after"),
        ("export.csv", TOO_MANY_PROPERTIES, "60 property names"),
        ("export.csv", TOO_LONG_PROPERTY, "100 characters"),
    ],
)
def test_members_and_export_parameters_beyond_their_bounds_are_400s(
    admin_api, event, page, query, message
):
    segment = admin_api.post(URL, {"name": "A", "filters": attended(event.pk)}, format="json")

    response = admin_api.get(f"{URL}{segment.json()['id']}/{page}?{query}")

    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert response.json()["errors"][0]["name"] == query.split("=")[0]


def test_the_schema_states_the_properties_bound_of_members_and_export():
    from tests.support.openapi import parameter

    for page in ("members/", "export.csv"):
        schema = parameter(f"{URL}{{segment_id}}/{page}", "get", "properties")
        assert schema == {
            "type": "string",
            "maxLength": 60 * 101,
            "pattern": "^[A-Za-z0-9_, ]*$",
        }


@pytest.mark.django_db
def test_attended_at_least_n_events(marketer_api, people, event):
    # issue 21: the count option of the event-state filters, saved as sent and answered from
    # the contacts' rollups; a count that is not a whole number is a 400 naming it.
    other = MarketingEvent.objects.create(
        source="api", external_account_id="acct", external_event_id="x-2", name="Other"
    )
    Participation.objects.create(contact=people[0], event=other, state="ATTENDED")
    activity_rebuild()  # written without the services
    regulars = {"or": [{"and": [{"type": "event_attended", "event_id": None,
                                 "count": {"operator": "gte", "value": 2}}]}]}  # fmt: skip
    preview = marketer_api.post(f"{URL}preview/", {"filters": regulars}, format="json")
    assert preview.status_code == 200
    assert preview.json()["count"] == 1
    assert [m["id"] for m in preview.json()["members"]] == [people[0].pk]
    created = marketer_api.post(URL, {"name": "Regulars", "filters": regulars}, format="json")
    assert created.status_code == 201, created.json()
    node = created.json()["filters"]["or"][0]["and"][0]
    assert node == {"type": "event_attended", "event_id": None, "negate": False,
                    "count": {"operator": "gte", "value": 2}}  # fmt: skip
    bad = {"or": [{"and": [{**node, "count": {"operator": "gte", "value": 1.5}}]}]}
    refused = marketer_api.post(URL, {"name": "Bad", "filters": bad}, format="json")
    assert refused.status_code == 400
    assert [e["path"] for e in refused.json()["errors"]] == ["or[0].and[0].count.value"]
    assert Segment.objects.count() == 1
