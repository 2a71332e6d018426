"""Workflows in the browser (server side, rule W1 UI): roles, the tier gate, the editor (manual
and filter triggers, errors next to their fields), on/off, enrollment from the workflow, contact
and segment pages, the execution log with its filters, polling and bounded queries."""

import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import Account, Brand, Role, Tier
from segments.models import Segment, SegmentKind, SegmentMember
from tests.factories import ContactFactory, UserFactory
from workflows.models import (
    ActionExecution,
    Enrollment,
    ExecutionStatus,
    TriggerType,
    Workflow,
)
from zoom_integration.models import ZoomConnection, ZoomWebinar

ACTION = "zoom.add_contact_to_webinar"
WEBINAR = "84000000001"


@pytest.fixture
def professional(db):
    Account.objects.update_or_create(pk=1, defaults={"tier": Tier.PROFESSIONAL})


from tests.workflows.conftest import create_enrollment, create_workflow  # noqa: E402


def login(client, role=Role.MARKETING):
    user = UserFactory(role=role)
    client.force_login(user)
    return user


def make_workflow(name="Register", *, enabled=True, trigger_type=TriggerType.MANUAL, filters=None,
                  reenrollment=False):  # fmt: skip
    return create_workflow(
        name=name, enabled=enabled, trigger_type=trigger_type, filters=filters or {},
        reenrollment=reenrollment, actions=[{"type": ACTION, "webinar_id": WEBINAR}],
    )  # fmt: skip


def editor_post(steps=None, start=None, **overrides):
    """What the editor posts: plain fields and the flow's graph (static/workflows/flow.js)."""
    if steps is None:
        steps = [{"id": "s1", "type": ACTION, "webinar_id": WEBINAR, "next": None}]
    data = {
        "name": "Register for the launch",
        "trigger_type": "manual",
        "filters": json.dumps({"or": []}),
        "graph": json.dumps({"steps": steps, "start": start}),
    }
    data.update(overrides)
    return data


def json_script(html: str, element_id: str):
    return json.loads(html.split(f'id="{element_id}" type="application/json">')[1].split("<")[0])


def log_row(workflow, contact, status, *, when=None, number=1, message="", output=None):
    enrollment = create_enrollment(workflow, contact, number=number, source="manual")
    return ActionExecution.objects.create(
        enrollment=enrollment, workflow=workflow, contact=contact, action_index=0, step_id="s1",
        action_type=ACTION, status=status, message=message, output=output or {},
        attempts=1, created_at=when or timezone.now(),
    )  # fmt: skip


# ---- roles and tier -----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.VIEWER, Role.MARKETING, Role.SUPER_ADMIN])
def test_pages_render_for_each_role(client, professional, role):
    login(client, role)
    workflow = make_workflow()
    writer = role != Role.VIEWER
    list_html = client.get(reverse("workflows:list")).content.decode()
    assert "Register" in list_html
    assert (reverse("workflows:create") in list_html) is writer
    detail = client.get(reverse("workflows:detail", args=[workflow.pk]))
    assert detail.status_code == 200
    html = detail.content.decode()
    assert "Add contact to Zoom webinar 84000000001" in html
    assert (reverse("workflows:enroll", args=[workflow.pk]) in html) is writer
    assert (reverse("workflows:toggle", args=[workflow.pk]) in html) is writer
    for url in (reverse("workflows:create"), reverse("workflows:edit", args=[workflow.pk])):
        assert client.get(url).status_code == (200 if writer else 403)
    assert client.post(reverse("workflows:toggle", args=[workflow.pk])).status_code == (
        302 if writer else 403
    )


@pytest.mark.django_db
def test_empty_list_says_what_to_do(client, professional):
    login(client)
    html = client.get(reverse("workflows:list")).content.decode()
    assert "No workflows yet" in html
    assert reverse("workflows:create") in html


