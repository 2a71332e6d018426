"""The durable engine's transitions (rules W10, W11): running → waiting → due → running →
completed; failed; retried; interrupted and resumed with the same idempotency key; stopped
when the workflow is turned off; versions while contacts wait; the scan's SKIP LOCKED."""

import datetime as dt
import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from crm.errors import ValidationFailed
from crm.models import Account, Contact, Tier
from segments.models import Segment, SegmentMember
from tests.factories import ContactFactory
from tests.support.receiver import webhook_receiver
from workflows import runner, services
from workflows.models import ActionExecution, Enrollment, WorkflowVersion
from workflows.tasks import run_enrollment

DAY = 86400


@pytest.fixture
def professional(db):
    Account.objects.update_or_create(pk=1, defaults={"tier": Tier.PROFESSIONAL})


@pytest.fixture
def static_segment(db):
    return Segment.objects.create(name="Followed up", kind="static")


def lead_if_acme():
    return {"or": [{"and": [{"type": "property", "property": "company", "operator": "eq",
                             "value": "Acme"}]}]}  # fmt: skip


def create(steps, start=None, **kwargs):
    return services.workflow_create(
        name=kwargs.pop("name", "Follow-up"), trigger={"type": "manual"}, steps=steps,
        start=start, enabled=True, actor=None, **kwargs,
    )  # fmt: skip


def enroll(workflow, contacts, capture):
    with capture(execute=True):
        outcome = services.workflow_enroll(
            workflow=workflow, contact_ids=[c.pk for c in contacts], actor=None
        )
    return outcome.enrolled


def path(enrollment):
    return [
        (e.step_id, e.status, e.output.get("path"))
        for e in ActionExecution.objects.filter(enrollment=enrollment).order_by("action_index")
    ]


def fire(at, capture):
    """What beat's `tick` does, at a given moment: take what is due, run it."""
    with capture(execute=True):
        ids = runner.tick(now=at)
    for enrollment_id in ids:
        run_enrollment(enrollment_id)
    return ids


@pytest.mark.django_db
def test_a_straight_line_runs_in_order_and_ends_completed(
    professional, static_segment, django_capture_on_commit_callbacks
):
    workflow = create(
        [{"id": "stage", "type": "set_property", "property": "lifecyclestage", "value": "lead",
          "next": "keep"},
         {"id": "keep", "type": "segment.add", "segment_id": static_segment.pk, "next": None}]
    )  # fmt: skip
    contact = ContactFactory()
    (enrollment,) = enroll(workflow, [contact], django_capture_on_commit_callbacks)
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.current_step, enrollment.due_at) == (
        "completed",
        "",
        None,
    )
    assert path(enrollment) == [("stage", "succeeded", None), ("keep", "succeeded", None)]
    contact.refresh_from_db()
    assert contact.lifecycle_stage == "lead"
    assert SegmentMember.objects.filter(segment=static_segment, contact=contact).count() == 1


@pytest.mark.django_db
def test_a_delay_waits_as_a_row_and_the_scan_takes_it_when_due(
    professional, static_segment, django_capture_on_commit_callbacks
):
    # rule W10: a due-time row, not a Celery ETA
    workflow = create(
        [{"id": "wait", "type": "delay", "seconds": DAY, "next": "keep"},
         {"id": "keep", "type": "segment.add", "segment_id": static_segment.pk}]
    )  # fmt: skip
    before = timezone.now()
    (enrollment,) = enroll(workflow, [ContactFactory()], django_capture_on_commit_callbacks)
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.current_step) == ("waiting", "wait")
    wait = ActionExecution.objects.get(enrollment=enrollment, step_id="wait")
    assert wait.status == "waiting"
    due = enrollment.due_at
    assert before + dt.timedelta(seconds=DAY) <= due <= timezone.now() + dt.timedelta(seconds=DAY)
    assert wait.output == {"until": due.isoformat()}

    assert fire(due - dt.timedelta(seconds=1), django_capture_on_commit_callbacks) == []
    enrollment.refresh_from_db()
    assert enrollment.status == "waiting"

    assert fire(due, django_capture_on_commit_callbacks) == [enrollment.pk]
    enrollment.refresh_from_db()
    assert enrollment.status == "completed"
    assert path(enrollment) == [("wait", "succeeded", None), ("keep", "succeeded", None)]
    wait.refresh_from_db()
    assert (wait.message, wait.finished_at) == ("The wait is over", due)


