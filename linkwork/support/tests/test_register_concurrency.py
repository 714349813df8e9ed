"""Two colleagues submitting the same register at the same moment."""

import datetime as dt
import threading

import pytest
from django.db import connection, connections

from linkwork.support.models import RegisterEntry, Session
from linkwork.support.services import RegisterMark, allocate_child, record_register


@pytest.mark.django_db(transaction=True)
def test_two_submissions_at_once_leave_one_mark_per_child(
    make_pupil, enrol, service, partner_user, link_worker
):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises write transactions, so no race")
    today = dt.date.today()
    children = [make_pupil() for _ in range(12)]
    for child in children:
        enrol(child, on=today - dt.timedelta(days=30))
        allocate_child(actor=link_worker, pupil=child, service=service, start_date=today)
    barrier = threading.Barrier(2)
    errors = []

    def submit(state):
        try:
            barrier.wait()
            record_register(
                actor=partner_user,
                service=service,
                session_date=today,
                marks=[RegisterMark(c.pk, state, seen="") for c in children],
            )
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(s,)) for s in ("attended", "engaged")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Session.objects.filter(service=service, date=today).count() == 1
    assert RegisterEntry.objects.filter(service=service, session_date=today).count() == 12
    states = set(
        RegisterEntry.objects.filter(service=service, session_date=today).values_list(
            "attended", "engaged"
        )
    )
    # Whoever came second saw the first colleague's marks land; every child has one mark.
    assert len(states) == 1
