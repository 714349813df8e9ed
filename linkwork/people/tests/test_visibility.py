import datetime as dt

import pytest

from linkwork.people.models import Pupil


def visible(user):
    return set(Pupil.objects.visible_to(user))


@pytest.mark.django_db
def test_link_worker_sees_only_their_schools(link_worker, make_pupil, other_school):
    mine = make_pupil()
    make_pupil(school=other_school)
    assert visible(link_worker) == {mine}


@pytest.mark.django_db
def test_partner_sees_only_allocated_children_with_sharing_consent(
    partner_user, make_pupil, allocate
):
    allocated = make_pupil()
    allocate(allocated)
    no_consent = make_pupil()
    allocate(no_consent, consent=False)
    make_pupil()
    assert visible(partner_user) == {allocated}


@pytest.mark.django_db
def test_partner_loses_sight_when_allocation_ends(partner_user, make_pupil, allocate):
    pupil = make_pupil()
    allocation = allocate(pupil, on=dt.date.today() - dt.timedelta(days=30))
    allocation.end_date = dt.date.today() - dt.timedelta(days=1)
    allocation.save()
    assert visible(partner_user) == set()


@pytest.mark.django_db
def test_funder_sees_no_one(funder, make_pupil):
    make_pupil()
    assert visible(funder) == set()


@pytest.mark.django_db
def test_manager_sees_everyone(manager, make_pupil, other_school):
    a, b = make_pupil(), make_pupil(school=other_school)
    assert visible(manager) == {a, b}
