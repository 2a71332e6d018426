import pytest

from marketing_events.rules import (
    FIX_HINTS,
    ContactRef,
    CrmSnapshot,
    SkipReason,
    resolve_person,
)

SNAPSHOT = CrmSnapshot(
    contacts={
        "ana@example.com": ContactRef(id=1, first_name="Ana"),
        "admin@crm.test": ContactRef(id=2),
    },
    secondary_emails={"ana.old@example.com": 1},
    tombstones=frozenset({"gone@example.com"}),
    crm_user_emails=frozenset({"admin@crm.test"}),
)


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("", SkipReason.NO_EMAIL),  # rule Z2
        (None, SkipReason.NO_EMAIL),
        ("  ", SkipReason.NO_EMAIL),
        ("Admin@CRM.test", SkipReason.CRM_USER),  # rule Z4, even though a contact exists
        ("ana.old@example.com", SkipReason.SECONDARY_EMAIL),  # rule Z5
        ("GONE@example.com ", SkipReason.DELETED_CONTACT),  # rule Z6
        ("someone@blocked.test", SkipReason.CONTACT_EXCLUSION_DOMAIN),  # rule Z7
        ("someone@eu.blocked.test", SkipReason.CONTACT_EXCLUSION_DOMAIN),  # subdomains too
    ],
)
def test_people_who_receive_no_activity(email, expected):
    resolution = resolve_person(email, SNAPSHOT, contact_exclusion_domains=("blocked.test",))
    assert resolution.skip == expected
    assert resolution.contact is None and not resolution.create


def test_existing_contact_matched_trimmed_and_case_insensitively():  # rule Z8
    resolution = resolve_person("  ANA@Example.com ", SNAPSHOT)
    assert resolution == resolve_person("ana@example.com", SNAPSHOT)
    assert resolution.contact == ContactRef(id=1, first_name="Ana")


def test_exclusion_domains_block_creation_only():  # rule Z7
    snapshot = CrmSnapshot(contacts={"bob@blocked.test": ContactRef(id=9)})
    resolution = resolve_person(
        "bob@blocked.test", snapshot, contact_exclusion_domains=("blocked.test",)
    )
    assert resolution.contact == ContactRef(id=9)
    assert resolution.skip is None


def test_a_new_person_may_be_created():
    resolution = resolve_person("New@Person.io", SNAPSHOT)
    assert (resolution.email, resolution.create, resolution.skip) == ("new@person.io", True, None)


def test_every_reason_has_a_fix_hint():  # rule Z9
    assert set(FIX_HINTS) == set(SkipReason)
    assert all(len(hint) > 40 for hint in FIX_HINTS.values())
