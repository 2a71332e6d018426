"""`/api/v1/workflows/`: the bounds of a filter trigger (the Filter JSON's, as segments')."""

import pytest

from crm.models import Account, Tier
from workflows.models import Workflow

URL = "/api/v1/workflows/"
ACTIONS = [{"type": "zoom.add_contact_to_webinar", "webinar_id": "84000000001"}]
KNOWN = {"type": "property", "property": "email", "operator": "is_known"}


@pytest.fixture
def professional(db):
    Account.objects.update_or_create(pk=1, defaults={"tier": Tier.PROFESSIONAL})


@pytest.mark.parametrize(
    ("filters", "path", "message"),
    [
        (
            {"or": [{"and": [KNOWN] * 25} for _ in range(5)]},
            "trigger.filters.or",
            "at most 100 filters are allowed in all; got 125",
        ),
        (
            {"or": [{"and": [{**KNOWN, "operator": "in", "value": ["a"] * 501}]}]},
            "trigger.filters.or[0].and[0].value",
            "at most 500 values",
        ),
        (
            {"or": [{"and": [{**KNOWN, "operator": "contains", "value": "a" * 1001}]}]},
            "trigger.filters.or[0].and[0].value",
            "at most 1000 characters",
        ),
    ],
)
def test_a_filter_trigger_beyond_its_bounds_is_a_400_naming_the_node(
    professional, marketer_api, filters, path, message
):
    response = marketer_api.post(
        URL,
        {"name": "Big", "trigger": {"type": "filters", "filters": filters}, "actions": ACTIONS},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == path
    assert message in response.json()["errors"][0]["message"]
    assert not Workflow.objects.exists()
