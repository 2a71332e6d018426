"""A client generated from our OpenAPI schema by `openapi-python-client` works against the running
server (DESIGN "Interfaces other programs rely on": the schema is the truth). Every response is
read through the generated models (`parsed`), never as raw JSON: a response the schema documents
wrongly (a paged list, a status code, a field's type) makes the generated client fail here.

The client is generated once per session into a temporary directory and never committed."""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
from types import ModuleType
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.management import call_command
from django.utils import timezone

from crm.models import Account, Brand, Contact, Tier
from crm.services.tokens import api_token_create
from tests.factories import ContactFactory
from tests.zoom_integration.scenario import ACME, S2S
from zoom_integration.models import SyncRun, SyncStatus

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PACKAGE = "crm_generated_client"
# The schema declares path enums that differ only in case (e.g. HubSpot's `subscriber_state`
# takes `ATTEND` and `attend`); Python enum members could not tell them apart, literal enums can.
# No post hooks: the generated code is read by Python only, so it needs no ruff formatting.
GENERATOR_CONFIG = "literal_enums: true\npost_hooks: []\n"


def _imported(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


@pytest.fixture(scope="session")
def generated(tmp_path_factory, django_db_blocker) -> ModuleType:
    """The generated client package, importable as `crm_generated_client` for the session."""
    if importlib.util.find_spec("openapi_python_client") is None:
        pytest.skip(
            "openapi-python-client is not installed: pip install -e '.[dev]' "
            "(pyproject's dev dependencies)"
        )
    root = tmp_path_factory.mktemp("generated_client")
    schema = root / "schema.yaml"
    with django_db_blocker.unblock():
        call_command("spectacular", "--file", str(schema))
    config = root / "config.yaml"
    config.write_text(GENERATOR_CONFIG)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(schema),
            "--output-path",
            str(root / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = f"{result.stdout}\n{result.stderr}".strip()
    # The generator skips what it cannot understand with a warning and still succeeds: a skipped
    # endpoint or model is a schema bug as much as a crash is.
    if result.returncode != 0 or "Warning" in output:
        # A crash prints a long traceback whose end names the fault.
        message = f"openapi-python-client could not use the schema:\n{output[-3000:]}"
        pytest.fail(message, pytrace=False)
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


@pytest.fixture
def client(generated, live_server, admin_user):
    _token, clear = api_token_create(user=admin_user, name="generated client")
    # Undocumented status codes raise instead of quietly parsing to None.
    with generated.AuthenticatedClient(
        base_url=live_server.url, token=clear, raise_on_unexpected_status=True, timeout=60
    ) as client:
        yield client


def test_lists_contacts_page_by_page(generated, client):
    get_page = _imported("api.hub_spot_compatible_contacts_v_3.contacts_get_page")
    ContactPageOutput = _imported("models").ContactPageOutput
    ContactFactory.create_batch(5)
    archived = ContactFactory()
    Contact.objects.filter(pk=archived.pk).update(archived_at=timezone.now())

    seen, after, pages = [], generated.types.UNSET, 0
    while True:
        response = get_page.sync_detailed(client=client, limit=2, after=after)
        assert response.status_code == 200
        page = response.parsed
        assert isinstance(page, ContactPageOutput)
        seen += [(contact.id, contact.properties["email"]) for contact in page.results]
        pages += 1
        if isinstance(page.paging, generated.types.Unset):  # the last page has no `paging`
            break
        after = page.paging.next_.after

    expected = list(
        Contact.objects.filter(archived_at=None).order_by("pk").values_list("pk", "email")
    )
    assert sorted((int(pk), email) for pk, email in seen) == expected
    assert len(expected) == 5 and pages == 3


def test_segment_is_created_counted_and_listed(generated, client):
    create = _imported("api.api.api_v1_segments_create")
    count = _imported("api.api.api_v1_segments_count_retrieve")
    list_members = _imported("api.api.api_v1_segments_members_list")
    models = _imported("models")
    ContactFactory.create_batch(3, company="Initech")
    ContactFactory.create_batch(2, company="Globex")
    initech = {"type": "property", "property": "company", "operator": "eq", "value": "Initech"}
    tree = {"or": [{"and": [initech]}]}

    created = create.sync_detailed(
        client=client,
        body=models.SegmentInputRequest(
            name="Initech people", filters=models.FilterTreeRequest.from_dict(tree)
        ),
    )
    assert created.status_code == 201
    segment = created.parsed
    assert isinstance(segment, models.SegmentOutput)
    assert (segment.name, segment.kind) == ("Initech people", "active")
    # The filter tree is typed: each filter is parsed into the model of its type.
    assert isinstance(segment.filters, models.FilterTree)
    assert segment.filters.to_dict() == tree
    ((node,),) = [group.and_ for group in segment.filters.or_]
    assert isinstance(node, models.PropertyFilter)
    assert (node.property_, node.operator, node.value) == ("company", "eq", "Initech")

    counted = count.sync_detailed(segment.id, client=client)
    assert counted.status_code == 200
    assert isinstance(counted.parsed, models.CountOutput)
    assert counted.parsed.count == 3 == Contact.objects.filter(company="Initech").count()

    # The members, a page of two at a time, following each page's `next` link.
    members, after = [], generated.types.UNSET
    while True:
        page = list_members.sync_detailed(segment.id, client=client, limit=2, after=after).parsed
        assert isinstance(page, models.PaginatedMemberList)
        members += [(member.id, member.email) for member in page.results]
        if page.next_ is None:
            break
        after = int(parse_qs(urlparse(page.next_).query)["after"][0])
    assert members == list(
        Contact.objects.filter(company="Initech").order_by("pk").values_list("pk", "email")
    )


def test_zoom_sync_is_started_and_its_run_read(client, zoom_sandbox):
    connect = _imported("api.api.api_v1_zoom_connections_create")
    set_settings = _imported("api.api.api_v1_zoom_connections_settings_partial_update")
    start_sync = _imported("api.api.api_v1_zoom_connections_sync_create")
    read_run = _imported("api.api.api_v1_zoom_sync_runs_retrieve")
    list_runs = _imported("api.api.api_v1_zoom_connections_sync_runs_list")
    models = _imported("models")
    brand = Brand.objects.create(name="Acme", is_primary=True)

    connected = connect.sync_detailed(
        client=client,
        body=models.S2SConnectionInputRequest(
            brand=brand.pk,
            kind="s2s",
            account_id=ACME,
            client_id=S2S["client_id"],
            client_secret=S2S["client_secret"],
            webhook_secret_token="acme-whsec",
        ),
    )
    assert connected.status_code == 201
    connection = connected.parsed
    assert isinstance(connection, models.ConnectionOutput)
    assert (connection.status, connection.kind, connection.zoom_account_id) == (
        "connected",
        "s2s",
        ACME,
    )
    assert connection.connected_user.email == "owner@acme.test"

    settings_saved = set_settings.sync_detailed(
        connection.id, client=client, body=models.SettingsInputRequest(sync_webinar_data=True)
    )
    assert settings_saved.status_code == 200
    assert isinstance(settings_saved.parsed, models.SettingsOutput)
    assert settings_saved.parsed.sync_webinar_data is True

    started = start_sync.sync_detailed(connection.id, client=client)
    assert started.status_code == 202
    run = started.parsed
    assert isinstance(run, models.SyncRequestedOutput)
    assert run.status in SyncStatus.values
    assert SyncRun.objects.get(pk=run.id).connection_id == connection.id

    # Tasks run inline, at the commit of the request that queued them: the run is over.
    read = read_run.sync_detailed(run.id, client=client)
    assert read.status_code == 200
    finished = read.parsed
    assert isinstance(finished, models.SyncRunOutput)
    stored = SyncRun.objects.get(pk=run.id)
    assert (finished.id, finished.connection, finished.trigger) == (run.id, connection.id, "api")
    assert finished.status == stored.status == SyncStatus.SUCCEEDED, finished.errors
    assert finished.finished_at is not None and finished.finished_at == stored.finished_at
    assert finished.counts.additional_properties == stored.counts
    assert finished.counts["webinars"] > 0
    assert isinstance(finished.progress, models.SyncProgressOutput)
    progress = (finished.progress.done, finished.progress.total)
    assert progress == (stored.progress_done, stored.progress_total)
    assert finished.progress.done == finished.progress.total > 0
    # Skips by reason (rule Z9), each reason a typed field.
    assert isinstance(finished.skips, models.SyncRunOutputSkips)
    assert finished.skips.to_dict() == stored.skips

    # The connection's runs: this one only.
    runs = list_runs.sync_detailed(connection.id, client=client).parsed
    assert isinstance(runs, models.PaginatedSyncRunList)
    assert runs.next_ is None
    assert [(r.id, r.status, r.trigger) for r in runs.results] == [(run.id, "succeeded", "api")]


def test_workflow_with_a_filter_trigger_is_created_and_read(generated, client):
    create = _imported("api.api.api_v1_workflows_create")
    read = _imported("api.api.api_v1_workflows_retrieve")
    models = _imported("models")
    Account.objects.update_or_create(pk=1, defaults={"tier": Tier.PROFESSIONAL})
    attended = {"type": "event_attended", "event_id": None, "negate": False}
    body = models.WorkflowInputRequest(
        name="Register attendees",
        trigger=models.FiltersTriggerRequest(
            type_="filters",
            filters=models.NonEmptyFilterTreeRequest.from_dict({"or": [{"and": [attended]}]}),
        ),
        actions=[
            models.ZoomAddContactToWebinarActionRequest(
                type_="zoom.add_contact_to_webinar", webinar_id=84000000001
            )
        ],
    )

    created = create.sync_detailed(client=client, body=body)
    assert created.status_code == 201
    workflow = read.sync_detailed(created.parsed.id, client=client).parsed
    assert isinstance(workflow, models.WorkflowOutput)
    assert isinstance(workflow.trigger, models.FiltersTrigger)
    ((node,),) = [group.and_ for group in workflow.trigger.filters.or_]
    assert isinstance(node, models.EventAttendedFilter)
    assert (node.event_id, node.negate) == (None, False)
    (action,) = workflow.actions
    assert isinstance(action, models.ZoomAddContactToWebinarAction)
    # The id given as a number is stored and sent back as Zoom's digits (rule W2).
    assert (action.type_, action.webinar_id) == ("zoom.add_contact_to_webinar", "84000000001")