def test_the_editor_offers_the_steps_the_registry_holds(client, professional, monkeypatch):
    # Rule W1 UI: the flow editor's step types and its webinar picker come from the action
    # registry (the app that registers them is not imported), never from a name written into
    # the workflows app.
    from workflows.actions import REGISTRY, ActionResult, ActionType

    offered = ActionType(
        type="test.register_somewhere",
        label="Register somewhere",
        clean=lambda config: config,
        run=lambda ctx: ActionResult.succeeded(),
        choices=lambda: {
            "connected": True,
            "webinars": [
                {"id": "123456789", "topic": "Offered", "upcoming": True, "start_time": None}
            ],
        },
    )
    for name in [name for name, action in REGISTRY.items() if action.choices is not None]:
        monkeypatch.delitem(REGISTRY, name)
    monkeypatch.setitem(REGISTRY, offered.type, offered)
    login(client)
    html = client.get(reverse("workflows:create")).content.decode()
    assert '"type": "test.register_somewhere"' in html
    assert '"label": "Register somewhere"' in html
    assert ACTION not in html
    assert "Offered" in html


@pytest.mark.django_db
@pytest.mark.parametrize("tier", [Tier.FREE, Tier.STARTER])
def test_below_professional_every_page_explains_and_posts_are_refused(client, tier):
    Account.objects.update_or_create(pk=1, defaults={"tier": tier})
    admin = login(client, Role.SUPER_ADMIN)
    workflow = make_workflow()
    contact = ContactFactory()
    pages = [
        reverse("workflows:list"),
        reverse("workflows:create"),
        reverse("workflows:detail", args=[workflow.pk]),
        reverse("workflows:edit", args=[workflow.pk]),
    ]
    for url in pages:
        response = client.get(url)
        html = response.content.decode()
        assert response.status_code == 200, url
        assert "Workflows need the Professional or Enterprise tier" in html
        assert "A super admin can change the tier in Settings &gt; Account" in html
        assert reverse("crm:settings_account") in html  # the link, for a super admin
        assert "Execution log" not in html and "workflow-form" not in html
    posts = [
        (reverse("workflows:create"), editor_post()),
        (reverse("workflows:toggle", args=[workflow.pk]), {"enabled": "0"}),
        (reverse("workflows:enroll", args=[workflow.pk]), {"contacts": str(contact.pk)}),
        (reverse("workflows:enroll_contact", args=[contact.pk]), {"workflow": workflow.pk}),
        (reverse("workflows:delete", args=[workflow.pk]), {}),
    ]
    for url, data in posts:
        response = client.post(url, data)
        assert response.status_code == 403, url
        assert "Workflows need the Professional" in response.content.decode()
    assert list(Workflow.objects.values_list("name", "enabled")) == [("Register", True)]
    assert not Enrollment.objects.exists()
    # A marketer reads the reason without the settings link; the contact page offers nothing.
    client.force_login(UserFactory(role=Role.MARKETING))
    html = client.get(reverse("workflows:list")).content.decode()
    assert "Workflows need the Professional" in html
    assert reverse("crm:settings_account") not in html
    html = client.get(reverse("crm:contact_detail", args=[contact.pk])).content.decode()
    assert "Enroll in workflow" not in html
    assert admin.pk


# ---- editor -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_with_manual_trigger_from_the_form(client, professional):
    user = login(client)
    response = client.post(reverse("workflows:create"), editor_post(reenrollment="1"))
    workflow = Workflow.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("workflows:detail", args=[workflow.pk])
    assert workflow.name == "Register for the launch"
    assert workflow.trigger == {"type": "manual"}
    assert workflow.actions == [{"type": ACTION, "webinar_id": WEBINAR}]
    assert (workflow.reenrollment, workflow.enabled, workflow.created_by) == (True, False, user)


