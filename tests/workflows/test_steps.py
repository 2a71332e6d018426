"""Each step type (rule W9): its settings checked when saved, its run on a contact."""

import datetime as dt
import hashlib
import hmac
import json

import pytest
from django.core import mail

from crm.errors import ValidationFailed
from crm.models import Account, Notification, Role, Tier
from marketing_events.models import MarketingEvent
from segments.models import Segment, SegmentMember
from tests.factories import ContactFactory, UserFactory
from tests.support.receiver import webhook_receiver
from workflows import services
from workflows.models import ActionExecution
from workflows.steps.delay import due_time

WEBINAR = "84000000077"


@pytest.fixture
def professional(db):
    Account.objects.update_or_create(pk=1, defaults={"tier": Tier.PROFESSIONAL})


def save(step):
    return services.workflow_create(
        name="One step", trigger={"type": "manual"}, enabled=True, actor=None,
        steps=[{"id": "only", **step}],
    )  # fmt: skip


def refused(step) -> tuple[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        save(step)
    error = caught.value.errors[0]
    return error["path"], error["message"]


def run_once(workflow, contact, capture):
    with capture(execute=True):
        (enrollment,) = services.workflow_enroll(
            workflow=workflow, contact_ids=[contact.pk], actor=None
        ).enrolled
    enrollment.refresh_from_db()
    return enrollment, ActionExecution.objects.get(enrollment=enrollment)


# ---- delay ----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "settings_, path, message",
    [
        ({}, "steps[0].seconds", "Give one of: a duration in seconds, a date property"),
        ({"seconds": 0}, "steps[0].seconds", "must be between 1 and 31622400"),
        ({"seconds": "soon"}, "steps[0].seconds", "must be a whole number"),
        ({"seconds": 5, "until_property": "createdate"}, "steps[0].seconds", "Give one of"),
        ({"until_property": "company"}, "steps[0].until_property", "is not a date property"),
        ({"until_property": "nope"}, "steps[0].until_property", "'nope' does not exist"),
        ({"webinar_id": "84-000"}, "steps[0].webinar_id", "is not a Zoom webinar id"),
        ({"webinar_id": WEBINAR, "relative_to": "middle"}, "steps[0].relative_to",
         "must be start or end"),
        ({"seconds": 5, "relative_to": "end"}, "steps[0].relative_to", "only a delay relative"),
    ],
)  # fmt: skip
def test_delay_settings_are_checked(professional, settings_, path, message):
    got_path, got_message = refused({"type": "delay", **settings_})
    assert got_path == path
    assert message in got_message


@pytest.mark.django_db
def test_delay_due_times():
    arrived = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    contact = ContactFactory(properties={"renewal": "2026-04-01"})
    assert due_time({"seconds": 90}, contact, arrived) == (arrived + dt.timedelta(seconds=90), {})
    end = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
    MarketingEvent.objects.create(
        source="zoom", external_account_id="a", external_event_id=WEBINAR, name="Launch",
        starts_at=end - dt.timedelta(hours=1), ends_at=end,
    )  # fmt: skip
    one_day_after_end = {"webinar_id": WEBINAR, "relative_to": "end", "offset_seconds": 86400}
    assert due_time(one_day_after_end, contact, arrived) == (end + dt.timedelta(days=1), {})
    hour_before_start = {"webinar_id": WEBINAR, "relative_to": "start", "offset_seconds": -3600}
    assert due_time(hour_before_start, contact, arrived)[0] == end - dt.timedelta(hours=2)
    created = {"until_property": "createdate"}
    millis = contact.created_at.microsecond // 1000 * 1000  # HubSpot's dates keep milliseconds
    assert due_time(created, contact, arrived)[0] == contact.created_at.replace(microsecond=millis)


@pytest.mark.django_db
def test_a_delay_already_past_or_on_an_empty_property_lets_the_contact_through(
    professional, django_capture_on_commit_callbacks
):
    from crm.models import PropertyDefinition

    PropertyDefinition.objects.create(name="renewal", label="Renewal", type="date",
                                      field_type="date")  # fmt: skip
    workflow = save({"type": "delay", "until_property": "renewal"})
    enrollment, step = run_once(workflow, ContactFactory(), django_capture_on_commit_callbacks)
    assert (enrollment.status, step.status, step.message) == (
        "completed",
        "succeeded",
        "The contact's “Renewal” is empty: no wait",
    )
    past = ContactFactory(properties={"renewal": "2020-01-01"})
    enrollment, step = run_once(workflow, past, django_capture_on_commit_callbacks)
    assert (enrollment.status, step.message) == (
        "completed",
        "Due at 2020-01-01 00:00 UTC, already past: no wait",
    )


