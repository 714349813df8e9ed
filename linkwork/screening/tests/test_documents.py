import pytest

from linkwork.core.documents import DocumentError
from linkwork.measures.models import Instrument
from linkwork.packages.generator import SCREENING_YAML
from linkwork.packages.services import PackageInvalid, load_package
from linkwork.people.models import StatutoryStatus
from linkwork.screening.documents import STATUTORY, parse_screening_rules
from linkwork.screening.models import ScreeningRules
from linkwork.screening.services import store_screening_rules

from .example import RULES_YAML


def errors_of(source):
    with pytest.raises(DocumentError) as caught:
        parse_screening_rules(source, filename="screening.yaml")
    return caught.value.errors


def test_spec_example_parses_exactly():
    assert parse_screening_rules(RULES_YAML, filename="screening.yaml") == {
        "min_risk_areas": 2,
        "priority_areas": ["economic_disadvantage"],
        "exclude_statutory": ["CIN", "CP", "LAC"],
        "areas": {
            "economic_disadvantage": {"pupil_flag": "fsm"},
            "attendance": {"attendance_rate_below": "0.90"},
            "emotional_wellbeing": {"score": "SDQ/emotional", "at_risk_from": "5"},
            "relationships": {"score": "SDQ/peer", "at_risk_from": "4"},
            "english": {"attainment": "reading", "below_expected_by": "1"},
            "maths": {"attainment": "maths", "below_expected_by": "1"},
        },
    }


def test_respondent_and_phase_thresholds():
    doc = parse_screening_rules(
        "min_risk_areas: 1\nexclude_statutory: [CIN, CP, LAC]\nareas:\n"
        "  wellbeing: {score: SCWBS/total, at_risk_below: {primary: 40, secondary: 38},"
        " respondent: self}\n",
        filename="screening.yaml",
    )
    assert doc["areas"]["wellbeing"] == {
        "score": "SCWBS/total",
        "at_risk_below": {"primary": "40", "secondary": "38"},
        "respondent": "self",
    }
    assert doc["priority_areas"] == [] and doc["exclude_statutory"] == ["CIN", "CP", "LAC"]


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        ("min_risk_areas: 2", "min_risk_area: 2", "screening.yaml:1: min_risk_area: unknown key"),
        (
            "min_risk_areas: 2",
            "min_risk_areas: 0",
            "screening.yaml:1: min_risk_areas: a whole number, at least 1 (0)",
        ),
        (
            "[economic_disadvantage]",
            "[poverty]",
            "screening.yaml:2: priority_areas: not an area of these rules (poverty)",
        ),
        (
            "[CIN, CP, LAC]",
            "[CIN, EHC]",
            "screening.yaml:3: exclude_statutory: not one of CIN, CP, LAC (EHC)",
        ),
        (
            "{pupil_flag: fsm}",
            "{pupil_flag: sen}",
            "screening.yaml:5: areas.economic_disadvantage.pupil_flag: one of fsm, eal (sen)",
        ),
        (
            "{attendance_rate_below: 0.90}",
            "{attendance_rate_above: 0.90}",
            "screening.yaml:6: areas.attendance: exactly one rule kind of pupil_flag,"
            " attendance_rate_below, score, attainment (attendance_rate_above)",
        ),
        (
            "{attendance_rate_below: 0.90}",
            "{attendance_rate_below: 90}",
            "screening.yaml:6: areas.attendance.attendance_rate_below: out of range (from 0 to 1)"
            " (90)",
        ),
        (
            "at_risk_from: 5}",
            "at_risk_above: 5}",
            "screening.yaml:7: areas.emotional_wellbeing.at_risk_above: unknown key for a score"
            " rule",
        ),
        (
            "{score: SDQ/peer, at_risk_from: 4}",
            "{score: SDQ/peer, at_risk_from: 4, respondent: carer}",
            "screening.yaml:8: areas.relationships.respondent: one of self, parent, teacher"
            " (carer)",
        ),
        (
            "{score: SDQ/peer, at_risk_from: 4}",
            "{score: SDQ-peer, at_risk_from: 4}",
            "screening.yaml:8: areas.relationships.score: INSTRUMENT/scale (SDQ-peer)",
        ),
        (
            "{attainment: reading, below_expected_by: 1}",
            "{attainment: reading}",
            "screening.yaml:9: areas.english.below_expected_by: required",
        ),
        (
            "{attainment: maths,",
            "{attainment: science,",
            "screening.yaml:10: areas.maths.attainment: one of reading, writing, maths, english"
            " (science)",
        ),
        (
            "{attainment: maths, below_expected_by: 1}",
            "{attainment: maths, below_expected_by: x}",
            "screening.yaml:10: areas.maths.below_expected_by: a number (x)",
        ),
    ],
)
def test_bad_rules_are_located(old, new, error):
    assert old in RULES_YAML
    assert error in errors_of(RULES_YAML.replace(old, new, 1))


