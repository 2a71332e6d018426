"""Rule E2 in the Zoom settings UI: a webinar's questions page with a property picker and a
policy per question, "create a property from this question", applying to past answers."""

import pytest
from django.urls import reverse

from crm.models import Contact, PropertyDefinition
from tests.zoom_integration.scenario import UPCOMING_ID
from tests.zoom_integration.test_connections_api import acme, brands  # noqa: F401
from tests.zoom_integration.test_registration_api import synced  # noqa: F401
from zoom_integration.models import QuestionMapping

pytestmark = pytest.mark.django_db


def page(connection, name="webinar_questions"):
    return reverse(f"zoom_integration:{name}", args=[connection.pk, UPCOMING_ID])


def test_the_page_lists_the_questions_with_pickers(admin_client, synced):  # noqa: F811
    response = admin_client.get(page(synced))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('data-testid="property-picker"') == 3
    assert 'data-question="Company size"' in html
    assert "Connection default: company" in html  # org's built-in default
    assert '<option value="first_utm_source"' not in html  # read-only: not offered


def test_save_a_mapping_then_apply_it(admin_client, synced, django_capture_on_commit_callbacks):  # noqa: F811
    body = {
        "question": ["last_name", "org", "Company size"],
        "property-2": "jobtitle",
        "policy-2": "overwrite",
    }
    response = admin_client.post(page(synced, "webinar_questions_save"), body)
    assert response.status_code == 302
    assert list(QuestionMapping.objects.values_list("question", "property", "policy")) == [
        ("Company size", "jobtitle", "overwrite")
    ]
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(page(synced, "webinar_questions_apply"))
    assert Contact.objects.get(email="person1@example.com").job_title == "1-10"
    html = admin_client.get(page(synced)).content.decode()
    assert 'data-testid="apply-run" data-status="succeeded"' in html


def test_a_bad_property_re_renders_with_the_error_and_saves_nothing(admin_client, synced):  # noqa: F811
    body = {"question": ["last_name", "org"], "property-1": "hs_object_id"}
    response = admin_client.post(page(synced, "webinar_questions_save"), body)
    assert response.status_code == 400
    assert "hs_object_id" in response.content.decode()
    assert not QuestionMapping.objects.exists()


def test_create_a_property_from_a_question(admin_client, synced):  # noqa: F811
    response = admin_client.post(
        page(synced, "webinar_question_property"), {"question": "Company size"}
    )
    assert response.status_code == 302
    assert PropertyDefinition.objects.filter(name="zoom_company_size").exists()
    assert list(QuestionMapping.objects.values_list("question", "property")) == [
        ("Company size", "zoom_company_size")
    ]


def test_viewers_see_but_cannot_change(client, synced):  # noqa: F811
    from crm.models import Role
    from tests.factories import UserFactory

    viewer = UserFactory(role=Role.VIEWER)
    client.force_login(viewer)
    assert client.get(page(synced)).status_code == 200
    response = client.post(page(synced, "webinar_questions_save"), {"question": ["org"]})
    assert response.status_code in (302, 403)
    assert not QuestionMapping.objects.exists()