@pytest.mark.django_db
def test_a_delay_on_an_unknown_webinar_fails_saying_so(
    professional, django_capture_on_commit_callbacks
):
    workflow = save({"type": "delay", "webinar_id": WEBINAR, "relative_to": "end"})
    enrollment, step = run_once(workflow, ContactFactory(), django_capture_on_commit_callbacks)
    assert (enrollment.status, step.status) == ("failed", "failed")
    assert step.message == (
        f"Webinar {WEBINAR} is not known to the CRM, or has no end time: sync its Zoom account "
        "first"
    )


# ---- branch ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_branch_filters_are_checked_with_the_segments_grammar(professional):
    bad = {"type": "property", "property": "company", "operator": "sounds_like", "value": "x"}
    path, message = refused({"type": "branch", "filters": {"or": [{"and": [bad]}]}})
    assert path == "steps[0].filters.or[0].and[0].operator"
    assert "sounds_like" in message
    assert refused({"type": "branch", "filters": {"or": []}}) == (
        "steps[0].filters",
        "a branch needs at least one filter",
    )
    assert refused({"type": "branch", "filters": {"or": [{"and": [
        {"type": "property", "property": "company", "operator": "is_known"}]}]},
        "next": None})[0] == "steps[0].next"  # fmt: skip


# ---- set_property ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_set_property_value_copy_and_clear(professional, django_capture_on_commit_callbacks):
    contact = ContactFactory(company="Acme", job_title="CTO", city="Porto")
    capture = django_capture_on_commit_callbacks
    _e, step = run_once(save({"type": "set_property", "property": "lifecyclestage",
                              "value": "lead"}), contact, capture)  # fmt: skip
    assert (step.status, step.message, step.output) == (
        "succeeded",
        "lifecyclestage set to lead",
        {"property": "lifecyclestage", "value": "lead"},
    )
    services.workflow_delete(workflow=step.workflow)
    _e, step = run_once(save({"type": "set_property", "property": "city",
                              "copy_from": "company"}), contact, capture)  # fmt: skip
    services.workflow_delete(workflow=step.workflow)
    _e, step = run_once(save({"type": "set_property", "property": "jobtitle", "clear": True}),
                        contact, capture)  # fmt: skip
    contact.refresh_from_db()
    assert (contact.lifecycle_stage, contact.city, contact.job_title) == ("lead", "Acme", "")
    assert step.message == "jobtitle cleared"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "settings_, path, message",
    [
        ({"property": "lifecyclestage", "value": "whale"}, "steps[0].value",
         "'whale' is not one of the allowed options"),
        ({"property": "createdate", "value": "x"}, "steps[0].property", "cannot set Create date"),
        ({"property": "email", "value": "a@b.c"}, "steps[0].property", "cannot set Email"),
        ({"property": "city"}, "steps[0].value", "Give one of: a value, a property to copy"),
        ({"property": "city", "value": "x", "clear": True}, "steps[0].value", "Give one of"),
        ({"property": "city", "copy_from": "nope"}, "steps[0].copy_from", "'nope' does not exist"),
    ],
)  # fmt: skip
def test_set_property_settings_are_checked(professional, settings_, path, message):
    got_path, got_message = refused({"type": "set_property", **settings_})
    assert got_path == path
    assert message in got_message


# ---- segments -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_segment_add_and_remove_take_static_segments_only(
    professional, django_capture_on_commit_callbacks
):
    static = Segment.objects.create(name="VIP", kind="static")
    active = Segment.objects.create(name="Everyone", kind="active", filters={"or": []})
    assert refused({"type": "segment.add", "segment_id": active.pk}) == (
        "steps[0].segment_id",
        "“Everyone” is an active segment: its members follow its filters; choose a static one",
    )
    assert refused({"type": "segment.remove", "segment_id": 999999})[1] == (
        "Segment 999999 does not exist"
    )
    contact = ContactFactory()
    capture = django_capture_on_commit_callbacks
    _e, step = run_once(save({"type": "segment.add", "segment_id": static.pk}), contact, capture)
    assert step.message == "Added to segment “VIP”"
    assert SegmentMember.objects.filter(segment=static, contact=contact).exists()
    services.workflow_delete(workflow=step.workflow)
    _e, step = run_once(save({"type": "segment.remove", "segment_id": str(static.pk)}), contact,
                        capture)  # fmt: skip
    assert step.message == "Removed from segment “VIP”"
    assert not SegmentMember.objects.filter(segment=static).exists()


