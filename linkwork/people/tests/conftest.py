import datetime as dt

import pytest

from linkwork.measures.models import Administration, Score
from linkwork.people.models import Cohort, Consent, Enrolment, Purpose
from linkwork.support.models import Interaction, RegisterEntry


@pytest.fixture
def cohort(db):
    return Cohort.objects.create(code="2025", name="Cohort 2025")


@pytest.fixture
def enrol(cohort):
    """Enrol a pupil today (or on `on`) with a Link Worker and all four consents."""

    def enrol(pupil, *, link_worker=None, on=None, ended_on=None, consents=True):
        on = on or dt.date.today() - dt.timedelta(days=30)
        if consents:
            for purpose in Purpose:
                Consent.objects.get_or_create(
                    pupil=pupil, purpose=purpose, given_on=on, defaults={"given_by": "parent"}
                )
        return Enrolment.objects.create(
            pupil=pupil,
            cohort=cohort,
            enrolled_on=on,
            link_worker=link_worker,
            ended_on=ended_on,
        )

    return enrol


@pytest.fixture
def add_history(service):
    """Give a pupil `n` register marks, interactions and scored administrations."""

    def add(pupil, n, *, recorded_by=None):
        today = dt.date.today()
        for i in range(n):
            day = today - dt.timedelta(days=i + 1)
            RegisterEntry.objects.create(
                service=service, session_date=day, pupil=pupil, attended=True, engaged=i % 2 == 0
            )
            Interaction.objects.create(
                pupil=pupil,
                occurred_on=day,
                minutes=15,
                kind="one_to_one",
                topics=["friendships"],
                note=f"Check-in {i}",
                recorded_by=recorded_by,
            )
            administration = Administration.objects.create(
                pupil=pupil, instrument_code="SCWBS", administered_on=day, respondent="self"
            )
            Score.objects.create(administration=administration, scale="total", score=40 + i)
            Score.objects.create(administration=administration, scale="emotional", score=10)

    return add