@pytest.mark.django_db
def test_create_with_filter_trigger_and_a_branching_flow(client, professional):
    login(client)
    tree = {"or": [{"and": [{"type": "property", "property": "company", "operator": "eq",
                             "value": "Acme"}]}]}  # fmt: skip
    steps = [
        {"id": "s1", "type": "branch", "filters": tree, "yes": "s2", "no": "s3"},
        {"id": "s2", "type": ACTION, "webinar_id": "84000000002", "next": None},
        {"id": "s3", "type": ACTION, "webinar_id_property": "company", "next": None},
    ]
    data = editor_post(steps, "s1", trigger_type="filters", filters=json.dumps(tree))
    response = client.post(reverse("workflows:create"), data)
    assert response.status_code == 302
    workflow = Workflow.objects.get()
    assert workflow.trigger_type == TriggerType.FILTERS
    assert workflow.filters["or"][0]["and"][0]["property"] == "company"
    assert (workflow.start, [s["id"] for s in workflow.steps]) == ("s1", ["s1", "s2", "s3"])
    assert workflow.steps[0]["yes"] == "s2" and workflow.steps[0]["no"] == "s3"
    html = client.get(reverse("workflows:detail", args=[workflow.pk])).content.decode()
    assert "Contacts who start matching" in html
    assert "Acme" in html
    descriptions = json_script(html, "wf-descriptions")
    assert descriptions["s3"] == "Add contact to the Zoom webinar in property “company”"
    assert descriptions["s1"] == "If Company name is Acme"


@pytest.mark.django_db
def test_bad_webinar_id_is_shown_on_its_step_and_the_input_is_kept(client, professional):
    login(client)
    steps = [{"id": "s1", "type": ACTION, "webinar_id": "8400-000", "next": None}]
    response = client.post(reverse("workflows:create"), editor_post(steps))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Nothing was saved" in html
    assert 'value="Register for the launch"' in html
    # The message is the step's, on its field, for the side panel; the graph is kept.
    errors = json_script(html, "wf-errors")
    assert list(errors) == ["s1"] and list(errors["s1"]) == ["webinar_id"]
    assert "without spaces or dashes" in errors["s1"]["webinar_id"][0]
    assert json_script(html, "wf-initial")["steps"][0]["webinar_id"] == "8400-000"
    assert not Workflow.objects.exists()


@pytest.mark.django_db
def test_name_and_filter_errors_go_next_to_their_fields(client, professional):
    login(client)
    make_workflow("Taken")
    tree = {"or": [{"and": [{"type": "property", "property": "company", "operator": "eq",
                             "value": "A"},
                            {"type": "property", "property": "no_such_prop", "operator": "eq",
                             "value": "x"}]}]}  # fmt: skip
    response = client.post(reverse("workflows:create"), editor_post(name="taken"))
    assert response.status_code == 400
    html = response.content.decode()
    name_field = html[html.index('<div class="field field--error">') :]
    assert name_field.index("already exists") < name_field.index("</div>")
    assert 'id="workflow-name"' in name_field[: name_field.index("</div>")]
    response = client.post(
        reverse("workflows:create"),
        editor_post(name="New", trigger_type="filters", filters=json.dumps(tree)),
    )
    assert response.status_code == 400
    html = response.content.decode()
    errors = json_script(html, "seg-errors")
    assert len(errors) == 1 and errors[0]["path"].startswith("or[0].and[1]")
    assert "no_such_prop" in html  # the tree is kept for the builder


@pytest.mark.django_db
def test_a_filter_tree_too_large_is_said_under_the_trigger(client, professional):
    login(client)
    node = {"type": "property", "property": "email", "operator": "is_known"}
    tree = {"or": [{"and": [node] * 21} for _ in range(5)]}

    response = client.post(
        reverse("workflows:create"),
        editor_post(name="Big", trigger_type="filters", filters=json.dumps(tree)),
    )

    assert response.status_code == 400
    html = response.content.decode()
    trigger = html[html.index('data-testid="trigger-card"') :]
    trigger = trigger[: trigger.index('id="seg-builder"')]
    assert "at most 100 filters are allowed in all; got 105" in trigger
    assert not Workflow.objects.exists()