# ---- notify ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_notify_a_user_in_app_and_by_email_in_their_language(
    professional, settings, django_capture_on_commit_callbacks
):
    settings.PUBLIC_BASE_URL = "https://crm.example"
    bruno = UserFactory(email="bruno@crm.test", role=Role.MARKETING, language="pt-br")
    contact = ContactFactory(first_name="Ana", last_name="Silva")
    workflow = save({"type": "notify", "user_id": bruno.pk, "message": "Call her today"})
    mail.outbox.clear()
    _e, step = run_once(workflow, contact, django_capture_on_commit_callbacks)
    assert (step.status, step.message) == ("succeeded", "Notified bruno@crm.test")
    notification = Notification.objects.get(recipient=bruno)
    assert notification.title == "Fluxo de trabalho “One step”: Ana Silva"
    assert (notification.body, notification.link) == ("Call her today",
                                                       f"/contacts/{contact.pk}/")  # fmt: skip
    (email,) = mail.outbox
    assert email.to == ["bruno@crm.test"]
    assert email.subject == "[CRM] Fluxo de trabalho “One step”: Ana Silva"
    assert "Call her today" in email.body
    assert f"Abrir o contato: https://crm.example/contacts/{contact.pk}/" in email.body


@pytest.mark.django_db
def test_notify_the_owner_or_skip_when_there_is_none(
    professional, django_capture_on_commit_callbacks
):
    owner = UserFactory(email="owner@crm.test")
    workflow = save({"type": "notify", "to": "owner", "message": "Yours"})
    capture = django_capture_on_commit_callbacks
    _e, step = run_once(workflow, ContactFactory(properties={"hubspot_owner_id": str(owner.pk)}),
                        capture)  # fmt: skip
    assert (step.status, step.output["user_id"]) == ("succeeded", owner.pk)
    enrollment, step = run_once(workflow, ContactFactory(), capture)
    assert (enrollment.status, step.status) == ("completed", "skipped")
    assert step.message == "The contact has no owner (or its owner left): nobody to notify"
    assert Notification.objects.count() == 1
    assert refused({"type": "notify", "to": "owner"}) == ("steps[0].message",
                                                          "Write the message to send")  # fmt: skip
    assert refused({"type": "notify", "user_id": 424242, "message": "x"})[0] == "steps[0].user_id"


# ---- webhook --------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url, message",
    [
        ("http://hooks.example.com/x", "Only https URLs can be used"),
        ("ftp://hooks.example.com/x", "Only https URLs can be used"),
        ("https://127.0.0.1/x", "127.0.0.1 is a private or local address"),
        ("https://10.1.2.3/x", "10.1.2.3 is a private or local address"),
        ("https://[::1]/x", "::1 is a private or local address"),
        ("https://user:pw@hooks.example.com/", "is not a URL"),
        ("", "Give the https URL to send to"),
    ],
)
def test_webhook_urls_are_https_and_public(professional, url, message):
    assert (
        refused({"type": "webhook", "url": url}) == ("steps[0].url", message)
        or message in (refused({"type": "webhook", "url": url})[1])
    )


@pytest.mark.django_db
def test_webhook_signed_body_with_the_contact_and_enrollment(
    professional, settings, django_capture_on_commit_callbacks
):
    contact = ContactFactory(email="ana@example.com", first_name="Ana", last_name="Silva")
    with webhook_receiver() as receiver:
        settings.WORKFLOW_WEBHOOK_TEST_HOSTS = ["127.0.0.1"]
        workflow = save({"type": "webhook", "url": receiver.url})
        secret = workflow.new_webhook_secret
        assert secret.startswith("whsec_") and workflow.webhook_secret == secret
        enrollment, step = run_once(workflow, contact, django_capture_on_commit_callbacks)
    (delivery,) = receiver.deliveries
    expected = "sha256=" + hmac.new(secret.encode(), delivery["body"], hashlib.sha256).hexdigest()
    assert delivery["headers"]["X-CRM-Signature"] == expected
    assert delivery["headers"]["Idempotency-Key"] == f"wf{workflow.pk}-e{enrollment.pk}-only"
    body = json.loads(delivery["body"])
    assert set(body) == {"workflow", "version", "enrollment", "contact", "step", "sent_at"}
    assert body["workflow"] == {"id": workflow.pk, "name": "One step"}
    assert body["version"] == 1
    assert body["enrollment"]["id"] == enrollment.pk
    assert body["contact"] == {"id": contact.pk, "email": "ana@example.com", "firstname": "Ana",
                               "lastname": "Silva", "properties": {}}  # fmt: skip
    assert body["step"] == {"id": "only", "type": "webhook"}
    assert (step.status, step.output) == ("succeeded", {"status_code": 200})
    # Never sent again once delivered: running the enrollment again sends nothing.
    from workflows.runner import enrollment_run

    assert enrollment_run(enrollment.pk) is None
    assert len(receiver.deliveries) == 1


