"""Fixtures of the workflow tests: the Zoom sandbox with a primary brand connected."""

import pytest

from crm.models import Account, Brand, Tier
from tests.zoom_integration.scenario import ACME, BETA, S2S, at, scenario
from zoom_integration.services.connections import connection_create_s2s

QUESTIONS_ID = 84000000009


@pytest.fixture
def sandbox(zoom_sandbox, settings):
    """The scenario plus a webinar whose registration asks for more than names and e-mail."""
    data = scenario(settings.PUBLIC_BASE_URL)
    acme = next(a for a in data["accounts"] if a["id"] == ACME)
    acme["webinars"].append(
        {
            "id": QUESTIONS_ID, "host_id": "u_owner", "topic": "Qualified leads only",
            "type": 5, "start_time": at(days=5), "duration": 60, "timezone": "UTC",
            "registration_required": True,
            "questions": [{"field_name": "last_name", "required": True},
                          {"field_name": "job_title", "required": True}],
            "custom_questions": [{"title": "Company size", "type": "short", "required": True}],
        }
    )  # fmt: skip
    zoom_sandbox.post("/_sandbox/scenario", json=data).raise_for_status()
    zoom_sandbox.delete("/_sandbox/requests").raise_for_status()
    return zoom_sandbox


@pytest.fixture
def connected(sandbox, db, django_capture_on_commit_callbacks):
    """Acme is the primary brand with its Zoom account; Beta has another account."""
    Account.objects.update_or_create(pk=1, defaults={"tier": Tier.PROFESSIONAL})
    acme = Brand.objects.create(name="Acme", is_primary=True)
    beta = Brand.objects.create(name="Beta")
    with django_capture_on_commit_callbacks(execute=True):
        connection_create_s2s(brand=acme, account_id=ACME, **S2S)
        connection_create_s2s(
            brand=beta, account_id=BETA, client_id="beta-s2s", client_secret="beta-s2s-secret"
        )
    return sandbox


def create_workflow(*, actions=(), steps=None, start=None, **fields):
    """A workflow row with its version 1, written directly (no service checks): for tests of
    pages and logs. `actions` become a straight line of steps, as the API reads them."""
    from workflows.graph import steps_from_actions
    from workflows.models import Workflow, WorkflowVersion

    if steps is None:
        steps, start = steps_from_actions(actions)
    workflow = Workflow.objects.create(steps=steps, start=start or "", **fields)
    WorkflowVersion.objects.create(workflow=workflow, number=1, steps=steps, start=start or "")
    return workflow


def create_enrollment(workflow, contact, **fields):
    from workflows.models import Enrollment

    version = workflow.versions.get(number=workflow.version)
    return Enrollment.objects.create(
        workflow=workflow, version=version, contact=contact, current_step=version.start, **fields
    )
