"""The engine with real Celery worker processes over the broker, against the Zoom sandbox
(rules W9–W11, issue 23's "Must show"):

- the issue's example, end to end, with three contacts (attended 45 min, attended 5 min,
  no-show), the clock moved through the delay and the worker's own beat taking it when due;
- a worker SIGKILLed inside a webhook step and inside a Zoom step: each side effect once;
- a new version published while contacts wait in a delay: they finish on their version."""

import datetime as dt
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from crm.models import Account, Brand, Contact, Notification, Tier
from marketing_events.models import Participation
from segments.models import Segment, SegmentMember
from tests.factories import ContactFactory, UserFactory
from tests.support.receiver import webhook_receiver
from tests.support.worker import wait_for, worker_processes
from tests.zoom_integration.scenario import ACME, S2S
from workflows import services
from workflows.models import ActionExecution, Enrollment
from workflows.tasks import tick
from zoom_integration.models import ZoomConnection
from zoom_integration.services.connections import (
    connection_create_s2s,
    connection_settings_update,
)
from zoom_integration.services.metadata import connection_metadata_refresh
from zoom_integration.services.sync import sync_run_execute, sync_run_request

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

LAUNCH_ID = 84000000061
REPLAY_ID = 84000000062
ENDED = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
ENGINE_ENV = {
    "WORKFLOW_TICK_SECONDS": "1",
    "WORKFLOW_STEP_LEASE_SECONDS": "3",
    "WORKFLOW_RESCUE_SECONDS": "3",
    "WORKFLOW_WEBHOOK_TEST_HOSTS": "127.0.0.1",
}


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def person(name: str) -> dict:
    return {
        "id": f"r_{name}",
        "email": f"{name}@example.com",
        "first_name": name.title(),
        "last_name": "Lima",
        "status": "approved",
        "create_time": iso(ENDED - timedelta(days=5)),
    }


def attended(name: str, minutes: int, start: datetime) -> dict:
    return {
        "participant_user_id": f"pu_{name}",
        "registrant_id": f"r_{name}",
        "name": f"{name.title()} Lima",
        "user_email": f"{name}@example.com",
        "join_time": iso(start),
        "leave_time": iso(start + timedelta(minutes=minutes)),
    }


def add_webinars(sandbox) -> None:
    start = ENDED - timedelta(minutes=60)
    state = sandbox.get("/_sandbox/state").json()
    account = next(a for a in state["accounts"] if a["id"] == ACME)
    account["webinars"] += [
        {"id": LAUNCH_ID, "host_id": "u_owner", "topic": "Launch", "type": 5,
         "start_time": iso(start), "duration": 60, "timezone": "UTC",
         "registration_required": True,
         "registrants": [person("ana"), person("bruno"), person("carla")],
         "instances": [{"uuid": "launchUuid1234567890A==", "start_time": iso(start),
                        "end_time": iso(ENDED),
                        "participants": [attended("ana", 45, start),
                                         attended("bruno", 5, start)]}]},
        {"id": REPLAY_ID, "host_id": "u_owner", "topic": "Launch (replay)", "type": 5,
         "start_time": iso(ENDED + timedelta(days=7)), "duration": 60, "timezone": "UTC",
         "registration_required": True, "registrants": []},
    ]  # fmt: skip
    sandbox.post("/_sandbox/accounts", json=account).raise_for_status()


def registrants(sandbox, webinar_id, email=None) -> list[dict]:
    state = sandbox.get("/_sandbox/state").json()
    for account in state["accounts"]:
        for webinar in account["webinars"]:
            if webinar["id"] == webinar_id:
                found = webinar.get("registrants", [])
                return [r for r in found if email is None or r["email"] == email]
    raise AssertionError(webinar_id)


@pytest.fixture
def crm_with_zoom(zoom_sandbox, zoom_sandbox_url):
    Account.objects.update_or_create(pk=1, defaults={"tier": Tier.PROFESSIONAL})
    add_webinars(zoom_sandbox)
    brand = Brand.objects.create(name="Acme", is_primary=True)
    connection = connection_create_s2s(brand=brand, account_id=ACME, **S2S)
    connection_metadata_refresh(connection=connection)
    connection_settings_update(connection=connection, sync_webinar_data=True)
    run = sync_run_execute(
        run_id=sync_run_request(connection=ZoomConnection.objects.get(pk=connection.pk)).pk
    )
    assert run.status == "succeeded", run.errors
    return zoom_sandbox


@pytest.fixture
def workers(tmp_path, zoom_sandbox_url):
    env = {"ZOOM_API_BASE_URL": f"{zoom_sandbox_url}/v2", "ZOOM_OAUTH_BASE_URL": zoom_sandbox_url,
           **ENGINE_ENV}  # fmt: skip
    with worker_processes(tmp_path, env) as workers:
        yield workers


