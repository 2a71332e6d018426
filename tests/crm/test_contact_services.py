"""Contact services: e-mail normalization and uniqueness (also under concurrency), secondary
e-mails, archive → tombstone → restore, and tombstones respected by integrations."""

import threading
import time

import pytest
from django.db import OperationalError, connection

from crm.errors import Conflict, ContactAlreadyExists, ValidationFailed
from crm.models import Contact, SecondaryEmail, Tombstone
from crm.services.contacts import (
    contact_archive,
    contact_create,
    contact_restore,
    contact_update,
    secondary_email_add,
    secondary_email_remove,
)
from tests.factories import ContactFactory


@pytest.mark.django_db
def test_create_stores_the_email_trimmed_and_lowercased_and_names_as_typed():
    contact = contact_create(properties={"email": "  Ana.Silva@Example.COM ", "firstname": " Ána "})

    contact.refresh_from_db()
    assert contact.email == "ana.silva@example.com"  # rule Z8
    assert contact.first_name == " Ána "


@pytest.mark.django_db
def test_a_second_create_with_the_same_email_in_another_case_is_refused():
    first = contact_create(properties={"email": "Ana@X.com"})

    with pytest.raises(ContactAlreadyExists) as caught:
        contact_create(properties={"email": " ana@x.COM "})

    assert caught.value.existing_id == first.pk
    assert caught.value.message == f"Contact already exists. Existing ID: {first.pk}"
    assert Contact.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_creates_leave_one_contact_and_one_conflict():
    barrier = threading.Barrier(2)
    outcomes: list = []

    def create(email):
        try:
            barrier.wait(timeout=10)
            outcomes.append(_create_waiting_for_locks(email))
        except ContactAlreadyExists as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(e,)) for e in ("Ana@X.com ", "ana@x.com")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert Contact.objects.count() == 1
    winner = Contact.objects.get()
    assert winner.email == "ana@x.com"
    conflicts = [o for o in outcomes if isinstance(o, ContactAlreadyExists)]
    created = [o for o in outcomes if isinstance(o, Contact)]
    assert len(conflicts) == 1 and len(created) == 1
    assert conflicts[0].existing_id == winner.pk == created[0].pk


def _create_waiting_for_locks(email):
    """The SQLite test database is in memory with a shared cache, whose table locks fail at
    once ("database table is locked") instead of waiting like a file database's busy timeout
    or PostgreSQL's row locks. There, retry the whole (rolled back) create as waiting would."""
    in_memory_sqlite = connection.vendor == "sqlite" and connection.is_in_memory_db()
    for _attempt in range(200):
        try:
            return contact_create(properties={"email": email})
        except OperationalError as exc:
            if not (in_memory_sqlite and "locked" in str(exc)):
                raise
            time.sleep(0.01)
    raise AssertionError("the database stayed locked")


@pytest.mark.django_db
def test_invalid_email_is_refused_and_nothing_is_written():
    with pytest.raises(ValidationFailed) as caught:
        contact_create(properties={"email": "ana@", "firstname": "Ana"})

    assert caught.value.errors == [
        {"name": "email", "code": "INVALID_EMAIL", "message": "'ana@' is not a valid email address"}
    ]
    assert not Contact.objects.exists()


@pytest.mark.django_db
def test_secondary_emails_are_normalized_and_rendered_sorted():
    contact = contact_create(
        properties={"email": "ana@x.com", "hs_additional_emails": "B@y.com; a@y.com;b@y.com"}
    )

    assert sorted(contact.secondary_emails.values_list("email", flat=True)) == [
        "a@y.com",
        "b@y.com",
    ]


@pytest.mark.django_db
def test_an_address_belongs_to_at_most_one_contact():
    ana = contact_create(properties={"email": "ana@x.com", "hs_additional_emails": "old@x.com"})
    bob = contact_create(properties={"email": "bob@x.com"})

    # Another contact's secondary may not be reused as a secondary…
    with pytest.raises(ValidationFailed):
        contact_update(contact=bob, properties={"hs_additional_emails": "OLD@x.com"})
    with pytest.raises(ValidationFailed):
        secondary_email_add(contact=bob, email="old@x.com")
    # …nor as a primary (rule Z5: it is Ana's address).
    with pytest.raises(ContactAlreadyExists) as caught:
        contact_create(properties={"email": "old@x.com"})
    assert caught.value.existing_id == ana.pk
    with pytest.raises(ContactAlreadyExists):
        contact_update(contact=bob, properties={"email": "old@x.com"})

    assert list(SecondaryEmail.objects.values_list("email", "contact_id")) == [
        ("old@x.com", ana.pk)
    ]


