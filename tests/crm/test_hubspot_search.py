"""HubSpot-compatible contact search: filter groups, the 13 operators over columns, secondary
e-mails, ids, dates and custom properties, tokens, free text, sorts, paging, limits, errors."""

import datetime as dt

import pytest

from crm import scopes
from crm.models import Contact, PropertyDefinition, PropertyType
from crm.properties import SEARCH_DEFAULT_RETURNED
from tests.factories import ContactFactory, SecondaryEmailFactory

URL = "/crm/v3/objects/contacts/search"

pytestmark = pytest.mark.django_db


def _at(text):
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def _ms(text):
    return str(int(_at(text).timestamp() * 1000))


@pytest.fixture
def people():
    """Four contacts; `c4` has no e-mail and no company."""
    PropertyDefinition.objects.create(
        name="score", label="Score", type=PropertyType.NUMBER, field_type="number"
    )
    PropertyDefinition.objects.create(name="tier", label="Tier", type=PropertyType.STRING)
    c1 = ContactFactory(
        email="ana@example.com",
        first_name="Ana",
        last_name="Silva",
        company="Acme Corp",
        properties={"score": "10", "tier": "gold"},
        created_at=_at("2024-01-01T00:00:00"),
        updated_at=_at("2024-02-01T00:00:00"),
    )
    c2 = ContactFactory(
        email="bob@example.org",
        first_name="Bob",
        last_name="Smith",
        company="Bobco",
        properties={"score": "3", "tier": ""},
        created_at=_at("2024-06-01T00:00:00"),
        updated_at=_at("2024-07-01T00:00:00"),
    )
    c3 = ContactFactory(
        email="carla@acme.io",
        first_name="Anabela",
        last_name="",
        company="",
        created_at=_at("2025-01-01T00:00:00.250"),
        updated_at=_at("2025-02-01T00:00:00"),
    )
    c4 = ContactFactory(
        email=None,
        first_name="Dan",
        last_name="Anders",
        company="",
        created_at=_at("2025-06-01T00:00:00"),
        updated_at=_at("2025-07-01T00:00:00"),
    )
    SecondaryEmailFactory(contact=c1, email="ana.silva@oldco.com")
    return {"c1": c1, "c2": c2, "c3": c3, "c4": c4}


def _search(api, *filters, groups=None, **extra):
    body = {
        "filterGroups": groups if groups is not None else [{"filters": list(filters)}],
        "limit": 100,
        **extra,
    }
    return api.post(URL, body, format="json")


