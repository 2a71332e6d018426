"""`crm.bulk_properties.contacts_write_properties` (rule E2): both policies on standard
columns and custom properties, the same results on PostgreSQL and elsewhere, and writes that
change nothing leave the contacts alone (no UPDATE, no lock: the sync's workers would wait on
it for people they have in common)."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.bulk_properties import ContactPropertyWrite, contacts_write_properties
from crm.models import Contact

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 12, 6, 10, 0, tzinfo=dt.UTC)


def W(contact, name, value, *, column=None, overwrite=False):
    return ContactPropertyWrite(contact.pk, name, column, value, overwrite)


@pytest.fixture
def people():
    ana = Contact.objects.create(email="ana@example.com", company="", properties={"size": ""})
    bob = Contact.objects.create(
        email="bob@example.com", company="Bob Co", properties={"size": "5"}
    )
    return ana, bob


def test_fill_empty_and_overwrite(people):  # rule E2
    ana, bob = people
    changed = contacts_write_properties(
        [
            W(ana, "company", "Acme", column="company"),
            W(ana, "size", "50"),
            W(ana, "industry", "Banking", overwrite=True),
            W(bob, "company", "Other", column="company"),  # not empty: kept
            W(bob, "size", "10", overwrite=True),
        ],
        NOW,
    )
    assert changed == {ana.pk, bob.pk}
    ana.refresh_from_db()
    bob.refresh_from_db()
    assert (ana.company, ana.properties) == ("Acme", {"size": "50", "industry": "Banking"})
    assert (bob.company, bob.properties) == ("Bob Co", {"size": "10"})


def test_writes_that_change_nothing_write_nothing(people):
    ana, bob = people
    writes = [
        W(ana, "company", "Acme", column="company"),
        W(ana, "size", "50", overwrite=True),
        W(bob, "company", "Other", column="company"),
        W(bob, "size", "7"),
    ]
    contacts_write_properties(writes, NOW)
    before = list(Contact.objects.order_by("pk").values_list("updated_at", "properties"))
    with CaptureQueriesContext(connection) as queries:
        changed = contacts_write_properties(writes, NOW + dt.timedelta(hours=1))
    assert changed == set()
    assert list(Contact.objects.order_by("pk").values_list("updated_at", "properties")) == before
    if connection.vendor == "postgresql":
        sql = [q["sql"].upper() for q in queries.captured_queries]
        assert len(sql) == 1 and "FOR " not in sql[0] and "UPDATE" not in sql[0], sql
    # One changed value among unchanged ones: only its contact is written.
    writes[1] = W(ana, "size", "60", overwrite=True)
    assert contacts_write_properties(writes, NOW + dt.timedelta(hours=2)) == {ana.pk}
    bob.refresh_from_db()
    assert bob.updated_at == before[1][0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner settings")
def test_the_update_probes_contacts_by_key_and_sets_the_planner_back(people, monkeypatch):
    # The UPDATE runs with sequential scans, hash or merge joins and JIT off (a prepared
    # statement keeps a plan made while the table was tiny: it would read every contact for
    # every page; a per-contact probe's estimated cost would make it compile), and the
    # caller's transaction gets its settings back.
    from django.db import transaction

    from crm import bulk_properties

    settings = (
        "SELECT current_setting('enable_seqscan'), current_setting('enable_hashjoin'), "
        "current_setting('enable_mergejoin'), current_setting('jit')"
    )
    seen = []
    real = bulk_properties.pg_fetch

    def watching(sql, params):
        if "UPDATE" in sql:
            with connection.cursor() as cursor:
                cursor.execute(settings)
                seen.append(cursor.fetchone())
        return real(sql, params)

    monkeypatch.setattr(bulk_properties, "pg_fetch", watching)
    ana, _bob = people
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_hashjoin = on")
        cursor.execute("SET LOCAL jit = on")
        cursor.execute(settings)
        before = cursor.fetchone()
        assert contacts_write_properties([W(ana, "size", "50")], NOW) == {ana.pk}
        cursor.execute(settings)
        after = cursor.fetchone()
    assert seen == [("off", "off", "off", "off")]
    assert before == ("on", "on", "on", "on")
    assert after == before
    ana.refresh_from_db()
    assert ana.properties["size"] == "50"