@pytest.mark.django_db
def test_a_branch_sends_each_contact_down_its_path(
    professional, static_segment, django_capture_on_commit_callbacks
):
    workflow = create(
        [{"id": "check", "type": "branch", "filters": lead_if_acme(), "yes": "stage", "no": "keep"},
         {"id": "stage", "type": "set_property", "property": "lifecyclestage", "value": "lead"},
         {"id": "keep", "type": "segment.add", "segment_id": static_segment.pk}],
        start="check",
    )  # fmt: skip
    acme, other = ContactFactory(company="Acme"), ContactFactory(company="Globex")
    yes, no = enroll(workflow, [acme, other], django_capture_on_commit_callbacks)
    assert path(yes) == [("check", "succeeded", "yes"), ("stage", "succeeded", None)]
    assert path(no) == [("check", "succeeded", "no"), ("keep", "succeeded", None)]
    assert Contact.objects.get(pk=acme.pk).lifecycle_stage == "lead"
    assert Contact.objects.get(pk=other.pk).lifecycle_stage == ""
    assert list(SegmentMember.objects.values_list("contact_id", flat=True)) == [other.pk]


@pytest.mark.django_db
def test_a_failed_step_fails_the_enrollment_and_goes_no_further(
    professional, static_segment, django_capture_on_commit_callbacks
):
    workflow = create(
        [{"id": "copy", "type": "set_property", "property": "lifecyclestage",
          "copy_from": "company", "next": "keep"},
         {"id": "keep", "type": "segment.add", "segment_id": static_segment.pk}]
    )  # fmt: skip
    (enrollment,) = enroll(workflow, [ContactFactory(company="Acme")],
                           django_capture_on_commit_callbacks)  # fmt: skip
    enrollment.refresh_from_db()
    assert enrollment.status == "failed"
    assert path(enrollment) == [("copy", "failed", None)]
    failed = ActionExecution.objects.get(enrollment=enrollment)
    assert failed.message.startswith("lifecyclestage was not changed: ")
    assert not SegmentMember.objects.exists()


@pytest.mark.django_db
def test_a_transient_failure_is_retried_with_the_same_key_and_delivered_once(
    professional, settings, django_capture_on_commit_callbacks
):
    with webhook_receiver(statuses=[503]) as receiver:
        settings.WORKFLOW_WEBHOOK_TEST_HOSTS = ["127.0.0.1"]
        workflow = create([{"id": "hook", "type": "webhook", "url": receiver.url}])
        (enrollment,) = enroll(workflow, [ContactFactory()], django_capture_on_commit_callbacks)
    enrollment.refresh_from_db()
    hook = ActionExecution.objects.get(enrollment=enrollment)
    assert (enrollment.status, hook.status, hook.attempts) == ("completed", "succeeded", 2)
    keys = [d["headers"]["Idempotency-Key"] for d in receiver.deliveries]
    assert keys == [f"wf{workflow.pk}-e{enrollment.pk}-hook"] * 2
    assert len(receiver.effects) == 1