def _names(response, people):
    by_id = {str(c.pk): name for name, c in people.items()}
    assert response.status_code == 200, response.json()
    return sorted(by_id[r["id"]] for r in response.json()["results"])


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"propertyName": "firstname", "operator": "EQ", "value": "ANA"}, ["c1"]),
        ({"propertyName": "firstname", "operator": "NEQ", "value": "ana"}, ["c2", "c3", "c4"]),
        ({"propertyName": "lastname", "operator": "LT", "value": "smith"}, ["c1", "c4"]),
        ({"propertyName": "lastname", "operator": "LTE", "value": "SILVA"}, ["c1", "c4"]),
        ({"propertyName": "lastname", "operator": "GT", "value": "silva"}, ["c2"]),
        ({"propertyName": "lastname", "operator": "GTE", "value": "silva"}, ["c1", "c2"]),
        (
            {"propertyName": "lastname", "operator": "BETWEEN", "value": "b", "highValue": "sz"},
            ["c1", "c2"],
        ),
        (
            {
                "propertyName": "email",
                "operator": "IN",
                "values": ["ANA@example.com", "carla@acme.io"],
            },
            ["c1", "c3"],
        ),
        (
            {
                "propertyName": "email",
                "operator": "NOT_IN",
                "values": ["ana@example.com", "carla@acme.io"],
            },
            ["c2", "c4"],
        ),
        ({"propertyName": "company", "operator": "HAS_PROPERTY"}, ["c1", "c2"]),
        ({"propertyName": "company", "operator": "NOT_HAS_PROPERTY"}, ["c3", "c4"]),
        ({"propertyName": "email", "operator": "CONTAINS_TOKEN", "value": "*@example.com"}, ["c1"]),
        (
            {"propertyName": "email", "operator": "NOT_CONTAINS_TOKEN", "value": "*@EXAMPLE.com"},
            ["c2", "c3", "c4"],
        ),
    ],
    ids=lambda v: v["operator"] if isinstance(v, dict) else None,
)
def test_each_operator(viewer_api, people, flt, expected):
    assert _names(_search(viewer_api, flt), people) == expected


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"operator": "EQ", "value": "ANA.SILVA@oldco.com"}, ["c1"]),
        ({"operator": "NEQ", "value": "ana.silva@oldco.com"}, ["c2", "c3", "c4"]),
        ({"operator": "IN", "values": ["x@y.com", "ana.silva@oldco.com"]}, ["c1"]),
        ({"operator": "CONTAINS_TOKEN", "value": "*@oldco.com"}, ["c1"]),
        ({"operator": "NOT_CONTAINS_TOKEN", "value": "*@oldco.com"}, ["c2", "c3", "c4"]),
        ({"operator": "HAS_PROPERTY"}, ["c1"]),
        ({"operator": "NOT_HAS_PROPERTY"}, ["c2", "c3", "c4"]),
    ],
)
def test_hs_additional_emails_match_any_secondary_email(viewer_api, people, flt, expected):
    flt = {"propertyName": "hs_additional_emails", **flt}

    assert _names(_search(viewer_api, flt), people) == expected


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"operator": "GT", "value": "5"}, ["c1"]),  # numeric, not "10" < "5"
        ({"operator": "LT", "value": 5}, ["c2"]),
        ({"operator": "BETWEEN", "value": "1", "highValue": "10"}, ["c1", "c2"]),
        ({"operator": "EQ", "value": "10.0"}, ["c1"]),
        ({"operator": "NEQ", "value": "10"}, ["c2", "c3", "c4"]),
        ({"operator": "IN", "values": [3, "10"]}, ["c1", "c2"]),
        ({"operator": "NOT_IN", "values": ["3"]}, ["c1", "c3", "c4"]),
        ({"operator": "HAS_PROPERTY"}, ["c1", "c2"]),
        ({"operator": "NOT_HAS_PROPERTY"}, ["c3", "c4"]),
    ],
)
def test_number_custom_property(viewer_api, people, flt, expected):
    assert _names(_search(viewer_api, {"propertyName": "score", **flt}), people) == expected


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"operator": "EQ", "value": "GOLD"}, ["c1"]),
        ({"operator": "CONTAINS_TOKEN", "value": "go*"}, ["c1"]),
        ({"operator": "HAS_PROPERTY"}, ["c1"]),  # '' is no value
        ({"operator": "NOT_HAS_PROPERTY"}, ["c2", "c3", "c4"]),
        ({"operator": "IN", "values": ["Gold", "silver"]}, ["c1"]),
        ({"operator": "GT", "value": "a"}, ["c1"]),
    ],
)
def test_string_custom_property(viewer_api, people, flt, expected):
    assert _names(_search(viewer_api, {"propertyName": "tier", **flt}), people) == expected


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (
            {"propertyName": "createdate", "operator": "GTE", "value": _ms("2024-06-01T00:00:00")},
            ["c2", "c3", "c4"],
        ),
        ({"propertyName": "createdate", "operator": "EQ", "value": "2024-06-01T00:00:00Z"}, ["c2"]),
        # Millisecond precision, as rendered: .250 matches, .251 does not.
        (
            {"propertyName": "createdate", "operator": "EQ", "value": "2025-01-01T00:00:00.250Z"},
            ["c3"],
        ),
        (
            {"propertyName": "createdate", "operator": "GT", "value": "2025-01-01T00:00:00.250Z"},
            ["c4"],
        ),
        (
            {"propertyName": "createdate", "operator": "LTE", "value": "2025-01-01T00:00:00.250Z"},
            ["c1", "c2", "c3"],
        ),
        ({"propertyName": "createdate", "operator": "LT", "value": "2025-01-01"}, ["c1", "c2"]),
        (
            {
                "propertyName": "lastmodifieddate",
                "operator": "BETWEEN",
                "value": _ms("2024-07-01T00:00:00"),
                "highValue": "2025-02-01T00:00:00Z",
            },
            ["c2", "c3"],
        ),
        ({"propertyName": "createdate", "operator": "HAS_PROPERTY"}, ["c1", "c2", "c3", "c4"]),
    ],
)
def test_dates_take_epoch_ms_or_iso(viewer_api, people, flt, expected):
    assert _names(_search(viewer_api, flt), people) == expected