@pytest.mark.django_db
def test_graph_errors_and_unreadable_graphs_are_said_above_the_flow(client, professional):
    login(client)
    steps = [{"id": "s1", "type": ACTION, "webinar_id": WEBINAR, "next": "s9"}]
    html = client.post(reverse("workflows:create"), editor_post(steps)).content.decode()
    assert json_script(html, "wf-errors") == {"s1": {"next": ["'s9' is not the id of a step"]}}
    response = client.post(reverse("workflows:create"), editor_post(graph="{not json"))
    assert response.status_code == 400
    steps_card = response.content.decode().split('data-testid="steps-card"')[1]
    assert "The steps could not be read." in steps_card
    assert not Workflow.objects.exists()


@pytest.mark.django_db
def test_edit_prefills_and_saves(client, professional):
    login(client)
    workflow = make_workflow()
    html = client.get(reverse("workflows:edit", args=[workflow.pk])).content.decode()
    assert 'value="Register"' in html
    assert json_script(html, "wf-initial") == {
        "steps": [{"id": "s1", "type": ACTION, "webinar_id": WEBINAR, "next": None}],
        "start": "s1",
    }
    steps = [{"id": "s1", "type": ACTION, "webinar_id": "84000000003", "next": None}]
    response = client.post(
        reverse("workflows:edit", args=[workflow.pk]), editor_post(steps, name="Renamed")
    )
    assert response.status_code == 302
    workflow.refresh_from_db()
    assert workflow.name == "Renamed"
    assert workflow.actions == [{"type": ACTION, "webinar_id": "84000000003"}]
    assert workflow.version == 1  # nobody enrolled: the version changes in place


@pytest.mark.django_db
def test_webinar_picker_lists_the_primary_brands_webinars_upcoming_first(client, professional):
    login(client)
    html = client.get(reverse("workflows:create")).content.decode()
    assert "There is no primary brand yet" in html
    acme = Brand.objects.create(name="Acme", is_primary=True)
    beta = Brand.objects.create(name="Beta")
    html = client.get(reverse("workflows:create")).content.decode()
    assert "The primary brand (Acme) has no working Zoom connection" in html
    assert reverse("crm:settings_integrations") in html
    now = timezone.now()
    mine = ZoomConnection.objects.create(brand=acme, kind="s2s", status="connected",
                                         client_id="c", client_secret="s")  # fmt: skip
    other = ZoomConnection.objects.create(brand=beta, kind="s2s", status="connected",
                                          client_id="d", client_secret="s")  # fmt: skip
    for connection, wid, topic, days in [
        (mine, 84000000011, "Past one", -3),
        (mine, 84000000012, "Later one", 9),
        (mine, 84000000013, "Soon one", 2),
        (other, 85000000001, "Beta's", 1),
    ]:
        ZoomWebinar.objects.create(connection=connection, zoom_webinar_id=wid, topic=topic,
                                   start_time=now + dt.timedelta(days=days),
                                   end_time=now + dt.timedelta(days=days, hours=1))  # fmt: skip
    html = client.get(reverse("workflows:create")).content.decode()
    assert "has no working Zoom connection" not in html
    assert "Beta's" not in html
    webinars = json_script(html, "wf-catalogue")["webinars"]
    assert [(w["topic"], w["id"], w["upcoming"]) for w in webinars] == [
        ("Soon one", "84000000013", True),
        ("Later one", "84000000012", True),
        ("Past one", "84000000011", False),
    ]


# ---- on/off and enrollment ----------------------------------------------------------------


@pytest.mark.django_db
def test_toggle_on_and_off(client, professional):
    login(client)
    workflow = make_workflow(enabled=False)
    url = reverse("workflows:toggle", args=[workflow.pk])
    response = client.post(url, {"enabled": "1"}, follow=True)
    assert "The workflow is on." in response.content.decode()
    workflow.refresh_from_db()
    assert workflow.enabled
    client.post(url, {"enabled": "0"})
    workflow.refresh_from_db()
    assert not workflow.enabled
    empty = create_workflow(name="Empty")
    html = client.post(
        reverse("workflows:toggle", args=[empty.pk]), {"enabled": "1"}, follow=True
    ).content.decode()
    assert "Add at least one step" in html