@pytest.mark.django_db
def test_a_step_interrupted_by_a_dead_worker_runs_again_once_its_lease_ends(
    professional, settings, django_capture_on_commit_callbacks
):
    # rule W10: neither skipped nor done twice. The first try's worker "died" after the
    # receiver got the request (attempts=1, row not final, lease running).
    with webhook_receiver() as receiver:
        settings.WORKFLOW_WEBHOOK_TEST_HOSTS = ["127.0.0.1"]
        workflow = create([{"id": "hook", "type": "webhook", "url": receiver.url}])
        with django_capture_on_commit_callbacks(execute=False):
            (enrollment,) = services.workflow_enroll(
                workflow=workflow, contact_ids=[ContactFactory().pk], actor=None
            ).enrolled
        from workflows.steps import webhook

        real_run = webhook.run

        def dies_after_sending(ctx):
            real_run(ctx)
            raise SystemExit("worker killed")

        from workflows.actions import REGISTRY

        original = REGISTRY["webhook"]
        REGISTRY["webhook"] = original.__class__(**{**original.__dict__, "run": dies_after_sending})
        try:
            with pytest.raises(SystemExit):
                runner.enrollment_run(enrollment.pk)
        finally:
            REGISTRY["webhook"] = original
        # What a dead worker leaves: the row counted once, not final; the lease running.
        hook = ActionExecution.objects.get(enrollment=enrollment)
        assert (hook.status, hook.attempts) == ("queued", 1)
        enrollment.refresh_from_db()
        assert enrollment.status == "running"
        Enrollment.objects.filter(pk=enrollment.pk).update(lease_until=None)  # as if it died
        assert runner.enrollment_run(enrollment.pk) is None
    hook.refresh_from_db()
    assert (hook.status, hook.attempts) == ("succeeded", 2)
    assert [d["headers"]["Idempotency-Key"] for d in receiver.deliveries] == [
        f"wf{workflow.pk}-e{enrollment.pk}-hook"
    ] * 2
    assert len(receiver.effects) == 1


@pytest.mark.django_db
def test_a_silent_run_is_taken_again_by_the_scan_only_after_its_lease(
    professional, static_segment, settings, django_capture_on_commit_callbacks
):
    workflow = create([{"id": "keep", "type": "segment.add", "segment_id": static_segment.pk}])
    with django_capture_on_commit_callbacks(execute=False):  # the queued message is lost
        (enrollment,) = services.workflow_enroll(
            workflow=workflow, contact_ids=[ContactFactory().pk], actor=None
        ).enrolled
    enrollment.refresh_from_db()
    rescue_at = enrollment.due_at
    assert rescue_at >= timezone.now() + dt.timedelta(seconds=settings.WORKFLOW_RESCUE_SECONDS - 5)
    Enrollment.objects.filter(pk=enrollment.pk).update(
        lease_until=rescue_at + dt.timedelta(minutes=1)
    )
    assert fire(rescue_at, django_capture_on_commit_callbacks) == []  # a worker holds it
    Enrollment.objects.filter(pk=enrollment.pk).update(lease_until=None)
    assert fire(rescue_at, django_capture_on_commit_callbacks) == [enrollment.pk]
    enrollment.refresh_from_db()
    assert enrollment.status == "completed"


@pytest.mark.django_db
def test_turning_the_workflow_off_stops_enrollments_where_they_are(
    professional, static_segment, django_capture_on_commit_callbacks
):
    workflow = create(
        [{"id": "wait", "type": "delay", "seconds": 60, "next": "keep"},
         {"id": "keep", "type": "segment.add", "segment_id": static_segment.pk}]
    )  # fmt: skip
    (enrollment,) = enroll(workflow, [ContactFactory()], django_capture_on_commit_callbacks)
    services.workflow_set_enabled(workflow=workflow, enabled=False)
    enrollment.refresh_from_db()
    fire(enrollment.due_at, django_capture_on_commit_callbacks)
    enrollment.refresh_from_db()
    assert enrollment.status == "stopped"
    assert path(enrollment) == [("wait", "succeeded", None), ("keep", "skipped", None)]
    assert not SegmentMember.objects.exists()


