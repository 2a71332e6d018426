"""The own API of rules E1, E2, E4: a webinar's questions and tracking sources (stored by the
sync over real HTTP), question mappings at both levels, applying them to past answers; bad
input is a 400 naming what is wrong and changes nothing."""

import pytest

from crm.models import Contact
from tests.zoom_integration.scenario import ACME, UPCOMING_ID
from tests.zoom_integration.test_connections_api import acme, brands  # noqa: F401
from zoom_integration.models import QuestionMapping

pytestmark = pytest.mark.django_db
SOURCES = [
    {"id": "ts_li", "source_name": "LinkedIn", "visitor_count": 9, "registration_count": 1},
    {"id": "ts_nl", "source_name": "Newsletter"},
]


@pytest.fixture
def synced(acme, admin_api, zoom_sandbox, django_capture_on_commit_callbacks):  # noqa: F811
    state = zoom_sandbox.get("/_sandbox/state").json()
    account = next(a for a in state["accounts"] if a["id"] == ACME)
    webinar = next(w for w in account["webinars"] if w["id"] == UPCOMING_ID)
    webinar["questions"] = [
        {"field_name": "last_name", "required": True},
        {"field_name": "org", "required": True},
    ]
    webinar["custom_questions"] = [
        {"title": "Company size", "type": "single_radio", "required": True, "answers": ["1-10"]}
    ]
    webinar["tracking_sources"] = SOURCES
    webinar["registrants"][0].update(
        {
            "org": "Acme Labs",
            "source_id": "ts_li",
            "custom_questions": [{"title": "Company size", "value": "1-10"}],
        }
    )
    zoom_sandbox.post("/_sandbox/accounts", json=account).raise_for_status()
    from zoom_integration.services.connections import connection_settings_update

    connection_settings_update(connection=acme, sync_webinar_data=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_api.post(f"/api/v1/zoom/connections/{acme.pk}/sync/")
    assert response.status_code == 202
    return acme


def base(connection):
    return f"/api/v1/zoom/connections/{connection.pk}"


def test_questions_and_tracking_sources_of_a_webinar(synced, admin_api):  # rules E1, E4
    questions = admin_api.get(f"{base(synced)}/webinars/{UPCOMING_ID}/questions/")
    assert questions.status_code == 200
    assert questions.json() == [
        {"question": "last_name", "type": "standard", "required": True, "answers": []},
        {"question": "org", "type": "standard", "required": True, "answers": []},
        {"question": "Company size", "type": "single_radio", "required": True, "answers": ["1-10"]},
    ]
    detail = admin_api.get(f"{base(synced)}/webinars/{UPCOMING_ID}/").json()
    assert detail["tracking_sources"] == [
        {"id": "ts_li", "name": "LinkedIn", "visitor_count": 9, "registration_count": 1},
        {"id": "ts_nl", "name": "Newsletter", "visitor_count": 0, "registration_count": 0},
    ]
    # The registrant's source_id became the participation's source, by name (rule E4).
    from marketing_events.models import RegistrationDetails

    details = RegistrationDetails.objects.get()
    assert details.source == {"id": "ts_li", "name": "LinkedIn"}
    # Built-in default org → company, fill_empty, applied by the sync (rule E2).
    assert Contact.objects.get(email="person1@example.com").company == "Acme Labs"


def test_mappings_at_both_levels_and_apply(synced, admin_api, django_capture_on_commit_callbacks):
    url = f"{base(synced)}/question-mappings/"
    listed = admin_api.get(url).json()
    assert {"question": "org", "property": "company", "policy": "fill_empty", "builtin": True} in (
        listed
    )
    put = admin_api.put(
        url,
        [{"question": "Company size", "property": "jobtitle", "policy": "overwrite"}],
        format="json",
    )
    assert put.status_code == 200, put.json()
    assert put.json()[0] == {
        "question": "Company size",
        "property": "jobtitle",
        "policy": "overwrite",
        "builtin": False,
    }
    webinar_url = f"{base(synced)}/webinars/{UPCOMING_ID}/question-mappings/"
    assert admin_api.get(webinar_url).json() == []
    override = admin_api.put(
        webinar_url, [{"question": "org", "property": "city", "policy": "overwrite"}], format="json"
    )
    assert override.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        applied = admin_api.post(f"{webinar_url}apply/")
    assert applied.status_code == 202
    run = admin_api.get(f"/api/v1/zoom/question-mapping-runs/{applied.json()['id']}/").json()
    assert (run["status"], run["done"], run["total"], run["written"]) == ("succeeded", 1, 1, 1)
    ana = Contact.objects.get(email="person1@example.com")
    assert (ana.job_title, ana.city) == ("1-10", "Acme Labs")


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ([{"question": "org", "property": "nope"}], "nope"),
        ([{"question": "org", "property": "zoom_webinar_registration_count"}], "read-only"),
        ([{"question": "org", "property": "first_utm_source"}], "read-only"),
        ({"question": "org"}, "list"),
    ],
)
def test_a_bad_mapping_is_a_400_naming_it(synced, admin_api, body, named):
    url = f"{base(synced)}/question-mappings/"
    admin_api.put(url, [{"question": "Team", "property": "jobtitle"}], format="json")
    before = list(QuestionMapping.objects.values_list("question", "property"))
    response = admin_api.put(url, body, format="json")
    assert response.status_code == 400
    assert named in str(response.json())
    assert list(QuestionMapping.objects.values_list("question", "property")) == before


def test_marketers_read_but_do_not_change_mappings(synced, marketer_api):
    url = f"{base(synced)}/question-mappings/"
    assert marketer_api.get(url).status_code == 200
    assert marketer_api.put(url, [], format="json").status_code == 403


def test_unknown_webinar_is_a_404(synced, admin_api):
    assert admin_api.get(f"{base(synced)}/webinars/1/questions/").status_code == 404


def test_event_page_shows_the_tracking_sources_with_zooms_counts(synced, admin_client):  # E4
    from django.urls import reverse

    from zoom_integration.models import ZoomWebinar

    event_id = ZoomWebinar.objects.get(connection=synced, zoom_webinar_id=UPCOMING_ID).event_id
    html = admin_client.get(reverse("marketing_events:detail", args=[event_id])).content.decode()
    table = html[html.index('data-testid="tracking-sources"') :]
    table = table[: table.index("</table>")]
    row = table[table.index('data-source="ts_li"') :]
    assert '<td>LinkedIn</td><td class="num">9</td><td class="num">1</td>' in row
    chart = html[html.index('data-chart="source"') :]
    assert 'data-label="LinkedIn" data-count="1"' in chart