def test_hs_object_id_operators(viewer_api, people):
    c1, c2, c3 = people["c1"], people["c2"], people["c3"]

    def run(**flt):
        return _names(_search(viewer_api, {"propertyName": "hs_object_id", **flt}), people)

    assert run(operator="EQ", value=str(c2.pk)) == ["c2"]
    assert run(operator="IN", values=[c1.pk, str(c3.pk)]) == ["c1", "c3"]
    assert run(operator="BETWEEN", value=c2.pk, highValue=c3.pk) == ["c2", "c3"]
    assert run(operator="GT", value=c3.pk) == ["c4"]
    assert run(operator="NEQ", value=c1.pk) == ["c2", "c3", "c4"]
    assert run(operator="NOT_IN", values=[c1.pk, c2.pk]) == ["c3", "c4"]
    assert run(operator="HAS_PROPERTY") == ["c1", "c2", "c3", "c4"]
    assert run(operator="NOT_HAS_PROPERTY") == []


def test_negated_date_operators(viewer_api, people):
    def run(**flt):
        return _names(_search(viewer_api, {"propertyName": "createdate", **flt}), people)

    assert run(operator="NEQ", value="2024-06-01T00:00:00.000Z") == ["c1", "c3", "c4"]
    assert run(operator="NOT_IN", values=[_ms("2024-01-01T00:00:00")]) == ["c2", "c3", "c4"]
    assert run(operator="NOT_HAS_PROPERTY") == []


@pytest.mark.parametrize(
    ("prop", "value", "expected"),
    [
        ("company", "acme", ["c1"]),  # whole token, any case
        ("company", "acm", []),  # not a substring match
        ("company", "acm*", ["c1"]),
        ("company", "*orp", ["c1"]),
        ("company", "corp acme", ["c1"]),  # every word must be a token
        ("company", "acme bobco", []),
        ("firstname", "ana*", ["c1", "c3"]),
        ("email", "ana@example.com", ["c1"]),  # an e-mail is one token
        ("email", "example.com", []),
        ("email", "*acme*", ["c3"]),
    ],
)
def test_contains_token_matches_whole_tokens_with_wildcards(
    viewer_api, people, prop, value, expected
):
    flt = {"propertyName": prop, "operator": "CONTAINS_TOKEN", "value": value}

    assert _names(_search(viewer_api, flt), people) == expected


def test_filter_groups_are_ored_and_filters_anded(viewer_api, people):
    ored = _search(
        viewer_api,
        groups=[
            {"filters": [{"propertyName": "firstname", "operator": "EQ", "value": "ana"}]},
            {"filters": [{"propertyName": "firstname", "operator": "EQ", "value": "bob"}]},
        ],
    )
    anded = _search(
        viewer_api,
        {"propertyName": "firstname", "operator": "EQ", "value": "ana"},
        {"propertyName": "lastname", "operator": "EQ", "value": "smith"},
    )

    assert _names(ored, people) == ["c1", "c2"]
    assert _names(anded, people) == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("acme", ["c1", "c3"]),
        ("OLDCO", ["c1"]),
        ("ana silva", ["c1"]),
        ("", ["c1", "c2", "c3", "c4"]),
    ],
)
def test_query_is_free_text(viewer_api, people, query, expected):
    assert _names(_search(viewer_api, groups=[], query=query), people) == expected


