"""The engine's queues (rule W10: delays fire within 60 s of due): the beat's scan
(`workflows.tasks.tick`) goes to `workflows-scan` and the runs it releases to `workflows`, so a
due delay is taken by a worker of those queues while the default queue holds a backlog. With a real
worker over the broker the settings name (Redis, or the embedded demo's filesystem broker)."""

import pytest
from django.utils import timezone

from crm.models import Account, Contact, Tier
from operations.queues import queue_names
from tests.factories import ContactFactory
from tests.support.worker import wait_for, worker_processes
from workflows import services
from workflows.models import ActionExecution, Enrollment
from workflows.tasks import sweep_workflows, tick

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BACKLOG = 30


def test_the_scan_and_the_runs_it_releases_have_their_own_queue(settings):
    from config.celery import app

    route = app.amqp.router.route({}, "workflows.tasks.tick")
    assert route["queue"].name == settings.WORKFLOW_SCAN_QUEUE == "workflows-scan"
    assert settings.WORKFLOW_QUEUE == "workflows"
    # An enrollment's first run (not released by the scan) stays on the default queue.
    assert app.amqp.router.route({}, "workflows.tasks.run_enrollment")["queue"].name == "celery"
    assert queue_names() == ["celery", "workflows", "workflows-scan"]  # measured by /metrics


def test_a_due_delay_is_taken_past_a_backlog_on_the_default_queue(tmp_path):
    Account.objects.update_or_create(pk=1, defaults={"tier": Tier.PROFESSIONAL})
    steps = [{"id": "wait", "type": "delay", "seconds": 3600, "next": "stage"},
             {"id": "stage", "type": "set_property", "property": "lifecyclestage",
              "value": "lead", "next": None}]  # fmt: skip
    workflow = services.workflow_create(
        name="Queued", trigger={"type": "manual"}, steps=steps, enabled=True, actor=None
    )
    contact = ContactFactory()
    # Tasks run inline here: the enrollment reaches its delay and waits.
    services.workflow_enroll(workflow=workflow, contact_ids=[contact.pk], actor=None)
    (enrollment,) = Enrollment.objects.filter(workflow=workflow)
    assert enrollment.status == "waiting"
    with worker_processes(tmp_path, {}) as workers:
        for _ in range(BACKLOG):  # the default queue's backlog, that this worker never takes
            sweep_workflows.delay()
        # A worker of the engine's queues only: what reaches it is the scan and its runs.
        workers.start(queues="workflows-scan,workflows")
        Enrollment.objects.filter(pk=enrollment.pk).update(due_at=timezone.now())
        tick.delay()  # as the beat sends it
        wait_for(lambda: Enrollment.objects.get(pk=enrollment.pk).status == "completed", timeout=60)
        from operations.queues import queue_depths

        depths = queue_depths()  # untouched (and one more: the property change's sweep)
        assert depths is not None and depths["celery"] >= BACKLOG
    assert Contact.objects.get(pk=contact.pk).lifecycle_stage == "lead"
    assert list(
        ActionExecution.objects.filter(enrollment=enrollment)
        .order_by("action_index")
        .values_list("step_id", "status")
    ) == [("wait", "succeeded"), ("stage", "succeeded")]