def test_score_rule_needs_one_threshold():
    errors = errors_of(
        "min_risk_areas: 1\nexclude_statutory: [CIN, CP, LAC]\nareas:\n  a: {score: SDQ/peer}\n"
    )
    assert errors == [
        "screening.yaml:4: areas.a: a score rule takes one of at_risk_from, at_risk_below"
    ]


def test_every_statutory_status_of_a_pupil_is_known():
    assert set(STATUTORY) == set(StatutoryStatus.values) - {StatutoryStatus.NONE}


@pytest.mark.parametrize(
    ("listed", "missing"),
    [("[]", "CIN, CP, LAC"), ("[CP]", "CIN, LAC"), ("[LAC, CIN]", "CP"), ("", "CIN, CP, LAC")],
)
def test_rules_that_let_a_statutory_case_through_are_refused(listed, missing):
    source = RULES_YAML.replace("[CIN, CP, LAC]", listed, 1)
    assert errors_of(source) == [
        "screening.yaml:3: exclude_statutory: statutory cases are always excluded: "
        f"list every one of CIN, CP, LAC (missing {missing})"
    ]


def test_rules_without_exclude_statutory_exclude_every_status():
    source = RULES_YAML.replace("exclude_statutory: [CIN, CP, LAC]\n", "", 1)
    document = parse_screening_rules(source, filename="screening.yaml")
    assert document["exclude_statutory"] == ["CIN", "CP", "LAC"]


@pytest.mark.parametrize(
    ("least", "areas", "error"),
    [
        (
            9,
            "  fsm: {pupil_flag: fsm}\n",
            "screening.yaml:1: min_risk_areas: more than the 1 area defined, so nobody could be"
            " shortlisted (9)",
        ),
        (
            3,
            "  fsm: {pupil_flag: fsm}\n  eal: {pupil_flag: eal}\n",
            "screening.yaml:1: min_risk_areas: more than the 2 areas defined, so nobody could be"
            " shortlisted (3)",
        ),
        (
            -1,
            "  fsm: {pupil_flag: fsm}\n",
            "screening.yaml:1: min_risk_areas: a whole number, at least 1 (-1)",
        ),
    ],
)
def test_min_risk_areas_must_be_reachable(least, areas, error):
    source = f"min_risk_areas: {least}\nexclude_statutory: [CIN, CP, LAC]\nareas:\n{areas}"
    assert errors_of(source) == [error]


def test_min_risk_areas_may_be_every_area():
    source = RULES_YAML.replace("min_risk_areas: 2", "min_risk_areas: 6", 1)
    assert parse_screening_rules(source, filename="screening.yaml")["min_risk_areas"] == 6


def test_the_generated_zone_s_rules_are_valid():
    document = parse_screening_rules(SCREENING_YAML, filename="screening.yaml")
    assert document["exclude_statutory"] == ["CIN", "CP", "LAC"]


@pytest.mark.django_db
def test_a_package_whose_rules_let_statutory_cases_through_is_refused(tmp_path):
    (tmp_path / "screening.yaml").write_text(
        SCREENING_YAML.replace("[CIN, CP, LAC]", "[]"), encoding="utf-8"
    )
    with pytest.raises(PackageInvalid) as refused:
        load_package(actor=None, path=tmp_path)
    assert refused.value.errors == [
        "screening.yaml:3: exclude_statutory: statutory cases are always excluded: "
        "list every one of CIN, CP, LAC (missing CIN, CP, LAC)"
    ]
    assert not ScreeningRules.objects.exists()


@pytest.mark.django_db
def test_a_package_with_the_generated_rules_loads(tmp_path):
    (tmp_path / "screening.yaml").write_text(SCREENING_YAML, encoding="utf-8")
    load_package(actor=None, path=tmp_path)
    assert ScreeningRules.objects.get().document["exclude_statutory"] == ["CIN", "CP", "LAC"]


# Instruments: a score rule names an instrument, scale and respondent defined ------------

WELLBEING_YAML = """\
code: WB
name: A wellbeing scale of the zone's own
respondents: [self]
item_values: {min: 1, max: 5}
items: [wb01, wb02]
missing_items:
  max_missing_per_scale: 0
  rounding: none
scales:
  total:
    name: Wellbeing
    items: [wb01, wb02]
    range: {min: 2, max: 10}
    direction: higher_is_better
    sd: 1.5
    reliability: 0.8
"""