@pytest.mark.django_db
def test_turning_a_filter_workflow_on_offers_enroll_existing(
    client, professional, django_capture_on_commit_callbacks
):
    login(client)
    ContactFactory(company="Acme")
    tree = {"or": [{"and": [{"type": "property", "property": "company", "operator": "eq",
                             "value": "Acme"}]}]}  # fmt: skip
    workflow = make_workflow(enabled=False, trigger_type=TriggerType.FILTERS, filters=tree)
    html = client.get(reverse("workflows:detail", args=[workflow.pk])).content.decode()
    assert "Also enroll contacts who already match" in html
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("workflows:toggle", args=[workflow.pk]),
            {"enabled": "1", "enroll_existing": "1"},
        )
    assert Enrollment.objects.filter(workflow=workflow, source="trigger").count() == 1


@pytest.mark.django_db
def test_enroll_from_the_workflow_page(client, professional):
    user = login(client)
    ana = ContactFactory(email="ana@client.example")
    bo = ContactFactory()
    workflow = make_workflow()
    url = reverse("workflows:enroll", args=[workflow.pk])
    response = client.post(url, {"contacts": f"ANA@client.example, {bo.pk}"}, follow=True)
    assert "2 contacts enrolled." in response.content.decode()
    assert set(Enrollment.objects.values_list("contact_id", "enrolled_by")) == {
        (ana.pk, user.pk), (bo.pk, user.pk)
    }  # fmt: skip
    html = client.post(url, {"contacts": str(bo.pk)}, follow=True).content.decode()
    assert "0 contacts enrolled. 1 skipped (already enrolled (re-enrollment is off))." in html
    html = client.post(
        url, {"contacts": "nobody@x.example, 999999999"}, follow=True
    ).content.decode()
    assert "No live contact with the e-mail or id nobody@x.example, 999999999" in html
    assert Enrollment.objects.count() == 2
    workflow.enabled = False
    workflow.save()
    html = client.post(url, {"contacts": str(ana.pk)}, follow=True).content.decode()
    assert "The workflow is off: turn it on to enroll contacts" in html


@pytest.mark.django_db
def test_enroll_from_a_contact_page(client, professional):
    login(client)
    contact = ContactFactory()
    on = make_workflow("On one")
    make_workflow("Off one", enabled=False)
    page = reverse("crm:contact_detail", args=[contact.pk])
    html = client.get(page).content.decode()
    assert "Enroll in workflow" in html
    assert "On one" in html and "Off one" not in html
    response = client.post(
        reverse("workflows:enroll_contact", args=[contact.pk]), {"workflow": on.pk}
    )
    assert response.status_code == 302 and response.url == page
    assert Enrollment.objects.filter(workflow=on, contact=contact).exists()
    html = client.get(page).content.decode()
    assert "1 contact enrolled." in html
    # Viewers see no form.
    client.force_login(UserFactory(role=Role.VIEWER))
    assert "Enroll in workflow" not in client.get(page).content.decode()


@pytest.mark.django_db
def test_contact_page_without_workflows_on_says_what_to_do(client, professional):
    login(client)
    contact = ContactFactory()
    html = client.get(reverse("crm:contact_detail", args=[contact.pk])).content.decode()
    assert "No workflow is on." in html


