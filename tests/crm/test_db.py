"""`crm.db.atomic_retried`: a transaction that lost a deadlock runs again (PostgreSQL, two
transactions really at once locking two rows in opposite orders)."""

import threading

import pytest
from django.db import OperationalError, connection, connections
from django.db.models import F, Value
from django.db.models.functions import Concat

from crm.db import atomic_retried
from crm.models import Contact

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks, a real deadlock")
def test_both_transactions_of_a_deadlock_finish():
    first = Contact.objects.create(email="a@example.com")
    second = Contact.objects.create(email="b@example.com")
    both_hold_one = threading.Barrier(2, timeout=20)
    attempts: list[str] = []
    failures: list[BaseException] = []

    def lock_then_add(name, order):
        def work():
            attempts.append(name)
            for step, pk in enumerate(order):
                Contact.objects.filter(pk=pk).update(first_name=Concat(F("first_name"), Value("+")))
                if step == 0 and attempts.count(name) == 1:
                    both_hold_one.wait()  # each holds one row and asks for the other's

        def run():
            try:
                atomic_retried(work, label=name)
            except BaseException as exc:  # handed to the test
                failures.append(exc)
            finally:
                connections.close_all()

        return threading.Thread(target=run)

    threads = [
        lock_then_add("one", [first.pk, second.pk]),
        lock_then_add("two", [second.pk, first.pk]),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not failures, failures
    # PostgreSQL ended one of them with a deadlock; it ran again: three attempts in all, and
    # each transaction's two increments are there once.
    assert len(attempts) == 3
    assert set(Contact.objects.values_list("first_name", flat=True)) == {"++"}


def test_other_errors_are_not_retried():
    calls = []

    def work():
        calls.append(1)
        raise OperationalError("connection refused")

    with pytest.raises(OperationalError):
        atomic_retried(work)
    assert calls == [1]
