import datetime as dt

import pytest

from linkwork.people.models import Cohort, Consent, Enrolment


@pytest.fixture
def cohort(db):
    return Cohort.objects.create(code="2025", name="Started 2025")


@pytest.fixture
def enrol(cohort, link_worker):
    """Enrol a pupil with the Link Worker (support and sharing consents given)."""

    def enrol(pupil, *, on=dt.date(2025, 9, 8), worker=None, sharing=True):
        Consent.objects.create(pupil=pupil, purpose="support", given_by="parent", given_on=on)
        if sharing:
            Consent.objects.create(
                pupil=pupil, purpose="partner_sharing", given_by="parent", given_on=on
            )
        return Enrolment.objects.create(
            pupil=pupil, cohort=cohort, enrolled_on=on, link_worker=worker or link_worker
        )

    return enrol