@pytest.mark.django_db
def test_a_primary_email_cannot_be_another_contacts_secondary():
    contact_create(properties={"email": "ana@x.com"})
    bob = contact_create(properties={"email": "bob@x.com"})

    with pytest.raises(ValidationFailed) as caught:
        secondary_email_add(contact=bob, email="Ana@x.com")

    assert caught.value.errors[0]["code"] == "CONFLICT"
    with pytest.raises(ValidationFailed):
        contact_create(properties={"email": "carl@x.com", "hs_additional_emails": "ana@x.com"})
    assert not SecondaryEmail.objects.exists()


@pytest.mark.django_db
def test_promoting_ones_own_secondary_to_primary_moves_it():
    ana = contact_create(properties={"email": "ana@x.com", "hs_additional_emails": "new@x.com"})

    contact_update(contact=ana, properties={"email": "new@x.com"})

    ana.refresh_from_db()
    assert ana.email == "new@x.com"
    assert not SecondaryEmail.objects.exists()


@pytest.mark.django_db
def test_secondary_email_remove():
    ana = contact_create(properties={"email": "ana@x.com", "hs_additional_emails": "a@y.com"})

    secondary_email_remove(contact=ana, email=" A@Y.com")

    assert not SecondaryEmail.objects.exists()


@pytest.mark.django_db
def test_update_clears_with_empty_string():
    contact = ContactFactory(company="Acme", city="Porto")

    contact_update(contact=contact, properties={"company": "", "city": "Lisboa"})

    contact.refresh_from_db()
    assert (contact.company, contact.city) == ("", "Lisboa")


@pytest.mark.django_db
def test_archive_leaves_a_tombstone_and_restore_lifts_it(admin_user):
    contact = contact_create(properties={"email": "ana@x.com"})

    contact_archive(contact=contact, actor=admin_user)
    contact_archive(contact=contact, actor=admin_user)  # idempotent

    tombstone = Tombstone.objects.get()
    assert (tombstone.email, tombstone.contact_id, tombstone.deleted_by) == (
        "ana@x.com",
        contact.pk,
        admin_user,
    )
    contact_restore(contact=contact, actor=admin_user)  # rule B6
    contact.refresh_from_db()
    assert contact.archived_at is None
    assert not Tombstone.objects.exists()
    assert sorted(contact.timeline.values_list("kind", flat=True)) == [
        "contact_created",
        "contact_deleted",
        "contact_restored",
    ]


@pytest.mark.django_db
def test_restore_is_refused_when_a_live_contact_took_the_email():
    old = contact_create(properties={"email": "ana@x.com"})
    contact_archive(contact=old)
    new = contact_create(properties={"email": "ana@x.com"})  # by hand: lifts the tombstone

    with pytest.raises(Conflict) as caught:
        contact_restore(contact=old)

    assert caught.value.context["existing_id"] == new.pk
    old.refresh_from_db()
    assert old.archived_at is not None


@pytest.mark.django_db
def test_integrations_respect_tombstones_and_people_may_override_them():
    contact_archive(contact=contact_create(properties={"email": "ana@x.com"}))

    # rule Z6: an integration never recreates a deleted contact.
    with pytest.raises(Conflict) as caught:
        contact_create(properties={"email": " ANA@x.com"}, respect_tombstones=True)
    assert caught.value.context["reason"] == "deleted_contact"
    assert Contact.objects.filter(archived_at__isnull=True).count() == 0
    assert Tombstone.objects.count() == 1

    recreated = contact_create(properties={"email": "ana@x.com"})  # a person, by hand

    assert recreated.archived_at is None
    assert not Tombstone.objects.exists()
    assert Contact.objects.count() == 2