def test_sorts_as_strings_or_objects(viewer_api, people):
    by_id = {str(c.pk): name for name, c in people.items()}

    newest = _search(viewer_api, groups=[], sorts=["-createdate"]).json()["results"]
    by_last = _search(
        viewer_api, groups=[], sorts=[{"propertyName": "lastname", "direction": "ASCENDING"}]
    ).json()["results"]

    assert [by_id[r["id"]] for r in newest] == ["c4", "c3", "c2", "c1"]
    assert [by_id[r["id"]] for r in by_last] == ["c4", "c1", "c2", "c3"]  # no value last


def test_default_and_requested_properties(viewer_api, people):
    c1 = people["c1"]
    flt = {"propertyName": "hs_object_id", "operator": "EQ", "value": c1.pk}

    default = _search(viewer_api, flt).json()["results"][0]
    asked = _search(viewer_api, flt, properties=["hs_additional_emails", "score"]).json()

    assert set(default["properties"]) == set(SEARCH_DEFAULT_RETURNED)
    assert default["properties"]["email"] == "ana@example.com"
    assert asked["results"][0]["properties"] == {
        "hs_additional_emails": "ana.silva@oldco.com",
        "score": "10",
        "createdate": "2024-01-01T00:00:00.000Z",
        "hs_object_id": str(c1.pk),
        "lastmodifieddate": "2024-02-01T00:00:00.000Z",
    }
    assert asked["total"] == 1 and "paging" not in asked


def test_paging_by_offset_with_total(viewer_api, people):
    first = viewer_api.post(URL, {"limit": 3}, format="json").json()
    second = viewer_api.post(
        URL, {"limit": 3, "after": first["paging"]["next"]["after"]}, format="json"
    ).json()

    assert (first["total"], len(first["results"]), first["paging"]) == (
        4,
        3,
        {"next": {"after": "3"}},
    )
    assert (second["total"], len(second["results"])) == (4, 1)
    assert "paging" not in second
    ids = [r["id"] for r in first["results"] + second["results"]]
    assert ids == [str(people[n].pk) for n in ("c1", "c2", "c3", "c4")]


def test_default_limit_is_ten(viewer_api):
    for _ in range(11):
        ContactFactory()

    body = viewer_api.post(URL, {}, format="json").json()

    assert (body["total"], len(body["results"]), body["paging"]["next"]["after"]) == (11, 10, "10")


def test_archived_contacts_are_not_found(viewer_api, people):
    Contact.objects.filter(pk=people["c1"].pk).update(archived_at=people["c1"].created_at)

    assert _names(_search(viewer_api, groups=[]), people) == ["c2", "c3", "c4"]


def test_a_contact_is_found_right_after_it_is_created(marketer_api):
    # rule B5: read-your-writes, no eventual consistency.
    created = marketer_api.post(
        URL.replace("/search", ""), {"properties": {"email": "fresh@example.com"}}, format="json"
    )

    found = _search(
        marketer_api, {"propertyName": "email", "operator": "EQ", "value": "FRESH@example.com"}
    )

    assert [r["id"] for r in found.json()["results"]] == [created.json()["id"]]