@pytest.mark.django_db
def test_webhook_4xx_fails_and_a_private_destination_is_refused_when_it_runs(
    professional, settings, django_capture_on_commit_callbacks, monkeypatch
):
    capture = django_capture_on_commit_callbacks
    with webhook_receiver(statuses=[410]) as receiver:
        settings.WORKFLOW_WEBHOOK_TEST_HOSTS = ["127.0.0.1"]
        enrollment, step = run_once(save({"type": "webhook", "url": receiver.url}),
                                    ContactFactory(), capture)  # fmt: skip
    assert (enrollment.status, step.status, step.attempts) == ("failed", "failed", 1)
    assert step.message == f"{receiver.url} refused it: 410"
    # A public-looking name that resolves to a loopback address (DNS): refused at run time.
    settings.WORKFLOW_WEBHOOK_TEST_HOSTS = []
    monkeypatch.setattr("socket.getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("127.0.0.1", 443))])
    workflow = services.workflow_create(
        name="Rebinding", trigger={"type": "manual"}, enabled=True, actor=None,
        steps=[{"id": "only", "type": "webhook", "url": "https://hooks.example.com/x"}],
    )  # fmt: skip
    enrollment, step = run_once(workflow, ContactFactory(), capture)
    assert (step.status, step.message) == (
        "failed",
        "Not sent: hooks.example.com is not a public address (127.0.0.1)",
    )


@pytest.mark.django_db
def test_webhook_test_hosts_are_refused_in_production(monkeypatch):
    import subprocess
    import sys

    env = {"DJANGO_ENV": "production", "WORKFLOW_WEBHOOK_TEST_HOSTS": "127.0.0.1",
           "SECRET_KEY": "x" * 50, "DATABASE_URL": "sqlite:///x",
           "FIELD_ENCRYPTION_KEY": "0" * 43 + "=", "REDIS_URL": "redis://127.0.0.1:6379/3",
           "CELERY_BROKER_URL": "redis://127.0.0.1:6379/4",
           "ALLOWED_HOSTS": "crm.example", "PATH": "/usr/bin:/bin"}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-c", "import django, os; os.environ.setdefault("
         "'DJANGO_SETTINGS_MODULE','config.settings'); from django.conf import settings; "
         "settings.DEBUG"], env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode != 0
    assert "WORKFLOW_WEBHOOK_TEST_HOSTS" in result.stderr


@pytest.mark.django_db
def test_the_webhook_secret_is_stored_encrypted(professional, settings):
    from django.db import connection

    with webhook_receiver() as receiver:
        settings.WORKFLOW_WEBHOOK_TEST_HOSTS = ["127.0.0.1"]
        workflow = save({"type": "webhook", "url": receiver.url})
    with connection.cursor() as cursor:
        cursor.execute("SELECT webhook_secret FROM workflows_workflow WHERE id = %s", [workflow.pk])
        (stored,) = cursor.fetchone()
    assert stored and workflow.new_webhook_secret not in stored
    new = services.workflow_webhook_secret_rotate(workflow=workflow)
    workflow.refresh_from_db()
    assert workflow.webhook_secret == new != workflow.new_webhook_secret


@pytest.mark.django_db(transaction=True)
def test_notify_a_crash_between_sending_and_recording_never_sends_twice(professional, monkeypatch):
    # rule W10: the notification is stored under the step's idempotency key. Committed for
    # real, as in a worker: the e-mail is queued when the send commits.
    from workflows import runner
    from workflows.models import NotificationSent

    bruno = UserFactory(email="bruno@crm.test")
    workflow = save({"type": "notify", "user_id": bruno.pk, "message": "Call her today"})
    real_record = runner._record

    def crash(execution, result):  # the worker dies after the send, before the step is marked
        raise SystemExit("killed")

    monkeypatch.setattr(runner, "_record", crash)
    mail.outbox.clear()
    with pytest.raises(SystemExit):
        services.workflow_enroll(workflow=workflow, contact_ids=[ContactFactory().pk], actor=None)
    (enrollment,) = workflow.enrollments.all()
    assert Notification.objects.filter(recipient=bruno).count() == 1
    assert len(mail.outbox) == 1
    assert ActionExecution.objects.get(enrollment=enrollment).status == "queued"
    # The engine takes it again (its lease ended): the step runs again and sends nothing.
    monkeypatch.setattr(runner, "_record", real_record)
    type(enrollment).objects.filter(pk=enrollment.pk).update(lease_until=None)
    runner.enrollment_run(enrollment.pk)
    enrollment.refresh_from_db()
    step = ActionExecution.objects.get(enrollment=enrollment)
    assert (enrollment.status, step.status, step.attempts) == ("completed", "succeeded", 2)
    assert Notification.objects.filter(recipient=bruno).count() == 1
    assert len(mail.outbox) == 1
    (sent,) = NotificationSent.objects.all()
    assert sent.key == f"wf{workflow.pk}-e{enrollment.pk}-only"
    assert step.output["notification_id"] == sent.notification_id


@pytest.mark.django_db
def test_notify_a_retry_is_not_mistaken_for_another_steps_identical_notification(
    professional, django_capture_on_commit_callbacks, monkeypatch
):
    # Two workflows send Bruno the same message about the same contact. The second one's
    # first try dies before it sends; meanwhile the first one sends. The retry must still send
    # its own notification (an earlier guess by recipient, link and text found the other one).
    from workflows import runner
    from workflows.steps import notify

    bruno = UserFactory(email="bruno@crm.test")
    contact = ContactFactory()
    first = save({"type": "notify", "user_id": bruno.pk, "message": "Call her today"})
    second = services.workflow_create(
        name="Other", trigger={"type": "manual"}, enabled=True, actor=None,
        steps=[{"id": "only", "type": "notify", "user_id": bruno.pk,
                "message": "Call her today"}],
    )  # fmt: skip
    real_create = notify.notification_create

    def dies(**kwargs):
        raise SystemExit("killed")

    monkeypatch.setattr(notify, "notification_create", dies)
    with pytest.raises(SystemExit), django_capture_on_commit_callbacks(execute=True):
        services.workflow_enroll(workflow=second, contact_ids=[contact.pk], actor=None)
    monkeypatch.setattr(notify, "notification_create", real_create)
    run_once(first, contact, django_capture_on_commit_callbacks)
    (retried,) = second.enrollments.all()
    Enrollment = type(retried)
    Enrollment.objects.filter(pk=retried.pk).update(lease_until=None)
    with django_capture_on_commit_callbacks(execute=True):
        runner.enrollment_run(retried.pk)
    step = ActionExecution.objects.get(enrollment=retried)
    assert (step.status, step.attempts) == ("succeeded", 2)
    assert Notification.objects.filter(recipient=bruno).count() == 2


@pytest.mark.django_db
def test_webhook_connects_to_the_address_it_checked_with_tls_on_the_host_name(
    professional, settings, django_capture_on_commit_callbacks, monkeypatch, tmp_path
):
    # SSRF (DNS rebinding): the name answers a public address when checked, then a private one.
    # The request must go to the address checked, never resolve the name again, and still
    # speak TLS to the name (SNI, and the certificate verified against it).
    import socket

    from tests.support.tls import https_server, make_ca_and_cert

    public = "93.184.216.34"  # the test's "network" routes it to its server on 127.0.0.2
    ca, cert, key = make_ca_and_cert(tmp_path, "hooks.example.com")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    real_getaddrinfo = socket.getaddrinfo
    asked: list[str] = []

    def resolver(host, port_, *args, **kwargs):
        if host in ("hooks.example.com", "other.example.com"):
            asked.append(host)
            rebinds = host == "hooks.example.com" and len(asked) > 1
            answer = "127.0.0.1" if rebinds else public
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer, int(port_)))]
        if host == public:
            return real_getaddrinfo("127.0.0.2", port_, *args, **kwargs)
        return real_getaddrinfo(host, port_, *args, **kwargs)

    settings.WORKFLOW_WEBHOOK_TEST_HOSTS = []
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    capture = django_capture_on_commit_callbacks
    with (
        https_server("127.0.0.2", port, cert, key) as public_hits,
        https_server("127.0.0.1", port, cert, key) as private_hits,
    ):
        workflow = services.workflow_create(
            name="Pinned", trigger={"type": "manual"}, enabled=True, actor=None,
            steps=[{"id": "only", "type": "webhook",
                    "url": f"https://hooks.example.com:{port}/x"}],
        )  # fmt: skip
        workflow.webhook_secret = "whsec_test"
        workflow.save(update_fields=["webhook_secret"])
        enrollment, step = run_once(workflow, ContactFactory(), capture)
        assert (step.status, step.output) == ("succeeded", {"status_code": 200}), step.message
        assert asked == ["hooks.example.com"]  # resolved once, by the check
        assert private_hits == []
        assert public_hits == [{"address": "127.0.0.2", "host": f"hooks.example.com:{port}",
                                "sni": "hooks.example.com"}]  # fmt: skip
        # The certificate is still checked against the name: one for another name is refused.
        asked.clear()
        other = services.workflow_create(
            name="Wrong name", trigger={"type": "manual"}, enabled=True, actor=None,
            steps=[{"id": "only", "type": "webhook",
                    "url": f"https://other.example.com:{port}/x"}],
        )  # fmt: skip
        other.webhook_secret = "whsec_test"
        other.save(update_fields=["webhook_secret"])
        from workflows.tasks import run_enrollment

        queue = run_enrollment.apply_async  # the retry is left queued, not run at once
        later = lambda *a, **k: None if "countdown" in k else queue(*a, **k)  # noqa: E731
        monkeypatch.setattr(run_enrollment, "apply_async", later)
        enrollment, step = run_once(other, ContactFactory(), capture)
        assert step.status == "retrying", step.message
        assert "could not be reached: SSLError" in step.message
        assert len(public_hits) == 1 and private_hits == []


