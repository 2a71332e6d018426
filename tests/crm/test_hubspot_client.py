"""The official `hubspot-api-client` package, pointed at our server, works unchanged
(DESIGN "Interfaces other programs rely on")."""

import json

import hubspot
import pytest
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInputUpsert,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.contacts.exceptions import ApiException, NotFoundException
from hubspot.crm.properties import PropertyCreate

from crm.models import Contact, Tombstone
from crm.services.tokens import api_token_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sdk(live_server, marketer):
    _token, clear = api_token_create(user=marketer, name="sdk")
    return hubspot.Client.create(access_token=clear, host=live_server.url)


def test_sdk_creates_reads_updates_searches_and_archives(sdk):
    contacts = sdk.crm.contacts
    created = contacts.basic_api.create(
        SimplePublicObjectInputForCreate(
            properties={"email": "Ana@Example.com", "firstname": "Ana"}, associations=[]
        )
    )
    assert created.properties["email"] == "ana@example.com"
    assert created.archived is False

    by_id = contacts.basic_api.get_by_id(created.id, properties=["email", "firstname"])
    by_email = contacts.basic_api.get_by_id(" ANA@example.com", id_property="email")
    assert by_id.properties["firstname"] == "Ana"
    assert by_email.id == created.id

    updated = contacts.basic_api.update(
        created.id, SimplePublicObjectInput(properties={"lastname": "Silva", "firstname": ""})
    )
    assert (updated.properties["lastname"], updated.properties["firstname"]) == ("Silva", None)

    # rule B5: found at once.
    page = contacts.search_api.do_search(
        PublicObjectSearchRequest(
            filter_groups=[
                {
                    "filters": [
                        {"propertyName": "email", "operator": "EQ", "value": "ana@example.com"}
                    ]
                }
            ],
            properties=["email", "lastname"],
            limit=10,
            after="0",
            sorts=["-createdate"],
        )
    )
    assert page.total == 1
    assert page.results[0].properties["lastname"] == "Silva"
    assert page.paging is None

    contacts.basic_api.archive(created.id)
    assert Contact.objects.get().archived_at is not None
    assert Tombstone.objects.filter(email="ana@example.com").exists()
    with pytest.raises(NotFoundException):
        contacts.basic_api.get_by_id(created.id)
    archived = contacts.basic_api.get_by_id(created.id, archived=True)
    assert archived.archived is True and archived.archived_at is not None


def test_sdk_duplicate_create_raises_409_with_hubspots_error_body(sdk):
    first = sdk.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(properties={"email": "ana@example.com"})
    )

    with pytest.raises(ApiException) as caught:
        sdk.crm.contacts.basic_api.create(
            SimplePublicObjectInputForCreate(properties={"email": " ANA@example.com"})
        )

    assert caught.value.status == 409
    body = json.loads(caught.value.body)
    assert set(body) == {"status", "message", "correlationId", "category"}
    assert body["category"] == "CONFLICT"
    assert body["message"] == f"Contact already exists. Existing ID: {first.id}"
    # What integrators do with it: parse the id and update instead.
    existing_id = body["message"].rsplit(": ", 1)[1]
    sdk.crm.contacts.basic_api.update(
        existing_id, SimplePublicObjectInput(properties={"firstname": "Ana"})
    )
    assert Contact.objects.get().first_name == "Ana"


def test_sdk_pages_through_all_contacts_and_upserts(sdk):
    Contact.objects.bulk_create([Contact(email=f"p{i}@example.com") for i in range(120)])

    everyone = sdk.crm.contacts.get_all()  # pages of 100 with `after`
    result = sdk.crm.contacts.batch_api.upsert(
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                SimplePublicObjectBatchInputUpsert(
                    id="p1@example.com", id_property="email", properties={"company": "Acme"}
                ),
                SimplePublicObjectBatchInputUpsert(
                    id="new@example.com", id_property="email", properties={"company": "Newco"}
                ),
            ]
        )
    )

    assert len(everyone) == 120
    assert sorted((r.properties["email"], r.new) for r in result.results) == [
        ("new@example.com", True),
        ("p1@example.com", False),
    ]


def test_sdk_creates_and_reads_a_custom_property(sdk):
    created = sdk.crm.properties.core_api.create(
        "contacts",
        PropertyCreate(
            name="webinar_score",
            label="Webinar score",
            type="number",
            field_type="number",
            group_name="zoom",
        ),
    )

    everything = sdk.crm.properties.core_api.get_all("contacts")

    assert created.name == "webinar_score"
    assert "webinar_score" in [p.name for p in everything.results]