def _filters(n, prop="firstname"):
    return [{"propertyName": prop, "operator": "HAS_PROPERTY"}] * n


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"filterGroups": [{"filters": _filters(1)}] * 6}, "filterGroups"),
        ({"filterGroups": [{"filters": _filters(11)}]}, "filterGroups[0]"),
        ({"filterGroups": [{"filters": _filters(9)}] * 3}, "25 filters"),
        ({"filterGroups": [{"filters": []}]}, "filterGroups[0] has no filters"),
        ({"filterGroups": [{"filters": _filters(1, "no_such")}]}, 'Property "no_such"'),
        (
            {
                "filterGroups": [
                    {"filters": [{"propertyName": "email", "operator": "LIKE", "value": "a"}]}
                ]
            },
            "LIKE",
        ),
        (
            {"filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ"}]}]},
            "needs a value",
        ),
        (
            {
                "filterGroups": [
                    {"filters": [{"propertyName": "email", "operator": "BETWEEN", "value": "a"}]}
                ]
            },
            "highValue",
        ),
        ({"filterGroups": [{"filters": [{"propertyName": "email", "operator": "IN"}]}]}, "values"),
        (
            {
                "filterGroups": [
                    {
                        "filters": [
                            {"propertyName": "createdate", "operator": "GT", "value": "yesterday"}
                        ]
                    }
                ]
            },
            "not a valid date",
        ),
        (
            {
                "filterGroups": [
                    {"filters": [{"propertyName": "score", "operator": "GT", "value": "many"}]}
                ]
            },
            "not a valid number",
        ),
        (
            {
                "filterGroups": [
                    {
                        "filters": [
                            {"propertyName": "hs_object_id", "operator": "EQ", "value": "abc"}
                        ]
                    }
                ]
            },
            "not a valid record id",
        ),
        (
            {
                "filterGroups": [
                    {
                        "filters": [
                            {
                                "propertyName": "createdate",
                                "operator": "CONTAINS_TOKEN",
                                "value": "2024",
                            }
                        ]
                    }
                ]
            },
            "not supported",
        ),
        ({"sorts": ["-no_such"]}, 'Property "no_such"'),
        ({"sorts": [{"propertyName": "email", "direction": "UP"}]}, "direction"),
        ({"limit": 201}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"after": "10000"}, "10000"),
        ({"after": "page2"}, "after"),
        ({"filterGroups": "email=ana"}, "filterGroups"),
    ],
)
def test_bad_search_requests_are_400s_naming_the_problem(viewer_api, body, named):
    PropertyDefinition.objects.create(
        name="score", label="Score", type=PropertyType.NUMBER, field_type="number"
    )

    response = viewer_api.post(URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"
    assert named in response.json()["message"]


def test_search_is_a_read_viewers_may_do_but_tokens_need_the_scope(
    viewer_api, token_client, viewer
):
    no_scope = token_client(viewer, scopes=[scopes.ACCOUNT_READ])

    assert viewer_api.post(URL, {}, format="json").status_code == 200
    assert no_scope.post(URL, {}, format="json").status_code == 403


@pytest.mark.parametrize("count", [5, 50])
def test_search_page_costs_a_constant_number_of_queries(
    viewer_api, django_assert_max_num_queries, count
):
    for _ in range(count):
        SecondaryEmailFactory()
    viewer_api.post(URL, {}, format="json")  # the token's last-use time is written on first use
    body = {
        "filterGroups": [
            {
                "filters": [
                    {
                        "propertyName": "email",
                        "operator": "CONTAINS_TOKEN",
                        "value": "*@example.com",
                    },
                    {"propertyName": "hs_additional_emails", "operator": "HAS_PROPERTY"},
                ]
            }
        ],
        "query": "person",
        "sorts": ["-createdate"],
        "properties": ["email", "hs_additional_emails"],
        "limit": 200,
    }

    # token, custom property specs, count, page, secondary e-mails
    with django_assert_max_num_queries(5):
        response = viewer_api.post(URL, body, format="json")

    assert response.json()["total"] == count
    assert len(response.json()["results"]) == count


def _one_filter(**fields):
    return {"filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ", **fields}]}]}