# ---- the Zoom steps share their webinar id check --------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("step_type", ["zoom.add_contact_to_webinar", "zoom.cancel_registration"])
@pytest.mark.parametrize(
    "raw, shown",
    [("84-000-000", "'84-000-000'"), (True, "True"), ([1], "[1]"), (12, "12"),
     ("8400000000000", "'8400000000000'")],
)  # fmt: skip
def test_both_zoom_steps_check_a_webinar_id_alike(professional, step_type, raw, shown):
    # rule W2: one check, one message, whichever Zoom step it is.
    assert refused({"type": step_type, "webinar_id": raw}) == (
        "steps[0].webinar_id",
        f"{shown} is not a Zoom webinar id: type its 9 to 12 digits without spaces or dashes "
        "(e.g. 81234567890)",
    )
    path, message = refused({"type": step_type, "webinar_id": WEBINAR, "extra": 1})
    assert (path, message) == ("steps[0].extra", "Unknown key 'extra'")


@pytest.mark.django_db
def test_a_delay_relative_to_a_webinar_listed_but_not_synced_yet_waits_for_its_end(
    professional, django_capture_on_commit_callbacks
):
    # Found trying the demo as a new user: the editor offers the connection's webinars (listed
    # from Zoom) before any sync made their marketing events; the delay used to fail on them.
    from crm.models import Brand
    from zoom_integration.models import ZoomConnection, ZoomWebinar

    brand = Brand.objects.create(name="Acme", is_primary=True)
    connection = ZoomConnection.objects.create(brand=brand, kind="s2s", status="connected",
                                               client_id="c", client_secret="s")  # fmt: skip
    ends = dt.datetime(2030, 5, 1, 16, 0, tzinfo=dt.UTC)
    ZoomWebinar.objects.create(connection=connection, zoom_webinar_id=84000000099, topic="Soon",
                               start_time=ends - dt.timedelta(hours=1), end_time=ends)  # fmt: skip
    assert not MarketingEvent.objects.exists()
    workflow = save({"type": "delay", "webinar_id": "84000000099", "relative_to": "end",
                     "offset_seconds": 86400})  # fmt: skip
    enrollment, step = run_once(workflow, ContactFactory(), django_capture_on_commit_callbacks)
    assert (enrollment.status, step.status) == ("waiting", "waiting"), step.message
    assert enrollment.due_at == ends + dt.timedelta(days=1)
    # A webinar nobody lists is still refused with the reason.
    workflow = services.workflow_create(
        name="Unknown", trigger={"type": "manual"}, enabled=True, actor=None,
        steps=[{"id": "only", "type": "delay", "webinar_id": "84000000098",
                "relative_to": "end", "offset_seconds": 0}],
    )  # fmt: skip
    enrollment, step = run_once(workflow, ContactFactory(), django_capture_on_commit_callbacks)
    assert step.status == "failed"
    assert "is not known to the CRM" in step.message
