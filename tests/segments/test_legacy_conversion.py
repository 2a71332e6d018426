"""Rule B9: a segment on the legacy Zoom properties P1–P4 converts to marketing-event filters
where an equivalent exists; what has none is kept, with a note saying why."""

import pytest

from segments.services import filters_convert_legacy, filters_use_legacy

P1 = "zoom_average_webinar_attendance_percent"
P2 = "zoom_last_registered_webinar_url"
P3 = "zoom_webinar_registration_count"
P4 = "zoom_webinar_attendance_count"
ATTENDED_ANY = {"type": "zoom_webinar_attendance", "webinar_id": None, "negate": False}
NOT_ATTENDED = {**ATTENDED_ANY, "negate": True}
REGISTERED_ANY = {"type": "zoom_webinar_registration", "webinar_id": None, "negate": False}
NOT_REGISTERED = {**REGISTERED_ANY, "negate": True}


def tree(*nodes):
    return {"or": [{"and": list(nodes)}]}


def prop(name, operator, value=None):
    node = {"type": "property", "property": name, "operator": operator}
    if value is not None:
        node["value"] = value
    return node


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("node", "expected"),
    [
        (prop(P4, "gte", 1), ATTENDED_ANY),
        (prop(P4, "gt", 0), ATTENDED_ANY),
        (prop(P4, "neq", 0), ATTENDED_ANY),
        (prop(P4, "is_known"), ATTENDED_ANY),
        (prop(P4, "eq", 0), NOT_ATTENDED),
        (prop(P4, "lt", 1), NOT_ATTENDED),
        (prop(P4, "is_unknown"), NOT_ATTENDED),
        (prop(P3, "gte", 1), REGISTERED_ANY),
        (prop(P3, "eq", 0), NOT_REGISTERED),
        (prop(P2, "is_known"), REGISTERED_ANY),
        (prop(P2, "is_unknown"), NOT_REGISTERED),
        (
            prop(P2, "eq", "https://zoom.us/w/81100000009?tk=abc"),
            {"type": "zoom_webinar_registration", "webinar_id": "81100000009", "negate": False},
        ),
        (
            prop(P1, "gte", 50),
            {**ATTENDED_ANY, "duration_percent": {"operator": "gte", "value": 50}},
        ),
        (prop(P1, "is_known"), ATTENDED_ANY),
    ],
)
def test_convertible_filters(node, expected):
    result = filters_convert_legacy(tree(node))
    assert result.filters == tree(expected)
    assert (result.converted, result.kept) == (1, 0)
    assert not filters_use_legacy(result.filters)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("node", "note"),
    [
        (prop(P4, "gte", 3), "counts webinars attended"),
        (prop(P3, "between", [2, 5]), "counts registrations"),
        (prop(P2, "contains", "example.com"), "could not be told"),
        (prop(P1, "eq", 50), "average"),
    ],
)
def test_filters_without_equivalent_are_kept_with_a_note(node, note):
    other = {"type": "event_attended", "event_id": None, "negate": False}
    result = filters_convert_legacy(tree(node, other))
    assert result.filters["or"][0]["and"][0]["property"] == node["property"]
    assert result.filters["or"][0]["and"][1] == other
    assert (result.converted, result.kept) == (0, 1)
    assert note in result.notes[0]["message"]
    assert result.notes[0]["path"] == "or[0].and[0]"


@pytest.mark.django_db
def test_other_filters_are_untouched_and_nothing_is_saved():
    source = tree(prop("email", "ends_with", "@acme.com"), prop(P4, "gte", 1))
    result = filters_convert_legacy(source)
    assert result.filters == tree(prop("email", "ends_with", "@acme.com"), ATTENDED_ANY)
    assert source["or"][0]["and"][1]["property"] == P4  # the input is not changed


@pytest.mark.django_db
def test_conversion_api(admin_api):
    response = admin_api.post(
        "/api/v1/segments/convert-legacy/",
        {"filters": tree(prop(P4, "gte", 1), prop(P1, "gte", 80))},
        format="json",
    )
    body = response.json()
    assert response.status_code == 200
    assert body["converted"] == 2
    assert body["kept"] == 0
    assert [n["path"] for n in body["notes"]] == ["or[0].and[1]"]