@pytest.mark.django_db
def test_a_new_version_while_contacts_wait_leaves_them_on_theirs(
    professional, static_segment, django_capture_on_commit_callbacks
):
    # rule W11
    other_segment = Segment.objects.create(name="Version 2", kind="static")
    workflow = create(
        [{"id": "wait", "type": "delay", "seconds": 60, "next": "keep"},
         {"id": "keep", "type": "segment.add", "segment_id": static_segment.pk}]
    )  # fmt: skip
    first, second = ContactFactory(), ContactFactory()
    (old,) = enroll(workflow, [first], django_capture_on_commit_callbacks)
    services.workflow_update(
        workflow=workflow,
        steps=[{"id": "wait", "type": "delay", "seconds": 60, "next": "keep"},
               {"id": "keep", "type": "segment.add", "segment_id": other_segment.pk}],
    )  # fmt: skip
    assert (workflow.version, workflow.published) == (2, True)
    assert list(workflow.versions.values_list("number", flat=True)) == [2, 1]
    (new,) = enroll(workflow, [second], django_capture_on_commit_callbacks)
    old.refresh_from_db(), new.refresh_from_db()
    assert (old.version.number, new.version.number) == (1, 2)
    fire(max(old.due_at, new.due_at), django_capture_on_commit_callbacks)
    assert list(SegmentMember.objects.filter(segment=static_segment).values_list(
        "contact_id", flat=True)) == [first.pk]  # fmt: skip
    assert list(SegmentMember.objects.filter(segment=other_segment).values_list(
        "contact_id", flat=True)) == [second.pk]  # fmt: skip


@pytest.mark.django_db
def test_saving_without_enrollments_changes_the_version_in_place(professional, static_segment):
    workflow = create([{"id": "keep", "type": "segment.add", "segment_id": static_segment.pk}])
    services.workflow_update(
        workflow=workflow, steps=[{"id": "gone", "type": "segment.remove",
                                   "segment_id": static_segment.pk}]
    )  # fmt: skip
    assert (workflow.version, workflow.published) == (1, False)
    version = WorkflowVersion.objects.get(workflow=workflow)
    assert version.steps == [
        {"id": "gone", "type": "segment.remove", "segment_id": static_segment.pk, "next": None}
    ]


@pytest.mark.django_db
def test_an_invalid_workflow_cannot_be_turned_on_and_says_why(professional, static_segment):
    # rule W11
    workflow = services.workflow_create(
        name="Keep", trigger={"type": "manual"}, actor=None,
        steps=[{"id": "keep", "type": "segment.add", "segment_id": static_segment.pk}],
    )  # fmt: skip
    static_segment.delete()
    with pytest.raises(ValidationFailed) as caught:
        services.workflow_set_enabled(workflow=workflow, enabled=True)
    assert caught.value.errors == [
        {"name": "steps[0].segment_id", "path": "steps[0].segment_id",
         "message": f"Segment {workflow.steps[0]['segment_id']} does not exist"}
    ]  # fmt: skip
    assert "The workflow cannot be turned on: steps[0].segment_id: Segment" in caught.value.message
    workflow.refresh_from_db()
    assert not workflow.enabled
    empty = services.workflow_create(name="Empty", trigger={"type": "manual"}, actor=None)
    with pytest.raises(ValidationFailed, match="Add at least one step"):
        services.workflow_set_enabled(workflow=empty, enabled=True)


@pytest.mark.django_db(transaction=True)
def test_two_scans_never_take_one_row(professional, static_segment, monkeypatch):
    # rule W10: SELECT … FOR UPDATE SKIP LOCKED
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED needs PostgreSQL")
    monkeypatch.setattr(services, "_queue_runs", lambda ids: None)  # rows only, no runs
    workflow = create([{"id": "keep", "type": "segment.add", "segment_id": static_segment.pk}])
    contacts = [ContactFactory() for _ in range(4)]
    enrolled = services.enroll_contacts(
        workflow=workflow, contact_ids=[c.pk for c in contacts], source="manual"
    ).enrolled
    later = timezone.now() + dt.timedelta(days=1)
    taken, started, go = [], threading.Event(), threading.Event()

    def other_scheduler():
        from django.db import connections

        with transaction.atomic():
            # Holds two rows as a scan in progress would.
            list(Enrollment.objects.select_for_update().filter(
                pk__in=[enrolled[0].pk, enrolled[1].pk]))  # fmt: skip
            started.set()
            go.wait(10)
        connections.close_all()

    thread = threading.Thread(target=other_scheduler)
    thread.start()
    started.wait(10)
    taken = runner.tick(now=later)
    go.set()
    thread.join()
    assert sorted(taken) == sorted(e.pk for e in enrolled[2:])
    # Taken rows are running with a new rescue time; the two held ones are left for later.
    assert sorted(runner.tick(now=later)) == sorted(e.pk for e in enrolled[:2])