BLOCK_RULES = """\
min_risk_areas: 1
exclude_statutory: [CIN, CP, LAC]
areas:
  wellbeing:
    score: WB/total
    at_risk_below: 4
    respondent: parent
"""


def test_rules_are_checked_against_the_instruments_given():
    instruments = {"SDQ": {"scales": {"emotional": {}, "peer": {}}, "respondents": ["self"]}}
    source = RULES_YAML.replace("SDQ/peer", "SDQ/nothing")
    assert errors_of_checked(source, instruments) == [
        "screening.yaml:8: areas.relationships: instrument SDQ has no scale nothing "
        "(emotional, peer) (nothing)"
    ]
    assert errors_of_checked(BLOCK_RULES, instruments) == [
        "screening.yaml:5: areas.wellbeing: no instrument WB is defined (instruments: SDQ) (WB)"
    ]
    wellbeing = {"WB": {"scales": {"total": {}}, "respondents": ["self"]}}
    assert errors_of_checked(BLOCK_RULES, wellbeing) == [
        "screening.yaml:7: areas.wellbeing: instrument WB is answered by self (parent)"
    ]
    assert parse_screening_rules(RULES_YAML, filename="screening.yaml", instruments=instruments)


def errors_of_checked(source, instruments):
    with pytest.raises(DocumentError) as caught:
        parse_screening_rules(source, filename="screening.yaml", instruments=instruments)
    return caught.value.errors


@pytest.mark.django_db
def test_storing_rules_refuses_a_scale_no_instrument_has(manager):
    source = RULES_YAML.replace("SDQ/peer", "SDQ/nothing")
    document = parse_screening_rules(source, filename="screening.yaml")
    with pytest.raises(DocumentError) as refused:
        store_screening_rules(actor=manager, document=document, source=source)
    assert refused.value.errors == [
        "screening.yaml:8: areas.relationships: instrument SDQ has no scale nothing "
        "(conduct, emotional, hyperactivity, peer, prosocial, total_difficulties) (nothing)"
    ]
    assert not ScreeningRules.objects.exists()


@pytest.mark.django_db
def test_the_latest_stored_version_of_an_instrument_is_the_one_checked(manager):
    Instrument.objects.create(
        code="SDQ",
        version=99,
        name="Strengths and Difficulties Questionnaire",
        definition={"code": "SDQ", "scales": {"emotional": {}}, "respondents": ["self"]},
    )
    document = parse_screening_rules(RULES_YAML, filename="screening.yaml")
    with pytest.raises(DocumentError) as refused:
        store_screening_rules(actor=manager, document=document, source=RULES_YAML)
    assert refused.value.errors == [
        "screening.yaml:8: areas.relationships: instrument SDQ has no scale peer (emotional) (peer)"
    ]


@pytest.mark.django_db
def test_the_shipped_instruments_are_known_in_a_database_without_them(manager):
    Instrument.objects.all().delete()  # as a test emptying the database leaves it
    document = parse_screening_rules(RULES_YAML, filename="screening.yaml")
    assert store_screening_rules(actor=manager, document=document, source=RULES_YAML).version == 1


@pytest.mark.django_db
def test_a_package_s_rules_may_use_its_own_instruments(tmp_path):
    (tmp_path / "instruments").mkdir()
    (tmp_path / "instruments" / "WB.yaml").write_text(WELLBEING_YAML, encoding="utf-8")
    source = BLOCK_RULES.replace("    respondent: parent\n", "")
    (tmp_path / "screening.yaml").write_text(source, encoding="utf-8")
    load_package(actor=None, path=tmp_path)
    assert ScreeningRules.objects.get().document["areas"]["wellbeing"]["score"] == "WB/total"


@pytest.mark.django_db
def test_a_package_whose_rules_name_a_scale_not_defined_is_refused(tmp_path):
    (tmp_path / "instruments").mkdir()
    (tmp_path / "instruments" / "WB.yaml").write_text(WELLBEING_YAML, encoding="utf-8")
    source = BLOCK_RULES.replace("WB/total", "WB/nothing")
    (tmp_path / "screening.yaml").write_text(source, encoding="utf-8")
    with pytest.raises(PackageInvalid) as refused:  # listed as problems, no traceback
        load_package(actor=None, path=tmp_path)
    assert refused.value.errors == [
        "screening.yaml:5: areas.wellbeing: instrument WB has no scale nothing (total) (nothing)",
        "screening.yaml:7: areas.wellbeing: instrument WB is answered by self (parent)",
    ]
    assert not ScreeningRules.objects.exists()
    assert not Instrument.objects.filter(code="WB").exists()