def why_steps(owner_stage="lead"):
    """The issue's "Why": registered → wait until one day after the webinar ends → attended at
    least 30 minutes? yes: lifecycle stage lead, notify the owner; no: register for the replay."""
    return [
        {"id": "wait", "type": "delay", "webinar_id": str(LAUNCH_ID), "relative_to": "end",
         "offset_seconds": 86400, "next": "attended"},
        {"id": "attended", "type": "branch", "yes": "stage", "no": "replay",
         "filters": {"or": [{"and": [{"type": "zoom_webinar_attendance",
                                      "webinar_id": str(LAUNCH_ID),
                                      "duration": {"operator": "gte", "value": 1800}}]}]}},
        {"id": "stage", "type": "set_property", "property": "lifecyclestage",
         "value": owner_stage, "next": "tell"},
        {"id": "tell", "type": "notify", "to": "owner",
         "message": "Attended the launch: call them", "next": None},
        {"id": "replay", "type": "zoom.add_contact_to_webinar", "webinar_id": str(REPLAY_ID),
         "next": None},
    ]  # fmt: skip


def paths(workflow) -> dict[str, list[tuple[str, str]]]:
    out = {}
    for enrollment in Enrollment.objects.filter(workflow=workflow).select_related("contact"):
        out[enrollment.contact.email] = [
            (e.step_id, e.status)
            for e in ActionExecution.objects.filter(enrollment=enrollment).order_by("action_index")
        ]
    return out


def statuses(workflow) -> list[str]:
    return sorted(Enrollment.objects.filter(workflow=workflow).values_list("status", flat=True))


def test_the_example_end_to_end_with_the_clock_moved_through_the_delay(crm_with_zoom, workers):
    sandbox = crm_with_zoom
    owner = UserFactory(email="owner@crm.test")
    launch = Contact.objects.filter(first_name__in=["Ana", "Bruno", "Carla"], last_name="Lima")
    people = {c.email: c for c in launch}
    assert sorted(people) == ["ana@example.com", "bruno@example.com", "carla@example.com"]
    durations = dict(
        Participation.objects.filter(event__external_event_id=str(LAUNCH_ID)).values_list(
            "contact__email", "duration_seconds")
    )  # fmt: skip
    # 45 min, 5 min, no-show
    assert (durations["ana@example.com"], durations["bruno@example.com"]) == (2700, 300)
    assert not durations["carla@example.com"]
    for contact in people.values():
        contact.properties = {"hubspot_owner_id": str(owner.pk)}
        contact.save()
    workflow = services.workflow_create(
        name="Launch follow-up", trigger={"type": "manual"}, steps=why_steps(), start="wait",
        enabled=True, actor=None,
    )  # fmt: skip
    workers.start(beat=True)
    services.workflow_enroll(workflow=workflow, contact_ids=[c.pk for c in people.values()],
                             actor=None)  # fmt: skip
    wait_for(lambda: statuses(workflow) == ["waiting"] * 3, timeout=60)
    due = ENDED + timedelta(days=1)
    assert set(Enrollment.objects.filter(workflow=workflow).values_list("due_at", flat=True)) == {
        due
    }
    time.sleep(2.5)  # beat ticks meanwhile: nobody is due yet
    assert statuses(workflow) == ["waiting"] * 3

    # The clock moves through the delay: a day later, the rows are due.
    moved = timezone.now()
    Enrollment.objects.filter(workflow=workflow).update(due_at=F("due_at") - (due - moved))
    wait_for(lambda: statuses(workflow) == ["completed"] * 3, timeout=90)

    assert paths(workflow) == {
        "ana@example.com": [("wait", "succeeded"), ("attended", "succeeded"),
                            ("stage", "succeeded"), ("tell", "succeeded")],
        "bruno@example.com": [("wait", "succeeded"), ("attended", "succeeded"),
                              ("replay", "succeeded")],
        "carla@example.com": [("wait", "succeeded"), ("attended", "succeeded"),
                              ("replay", "succeeded")],
    }  # fmt: skip
    # Each delay fired within 60 s of due (rule W10): here within the beat's tick and a run.
    for wait in ActionExecution.objects.filter(workflow=workflow, step_id="wait"):
        assert wait.finished_at - moved < dt.timedelta(seconds=60)
    assert Contact.objects.get(email="ana@example.com").lifecycle_stage == "lead"
    assert Contact.objects.get(email="bruno@example.com").lifecycle_stage == ""
    (note,) = Notification.objects.filter(recipient=owner)
    assert note.title == "Workflow “Launch follow-up”: Ana Lima"
    assert sorted(r["email"] for r in registrants(sandbox, REPLAY_ID)) == [
        "bruno@example.com", "carla@example.com"]  # fmt: skip


