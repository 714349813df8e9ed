import pytest

from linkwork.measures.models import Administration, Score
from linkwork.people.models import Attainment, Pupil, SchoolAttendance
from linkwork.screening.documents import parse_screening_rules
from linkwork.screening.services import store_screening_rules

from .example import PUPILS, RULES_YAML


@pytest.fixture
def rules(manager):
    document = parse_screening_rules(RULES_YAML, filename="screening.yaml")
    return store_screening_rules(actor=manager, document=document, source=RULES_YAML)


def put_pupil(school, data, n):
    pupil = Pupil.objects.create(
        upn=data.upn,
        school=school,
        given_name=f"Child{n}",
        family_name="Example",
        year_group="5",
        fsm=data.fsm,
        eal=data.eal,
        statutory_status=data.statutory_status,
    )
    for period in data.attendance:
        SchoolAttendance.objects.create(
            pupil=pupil,
            period_start=period.period_start,
            period_end=period.period_end,
            possible_sessions=period.possible,
            present_sessions=period.present,
        )
    for result in data.attainment:
        Attainment.objects.create(
            pupil=pupil,
            subject=result.subject,
            assessed_on=result.assessed_on,
            value=result.value,
            expected=result.expected,
        )
    for score in data.scores:
        administration, _ = Administration.objects.get_or_create(
            pupil=pupil,
            instrument_code=score.instrument,
            administered_on=score.administered_on,
            respondent=score.respondent,
        )
        Score.objects.create(administration=administration, scale=score.scale, score=score.score)
    return pupil


@pytest.fixture
def example_pupils(school):
    """The worked example's pupils, on roll at `school`, by letter."""
    return {
        letter: put_pupil(school, data, n)
        for n, (letter, data) in enumerate(zip("ABCDEFG", PUPILS, strict=True), start=1)
    }
