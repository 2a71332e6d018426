"""Members pages read by a walk in id order within a time budget, then by the planner's plan
(`segments.compiler.walked_rows`, issue 21: pages under 20 ms at any depth)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL

from crm.models import Contact
from segments.compiler import live_contacts, walked_rows
from segments.selectors import members_page

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(db):
    Contact.objects.bulk_create(
        [
            Contact(email=f"p{i}@bank.example", company="Bank" if i % 3 else "Shop")
            for i in range(40)
        ]
    )
    gone = Contact.objects.create(email="gone@bank.example", company="Bank")
    Contact.objects.filter(pk=gone.pk).update(archived_at="2026-01-01T00:00:00Z")
    return live_contacts().filter(company="Bank")


def _settings() -> tuple[str, str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('enable_bitmapscan'), current_setting('jit'), "
            "current_setting('statement_timeout')"
        )
        return cursor.fetchone()


def test_a_walked_page_is_the_planners_page(people, settings):
    expected = [c.pk for c in people.order_by("pk")]
    settings.SEGMENT_PAGE_WALK_MS = 0
    assert walked_rows(people.order_by("pk")) is None  # off
    planned = members_page(people, after=None, limit=10)
    settings.SEGMENT_PAGE_WALK_MS = 5000
    walked = members_page(people, after=None, limit=10)
    assert [c.pk for c in walked[0]] == [c.pk for c in planned[0]] == expected[:10]
    assert walked[1] == planned[1] == expected[9]
    deep = members_page(people, after=expected[20], limit=50)
    assert [c.pk for c in deep[0]] == expected[21:] and deep[1] is None
    if connection.vendor != "postgresql":
        assert walked_rows(people.order_by("pk")) is None  # the planner's plan alone


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL statement timeout")
def test_a_walk_out_of_time_gives_way_to_the_planners_plan(people, settings):
    # A walk that cannot finish within its budget (each contact takes 5 ms to test here) is
    # cancelled and rolled back, its settings with it; the page is then read as planned.
    settings.SEGMENT_PAGE_WALK_MS = 20
    slow = people.filter(
        RawSQL(
            'CAST(pg_sleep(0.005 + 0 * "crm_contact"."id") AS text) IS NOT NULL',
            (),
            output_field=BooleanField(),
        )
    )
    before = _settings()
    with transaction.atomic():
        assert walked_rows(slow.order_by("pk")) is None
        assert _settings() == before
        rows, after = members_page(slow, after=None, limit=5)  # falls back, whole
        assert [c.pk for c in rows] == [c.pk for c in people.order_by("pk")[:5]]
        assert Contact.objects.count() == 41  # the transaction goes on


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL settings")
def test_a_walk_sets_its_settings_back(people, settings):
    # Within a caller's transaction the walk's SET LOCALs would outlive it: set back.
    settings.SEGMENT_PAGE_WALK_MS = 5000
    before = _settings()
    with transaction.atomic():
        assert len(walked_rows(people.order_by("pk"))) == people.count()
        assert _settings() == before
    assert len(walked_rows(people.order_by("pk"))) == people.count()
    assert _settings() == before


@pytest.mark.parametrize(
    "node",
    [
        {"type": "event_attended", "event_id": None},
        {"type": "property", "property": "email", "operator": "ends_with", "value": "@x.example"},
    ],
)
def test_the_walks_form_tests_every_set_contact_by_contact(node):
    # issue 21: a members page's walk reads a form where every set is a sub-plan run per
    # contact (OFFSET 0 keeps PostgreSQL from joining it whole); the planner's form, read when
    # the walk runs out of time, leaves it to the planner. The same members either way.
    from crm.contact_filters import FilterContext
    from marketing_events.models import MarketingEvent, Participation
    from segments.compiler import matching_contacts
    from segments.tree import clean_tree

    people = [Contact.objects.create(email=f"m{i}@x.example") for i in range(6)]
    event = MarketingEvent.objects.create(
        source="api", external_account_id="a", external_event_id="e", name="E"
    )
    for person in people[::2]:
        Participation.objects.create(contact=person, event=event, state="ATTENDED")
    ctx = FilterContext.build()
    from marketing_events.activity import activity_rebuild

    activity_rebuild()
    # "attended any" without its rollup (a set no rollup answers) and as the rollup
    for rollups in (False, True):
        ctx = FilterContext.build(rollups=rollups)
        tree = clean_tree({"or": [{"and": [node]}]}, ctx)
        walk = matching_contacts(tree, ctx, walk=True)
        planned = matching_contacts(tree, ctx, per_contact=True)
        assert list(walk.order_by("pk")) == list(planned.order_by("pk"))
        is_set = node["type"] == "event_attended"
        if connection.vendor == "postgresql":
            assert ("OFFSET 0" in str(walk.query)) is is_set
            keyed = is_set and rollups
            assert ("OFFSET 0" in str(planned.query)) is keyed
        rows, _after = members_page(planned, after=None, limit=2, walk=walk)
        assert rows == list(planned.order_by("pk")[:2])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL statement timeout")
@pytest.mark.django_db(transaction=True)
def test_a_walk_out_of_time_outside_a_transaction(settings):
    # As a view runs it (autocommit): the walk's own transaction is rolled back whole, and the
    # connection goes on with the server's settings.
    Contact.objects.bulk_create([Contact(email=f"t{i}@bank.example") for i in range(10)])
    settings.SEGMENT_PAGE_WALK_MS = 20
    slow = live_contacts().filter(
        RawSQL(
            'CAST(pg_sleep(0.005 + 0 * "crm_contact"."id") AS text) IS NOT NULL',
            (),
            output_field=BooleanField(),
        )
    )
    before = _settings()
    assert not connection.in_atomic_block
    assert walked_rows(slow.order_by("pk")) is None
    assert _settings() == before
    rows, _after = members_page(slow, after=None, limit=3)
    assert len(rows) == 3


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL statement timeout")
def test_a_page_gives_each_way_a_growing_budget(people, settings, monkeypatch):
    # issue 21: the walk (short), the planner's plan (short), the walk again (long), then the
    # planner's plan to its end; the first that ends gives the page. A walk slow only on its
    # first try (pages read from disk) ends on the long try; a planner's plan that is quick
    # ends before any long walk.
    from segments import compiler

    calls = []
    real = compiler._rows_within

    def watching(queryset, budget_ms, *, walk):
        calls.append(("walk" if walk else "plan", budget_ms))
        return real(queryset, budget_ms, walk=walk)

    monkeypatch.setattr(compiler, "_rows_within", watching)
    settings.SEGMENT_PAGE_WALK_MS, settings.SEGMENT_PAGE_PLAN_MS = 20, 30
    settings.SEGMENT_PAGE_LONG_WALK_MS = 5000
    expected = [c.pk for c in people.order_by("pk")[:5]]
    sleepy = people.filter(
        RawSQL(
            'CAST(pg_sleep(0.005 + 0 * "crm_contact"."id") AS text) IS NOT NULL',
            (),
            output_field=BooleanField(),
        )
    )
    # Slow both ways within the short budgets: the long walk ends it.
    rows, _after = members_page(sleepy, after=None, limit=5)
    assert [c.pk for c in rows] == expected
    assert calls == [("walk", 20), ("plan", 30), ("walk", 5000)]
    # A walk that cannot end, a plan that is quick: the plan's short try gives the page.
    calls.clear()
    rows, _after = members_page(people, after=None, limit=5, walk=sleepy)
    assert [c.pk for c in rows] == expected
    assert calls == [("walk", 20), ("plan", 30)]
    # Every step off: the planner's plan alone.
    calls.clear()
    settings.SEGMENT_PAGE_WALK_MS = settings.SEGMENT_PAGE_PLAN_MS = 0
    settings.SEGMENT_PAGE_LONG_WALK_MS = 0
    rows, _after = members_page(sleepy, after=None, limit=5)
    assert [c.pk for c in rows] == expected
    assert calls == [("walk", 0), ("plan", 0), ("walk", 0)]
