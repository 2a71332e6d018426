"""`manage.py zoom_demo_connect` also leaves example segments and a workflow for the demo,
once (running it again changes nothing)."""

import pytest
from django.core.management import call_command

from crm.models import Account, Brand, Tier
from segments.models import Segment
from tests.zoom_integration.scenario import UPCOMING_ID
from workflows.models import Workflow


@pytest.mark.django_db
def test_demo_examples(zoom_sandbox, zoom_sandbox_url, django_capture_on_commit_callbacks):
    Account.objects.update_or_create(pk=1, defaults={"tier": Tier.PROFESSIONAL})
    Brand.objects.create(name="Demo", is_primary=True)
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            call_command("zoom_demo_connect", sandbox_url=zoom_sandbox_url)
    assert sorted(Segment.objects.values_list("name", flat=True)) == [
        "Attended a Zoom webinar for 30+ minutes",
        "Registered but never attended",
    ]
    from zoom_integration.models import ZoomConnection

    assert ZoomConnection.objects.get().zoom_plan == "business"  # the sandbox account's plan
    workflow = Workflow.objects.get()
    assert workflow.enabled
    assert workflow.actions == [
        {"type": "zoom.add_contact_to_webinar", "webinar_id": str(UPCOMING_ID)}
    ]
