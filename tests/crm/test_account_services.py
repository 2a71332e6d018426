"""Account and brand services (rule A1): deleting a brand that still holds data."""

import pytest

from crm.errors import Conflict
from crm.models import Brand
from crm.services import accounts

pytestmark = pytest.mark.django_db


def test_data_attached_while_a_brand_is_deleted_is_a_conflict_not_an_error(monkeypatch):
    from marketing_events.models import MarketingEvent

    Brand.objects.create(name="Acme", is_primary=True)
    brand = Brand.objects.create(name="Labs")
    MarketingEvent.objects.create(
        brand=brand, external_account_id="a", external_event_id="1", name="E"
    )
    counted = []
    real = accounts.brand_holders

    def first_sees_nothing(brand):
        # The first count ran before the event was attached: the delete then meets it.
        counted.append(brand.pk)
        return [] if len(counted) == 1 else real(brand)

    monkeypatch.setattr(accounts, "brand_holders", first_sees_nothing)

    with pytest.raises(Conflict, match="it still has 1 marketing event"):
        accounts.brand_delete(brand=brand)

    assert Brand.objects.filter(pk=brand.pk).exists()
    assert MarketingEvent.objects.filter(brand=brand).count() == 1


def test_brand_holders_counts_each_protecting_relation_once_per_query(
    django_assert_num_queries,
):
    from marketing_events.models import MarketingEvent

    brand = Brand.objects.create(name="Labs")
    for i in range(5):
        MarketingEvent.objects.create(
            brand=brand, external_account_id="a", external_event_id=str(i), name="E"
        )

    with django_assert_num_queries(2):  # marketing events, Zoom connection
        assert accounts.brand_holders(brand) == ["5 marketing events"]