@pytest.mark.django_db
def test_enroll_a_segment(client, professional):
    login(client)
    members = [ContactFactory() for _ in range(3)]
    segment = Segment.objects.create(name="Hand", kind=SegmentKind.STATIC)
    for contact in members:
        SegmentMember.objects.create(segment=segment, contact=contact)
    workflow = make_workflow()
    page = reverse("segments:detail", args=[segment.pk])
    assert "Enroll these contacts in a workflow" in client.get(page).content.decode()
    response = client.post(
        reverse("workflows:enroll_segment", args=[segment.pk]), {"workflow": workflow.pk},
        follow=True,
    )  # fmt: skip
    assert response.redirect_chain[-1][0] == page
    assert "3 contacts enrolled." in response.content.decode()
    assert set(Enrollment.objects.values_list("contact_id", flat=True)) == {c.pk for c in members}
    off = make_workflow("Off", enabled=False)
    html = client.post(
        reverse("workflows:enroll_segment", args=[segment.pk]), {"workflow": off.pk}, follow=True
    ).content.decode()
    assert "The workflow is off" in html


# ---- execution log ------------------------------------------------------------------------


@pytest.mark.django_db
def test_log_rows_details_and_filters(client, professional):
    login(client)
    workflow = make_workflow()
    ana = ContactFactory(email="ana@client.example")
    bo = ContactFactory(email="bo@client.example")
    old = timezone.now() - dt.timedelta(days=10)
    log_row(workflow, ana, "succeeded", message="Registered to “Launch”",
            output={"registrant_id": "r-1", "join_url": "https://zoom.example/j/1"})  # fmt: skip
    log_row(workflow, bo, "failed", when=old,
            message="Webinar host cannot register to the webinar")  # fmt: skip
    url = reverse("workflows:detail", args=[workflow.pk])
    html = client.get(url).content.decode().split('data-testid="execution-log"')[1]
    assert html.index("ana@client.example") < html.index("bo@client.example")  # newest first
    assert '<a href="https://zoom.example/j/1"' in html
    assert "r-1" in html and "Attempts" in html and "#1" in html
    assert reverse("crm:contact_detail", args=[ana.pk]) in html

    def rows(**params):
        html = client.get(url, params, HTTP_HX_REQUEST="true").content.decode()
        assert "<html" not in html  # the HTMX answer is the log alone
        return html.count('data-testid="log-row"'), html

    assert rows()[0] == 2
    assert rows(status="failed")[0] == 1
    assert rows(contact="BO@client.example")[0] == 1
    assert rows(contact=str(ana.pk))[0] == 1
    count, html = rows(contact="ghost@x.example")
    assert count == 0 and "No contact with the e-mail or id" in html
    today = timezone.now().date()
    assert rows(since=str(today))[0] == 1
    assert rows(until=str(today - dt.timedelta(days=5)))[0] == 1
    count, html = rows(since="yesterday-ish")
    assert "Enter a date" in html
    assert rows(action=ACTION)[0] == 2


@pytest.mark.django_db
def test_log_polls_only_while_runs_are_pending(client, professional):
    login(client)
    workflow = make_workflow()
    contact = ContactFactory()
    url = reverse("workflows:detail", args=[workflow.pk])
    execution = log_row(workflow, contact, ExecutionStatus.QUEUED)
    assert 'hx-trigger="every 3s"' in client.get(url).content.decode()
    execution.status = ExecutionStatus.SUCCEEDED
    execution.save()
    assert 'hx-trigger="every 3s"' not in client.get(url).content.decode()


@pytest.mark.django_db
def test_log_page_queries_are_bounded(client, professional, django_assert_max_num_queries):
    login(client)
    workflow = make_workflow()
    contacts = [ContactFactory() for _ in range(60)]
    for contact in contacts:
        log_row(workflow, contact, "succeeded", output={"join_url": "https://z.example/j"})
    url = reverse("workflows:detail", args=[workflow.pk])
    with django_assert_max_num_queries(14):
        html = client.get(url).content.decode()
    assert html.count('data-testid="log-row"') == 50
    with django_assert_max_num_queries(14):
        html = client.get(url, {"page": 2}).content.decode()
    assert html.count('data-testid="log-row"') == 10
    with django_assert_max_num_queries(10):
        client.get(reverse("workflows:list"))