def test_a_worker_killed_inside_a_webhook_step_delivers_once(crm_with_zoom, workers, settings):
    settings.WORKFLOW_WEBHOOK_TEST_HOSTS = ["127.0.0.1"]
    with webhook_receiver(hold_first=True) as receiver:
        workflow = services.workflow_create(
            name="Hook", trigger={"type": "manual"}, enabled=True, actor=None,
            steps=[{"id": "hook", "type": "webhook", "url": receiver.url}],
        )  # fmt: skip
        secret = workflow.new_webhook_secret
        contact = ContactFactory(email="hook@workflow.example")
        workers.start()
        services.workflow_enroll(workflow=workflow, contact_ids=[contact.pk], actor=None)
        wait_for(lambda: len(receiver.deliveries) == 1, timeout=30)
        workers.kill()  # inside the step: the request was received, no answer recorded
        receiver.release()
        hook = ActionExecution.objects.get(workflow=workflow)
        assert (hook.status, hook.attempts) == ("queued", 1)
        workers.start()
        # The scan takes the silent run once its lease has ended (beat's job, played here).
        wait_for(lambda: tick() >= 0 and statuses(workflow) == ["completed"], timeout=60)
    hook.refresh_from_db()
    assert (hook.status, hook.attempts) == ("succeeded", 2)
    assert len(receiver.deliveries) == 2
    assert {d["headers"]["Idempotency-Key"] for d in receiver.deliveries} == {
        f"wf{workflow.pk}-e{hook.enrollment_id}-hook"
    }
    assert all(receiver.verify(d, secret) for d in receiver.deliveries)
    assert len(receiver.effects) == 1


def test_a_worker_killed_inside_a_zoom_step_registers_once(crm_with_zoom, workers):
    sandbox = crm_with_zoom
    contact = ContactFactory(email="dora@example.com", first_name="Dora", last_name="Dias")
    workflow = services.workflow_create(
        name="Register", trigger={"type": "manual"}, enabled=True, actor=None,
        steps=[{"id": "register", "type": "zoom.add_contact_to_webinar",
                "webinar_id": str(REPLAY_ID)}],
    )  # fmt: skip
    # Zoom registers the contact, but its answer is slow: the worker dies while it waits.
    sandbox.post("/_sandbox/faults", json={"rules": [
        {"path": f"/webinars/{REPLAY_ID}/registrants$", "method": "POST",
         "answer_delay_ms": 3000}]},
    ).raise_for_status()  # fmt: skip
    sandbox.delete("/_sandbox/requests").raise_for_status()
    workers.start()
    services.workflow_enroll(workflow=workflow, contact_ids=[contact.pk], actor=None)

    def posted() -> int:
        log = sandbox.get("/_sandbox/requests").json()
        entries = log.get("requests", log) if isinstance(log, dict) else log
        path = f"/webinars/{REPLAY_ID}/registrants"
        return sum(1 for r in entries if r["method"] == "POST" and r["path"].endswith(path))

    wait_for(lambda: posted() == 1, timeout=30)
    workers.kill()
    time.sleep(0.5)
    execution = ActionExecution.objects.get(workflow=workflow)
    assert (execution.status, execution.attempts) == ("queued", 1)
    assert len(registrants(sandbox, REPLAY_ID, "dora@example.com")) == 1  # done at Zoom
    workers.start()
    wait_for(lambda: tick() >= 0 and statuses(workflow) == ["completed"], timeout=60)
    execution.refresh_from_db()
    assert (execution.status, execution.attempts) == ("succeeded", 2)
    (registrant,) = registrants(sandbox, REPLAY_ID, "dora@example.com")
    assert posted() == 1  # the second try found the registrant and did not post again
    assert execution.output["registrant_id"] == registrant["id"]
    participation = Participation.objects.get(contact=contact)
    assert participation.external_registrant_id == registrant["id"]


def test_a_new_version_while_contacts_wait_leaves_them_on_theirs(crm_with_zoom, workers):
    first_list = Segment.objects.create(name="Version 1", kind="static")
    second_list = Segment.objects.create(name="Version 2", kind="static")
    steps = [{"id": "wait", "type": "delay", "seconds": 3600, "next": "keep"},
             {"id": "keep", "type": "segment.add", "segment_id": first_list.pk}]  # fmt: skip
    workflow = services.workflow_create(name="Versions", trigger={"type": "manual"}, steps=steps,
                                        enabled=True, actor=None)  # fmt: skip
    early = ContactFactory(email="early@workflow.example")
    late = ContactFactory(email="late@workflow.example")
    workers.start(beat=True)
    services.workflow_enroll(workflow=workflow, contact_ids=[early.pk], actor=None)
    wait_for(lambda: statuses(workflow) == ["waiting"], timeout=30)
    steps[1]["segment_id"] = second_list.pk
    services.workflow_update(workflow=workflow, steps=steps)
    assert (workflow.version, workflow.published) == (2, True)
    services.workflow_enroll(workflow=workflow, contact_ids=[late.pk], actor=None)
    wait_for(lambda: statuses(workflow) == ["waiting", "waiting"], timeout=30)
    Enrollment.objects.filter(workflow=workflow).update(due_at=timezone.now())
    wait_for(lambda: statuses(workflow) == ["completed", "completed"], timeout=60)
    assert dict(Enrollment.objects.filter(workflow=workflow).values_list(
        "contact_id", "version__number")) == {early.pk: 1, late.pk: 2}  # fmt: skip
    assert list(SegmentMember.objects.filter(segment=first_list).values_list(
        "contact_id", flat=True)) == [early.pk]  # fmt: skip
    assert list(SegmentMember.objects.filter(segment=second_list).values_list(
        "contact_id", flat=True)) == [late.pk]  # fmt: skip
