"""A workflow whose executions keep failing (issue 22, item 3): raised when its last
ALERT_WORKFLOW_FAILURES_IN_A_ROW finished executions all failed, e-mailed once to each super
admin, not again while it lasts, cleared by a success, raised anew if it comes back. The
failures are real: the Zoom action refusing another brand's webinar (rule W4)."""

import pytest
from django.core import mail

from crm.models import Alert, Notification, Role
from tests.factories import ContactFactory, UserFactory
from tests.zoom_integration.scenario import BETA_WEBINAR_ID, UPCOMING_ID

pytestmark = pytest.mark.django_db

URL = "/api/v1/workflows/"
ACTION = "zoom.add_contact_to_webinar"


def set_webinar(api, workflow_id, webinar_id):
    response = api.patch(
        f"{URL}{workflow_id}/",
        {"actions": [{"type": ACTION, "webinar_id": str(webinar_id)}]},
        format="json",
    )
    assert response.status_code == 200, response.json()


def enroll_new_contact(api, workflow_id, capture, n):
    contact = ContactFactory(email=f"person{n}@client.example")
    with capture(execute=True):
        response = api.post(
            f"{URL}{workflow_id}/enroll/", {"contact_ids": [contact.pk]}, format="json"
        )
    assert response.status_code == 200, response.json()
    assert len(response.json()["enrolled"]) == 1


def sent():
    rows = sorted((m.to[0], m.subject) for m in mail.outbox)
    mail.outbox.clear()
    return rows


def test_a_workflow_failing_in_a_row(
    connected, admin_user, admin_api, settings, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    settings.ALERT_WORKFLOW_FAILURES_IN_A_ROW = 3
    UserFactory(email="bruno@crm.test", role=Role.SUPER_ADMIN, language="pt-br")
    response = admin_api.post(
        URL,
        {"name": "Register leads", "trigger": {"type": "manual"}, "enabled": True,
         "actions": [{"type": ACTION, "webinar_id": str(BETA_WEBINAR_ID)}]},
        format="json",
    )  # fmt: skip
    workflow_id = response.json()["id"]
    key = f"workflow:{workflow_id}:failing"
    mail.outbox.clear()

    for n in range(2):
        enroll_new_contact(admin_api, workflow_id, capture, n)
    assert not Alert.objects.exists()

    enroll_new_contact(admin_api, workflow_id, capture, 2)
    alert = Alert.objects.get()
    assert (alert.key, alert.kind, alert.resolved_at) == (key, "workflows.executions_failing", None)
    assert alert.params["workflow"] == "Register leads"
    assert alert.params["count"] == 3
    assert alert.link == f"/workflows/{workflow_id}/"
    assert sent() == [
        ("admin@crm.test", "[CRM alert] Workflow “Register leads” keeps failing"),
        (
            "bruno@crm.test",
            "[Alerta do CRM] O fluxo de trabalho “Register leads” continua falhando",
        ),
    ]

    enroll_new_contact(admin_api, workflow_id, capture, 3)
    assert Alert.objects.get().occurrences == 2
    assert sent() == []
    assert Notification.objects.count() == 2

    set_webinar(admin_api, workflow_id, UPCOMING_ID)
    enroll_new_contact(admin_api, workflow_id, capture, 4)
    assert Alert.objects.get().resolved_at is not None

    set_webinar(admin_api, workflow_id, BETA_WEBINAR_ID)
    for n in range(5, 8):
        enroll_new_contact(admin_api, workflow_id, capture, n)
    assert Alert.objects.filter(key=key, resolved_at__isnull=True).count() == 1
    assert Alert.objects.filter(key=key).count() == 2
    assert len(sent()) == 2