@pytest.mark.parametrize(
    ("body", "field", "bound"),
    [
        (
            _one_filter(operator="IN", values=["a@x.io"] * 101),
            "filterGroups[0].filters[0].values",
            "100",
        ),
        (_one_filter(value="a" * 1001), "filterGroups[0].filters[0].value", "1000"),
        (
            _one_filter(operator="BETWEEN", value="a", highValue="z" * 1001),
            "filterGroups[0].filters[0].highValue",
            "1000",
        ),
        (
            _one_filter(operator="IN", values=["a" * 1001]),
            "filterGroups[0].filters[0].values[0]",
            "1000",
        ),
        (
            {
                "filterGroups": [
                    {"filters": [{"propertyName": "p" * 101, "operator": "HAS_PROPERTY"}]}
                ]
            },
            "filterGroups[0].filters[0].propertyName",
            "100",
        ),
        ({"properties": ["email"] * 201}, "properties", "200"),
        ({"properties": ["p" * 101]}, "properties[0]", "100"),
        ({"sorts": ["createdate"] * 11}, "sorts", "10"),
        ({"query": "ana " * 51}, "query", "50 words"),
        ({"filterGroups": [{"filters": _filters(1)}] * 6}, "filterGroups", "5"),
        ({"filterGroups": [{"filters": _filters(11)}]}, "filterGroups[0].filters", "10"),
    ],
)
def test_search_inputs_beyond_their_bounds_are_400s_naming_the_field(
    viewer_api, body, field, bound
):
    response = viewer_api.post(URL, body, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["category"] == "VALIDATION_ERROR"
    assert body["message"].startswith(f"{field}")
    assert bound in body["message"]
    assert [e["context"]["propertyName"][0] for e in body["errors"]] == [field]


def test_a_list_beyond_its_bound_is_refused_before_its_items_are_checked(viewer_api):
    # 100,000 values: the count is refused at once, not each value checked first.
    body = _one_filter(operator="IN", values=[{"not": "a scalar"}] * 100_000)

    response = viewer_api.post(URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["message"] == (
        "filterGroups[0].filters[0].values: At most 100 items are allowed; got 100000."
    )


@pytest.mark.parametrize(
    "body",
    [
        _one_filter(value={"an": "object"}),
        _one_filter(operator="IN", values=[["a list"]]),
        {"sorts": [{"propertyName": ["email"]}]},
        {"sorts": [{"propertyName": "e" * 5000}]},
        {"sorts": ["-" + "e" * 5000]},
        {"after": "9" * 5000},
    ],
)
def test_malformed_or_oversized_search_parts_are_400s_not_500s(viewer_api, body):
    response = viewer_api.post(URL, body, format="json")

    assert response.status_code == 400
    assert len(response.json()["message"]) < 300


def test_a_query_within_its_bounds_still_searches(viewer_api, people):
    response = viewer_api.post(URL, {"query": "ana " * 50, "limit": 100}, format="json")

    assert _names(response, people) == ["c1", "c3"]


def test_the_schema_states_the_search_bounds():
    from tests.support.openapi import request_body, resolve

    search = request_body(URL, "post")
    group = resolve(search["properties"]["filterGroups"]["items"])
    flt = resolve(group["properties"]["filters"]["items"])

    assert search["properties"]["filterGroups"]["maxItems"] == 5
    assert "25 filters in all" in search["properties"]["filterGroups"]["description"]
    assert group["properties"]["filters"]["maxItems"] == 10
    assert flt["properties"]["propertyName"]["maxLength"] == 100
    for name in ("value", "highValue"):
        assert {"type": "string", "maxLength": 1000} in flt["properties"][name]["anyOf"]
    assert flt["properties"]["values"]["maxItems"] == 100
    assert {"type": "string", "maxLength": 1000} in flt["properties"]["values"]["items"]["anyOf"]
    assert search["properties"]["properties"]["maxItems"] == 200
    assert search["properties"]["properties"]["items"]["maxLength"] == 100
    assert search["properties"]["sorts"]["maxItems"] == 10
    assert search["properties"]["query"]["maxLength"] == 3000
    assert "50 words" in search["properties"]["query"]["description"]
