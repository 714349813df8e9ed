"""The synthetic zone generator writes a valid, realistic, reproducible package."""

import csv
import io
import re
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from linkwork.core.documents import read_yaml
from linkwork.core.upn import upn_problem
from linkwork.packages.generator import COLUMNS, SCREENING_YAML, SchoolYear, generate_package
from linkwork.packages.services import load_package

KEYS = {
    "schools": ("urn",),
    "pupils": ("upn",),
    "school_attendance": ("upn", "period_start"),
    "attainment": ("upn", "subject", "assessed_on"),
    "scores": ("upn", "instrument", "scale", "administered_on", "respondent"),
    "partners": ("code",),
    "services": ("code",),
    "link_workers": ("email",),
    "enrolments": ("upn", "cohort"),
    "consents": ("upn", "purpose", "given_on"),
    "allocations": ("upn", "service_code", "start_date"),
    "registers": ("service_code", "session_date", "upn"),
    "interactions": ("upn", "occurred_on", "kind"),
}
DATE_COLUMNS = {
    "date_of_birth", "period_start", "period_end", "assessed_on", "administered_on",
    "enrolled_on", "ended_on", "given_on", "withdrawn_on", "start_date", "end_date",
    "session_date", "occurred_on",
}  # fmt: skip
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def read(path: Path, resource: str) -> list[dict]:
    with open(path / f"{resource}.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def zone(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("zone")
    generate_package(path, children=300, seed=11)
    return path


@pytest.fixture(scope="module")
def tables(zone) -> dict[str, list[dict]]:
    return {resource: read(zone, resource) for resource in COLUMNS}


def test_same_seed_writes_byte_identical_files(tmp_path):
    generate_package(tmp_path / "a", children=30, seed=5)
    generate_package(tmp_path / "b", children=30, seed=5)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.*"))
    assert len(files) == len(COLUMNS) + 2
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_another_seed_writes_another_zone(tmp_path):
    generate_package(tmp_path / "a", children=30, seed=5)
    generate_package(tmp_path / "b", children=30, seed=6)
    a = (tmp_path / "a" / "pupils.csv").read_bytes()
    assert a != (tmp_path / "b" / "pupils.csv").read_bytes()


def test_row_counts_grow_linearly_with_children(tmp_path):
    small = generate_package(tmp_path / "small", children=100, seed=3)
    large = generate_package(tmp_path / "large", children=400, seed=3)
    assert large["enrolments"] == 4 * small["enrolments"] == 400
    for resource in ("pupils", "school_attendance", "registers", "interactions", "consents"):
        assert 3.2 < large[resource] / small[resource] < 4.8, resource


def test_headers_are_exactly_the_spec_columns(zone):
    for resource, columns in COLUMNS.items():
        with open(zone / f"{resource}.csv", encoding="utf-8") as handle:
            assert handle.readline().rstrip("\n").split(",") == list(columns)


def test_keys_are_unique(tables):
    for resource, key in KEYS.items():
        keys = Counter(tuple(row[c] for c in key) for row in tables[resource])
        assert [k for k, n in keys.items() if n > 1] == [], resource


def test_every_upn_has_a_valid_check_letter(tables):
    assert [p["upn"] for p in tables["pupils"] if upn_problem(p["upn"])] == []


def test_every_date_is_iso_and_every_urn_six_digits(tables):
    for resource, rows in tables.items():
        for row in rows:
            for column, value in row.items():
                if column in DATE_COLUMNS and value:
                    assert ISO_DATE.match(value), (resource, column, value)
                    date.fromisoformat(value)
    assert all(re.fullmatch(r"\d{6}", s["urn"]) for s in tables["schools"])


def test_every_reference_exists(tables):
    upns = {p["upn"] for p in tables["pupils"]}
    urns = {s["urn"] for s in tables["schools"]}
    services = {s["code"] for s in tables["services"]}
    for resource in ("school_attendance", "attainment", "scores", "enrolments", "consents",
                     "allocations", "registers", "interactions"):  # fmt: skip
        assert {row["upn"] for row in tables[resource]} <= upns, resource
    assert {p["school_urn"] for p in tables["pupils"]} == urns
    assert {s["partner_code"] for s in tables["services"]} <= {
        p["code"] for p in tables["partners"]
    }
    assert {r["service_code"] for r in tables["registers"]} <= services
    assert {a["service_code"] for a in tables["allocations"]} <= services
    workers = {w["email"]: w["school_urns"].split(";") for w in tables["link_workers"]}
    school_of = {p["upn"]: p["school_urn"] for p in tables["pupils"]}
    for enrolment in tables["enrolments"]:
        assert school_of[enrolment["upn"]] in workers[enrolment["link_worker_email"]]
    assert all(email.endswith("@example.org") for email in workers)


def test_every_register_row_has_a_covering_allocation(tables):
    allocations = defaultdict(list)
    for a in tables["allocations"]:
        allocations[(a["upn"], a["service_code"])].append((a["start_date"], a["end_date"]))
    for row in tables["registers"]:
        spans = allocations[(row["upn"], row["service_code"])]
        on = row["session_date"]
        assert any(start <= on and (not end or on <= end) for start, end in spans), row


def test_allocations_are_to_services_of_the_childs_school_after_consent(tables):
    school_of = {p["upn"]: p["school_urn"] for p in tables["pupils"]}
    service_school = {s["code"]: s["school_urn"] for s in tables["services"]}
    sharing = {c["upn"]: c["given_on"] for c in tables["consents"]
               if c["purpose"] == "partner_sharing"}  # fmt: skip
    for a in tables["allocations"]:
        assert service_school[a["service_code"]] == school_of[a["upn"]]
        assert a["start_date"] > sharing[a["upn"]]
        assert not a["end_date"] or a["end_date"] >= a["start_date"]


def test_engaged_only_when_attended(tables):
    for row in tables["registers"]:
        assert (row["attended"], row["engaged"]) in {("Y", "Y"), ("Y", "N"), ("N", "")}


def test_sessions_fall_in_term_time_on_the_services_weekday(tables):
    term_days = set()
    for year in (2023, 2024, 2025):
        term_days |= set(SchoolYear.starting(year).school_days())
    weekdays = defaultdict(set)
    for row in tables["registers"]:
        day = date.fromisoformat(row["session_date"])
        assert day in term_days
        weekdays[row["service_code"]].add(day.weekday())
    assert all(len(days) == 1 for days in weekdays.values())


def test_school_year_has_english_terms_and_half_terms():
    year = SchoolYear.starting(2024)
    assert [(a.isoformat(), b.isoformat()) for a, b in year.half_terms] == [
        ("2024-09-03", "2024-10-25"),
        ("2024-11-04", "2024-12-20"),
        ("2025-01-06", "2025-02-14"),
        ("2025-02-24", "2025-03-28"),
        ("2025-04-14", "2025-05-23"),
        ("2025-06-02", "2025-07-18"),
    ]
    assert 185 <= len(year.school_days()) <= 200


def test_the_zone_looks_like_a_real_one(tables):
    pupils = tables["pupils"]
    enrolled = {e["upn"] for e in tables["enrolments"]}
    assert len(enrolled) == 300
    assert 6 <= len(pupils) / len(enrolled) <= 8

    def share(column, value):
        return sum(p[column] == value for p in pupils) / len(pupils)

    assert 0.20 < share("fsm", "Y") < 0.30
    assert 0.11 < share("sen", "K") < 0.19
    assert 0.005 < share("sen", "E") < 0.035
    assert 0.16 < share("eal", "Y") < 0.24
    assert 0.015 < 1 - share("statutory_status", "none") < 0.045
    statutory = {p["upn"] for p in pupils if p["statutory_status"] != "none"}
    assert not statutory & enrolled

    rates = defaultdict(list)
    for row in tables["school_attendance"]:
        rates[row["upn"]].append(int(row["present_sessions"]) / int(row["possible_sessions"]))
    overall = [sum(r) / len(r) for r in rates.values()]
    assert 0.925 < sum(overall) / len(overall) < 0.955
    assert 0.12 < sum(rate < 0.9 for rate in overall) / len(overall) < 0.22

    scores = [s for s in tables["scores"] if s["upn"] not in enrolled]
    emotional = [int(s["score"]) for s in scores if s["scale"] == "emotional"]
    peer = [int(s["score"]) for s in scores if s["scale"] == "peer"]
    assert 0.15 < sum(s >= 5 for s in emotional) / len(emotional) < 0.28
    assert 0.15 < sum(s >= 4 for s in peer) / len(peer) < 0.28

    schools = tables["schools"]
    assert len({s["local_authority"] for s in schools}) >= 3
    assert 10 <= len(tables["link_workers"]) <= 14  # one per ~25 children
    per_school = Counter(s["school_urn"] for s in tables["services"])
    assert set(per_school.values()) == {3}


def test_enrolled_children_are_mostly_at_risk_in_two_or_more_areas(tables):
    enrolments = {e["upn"]: e for e in tables["enrolments"]}
    latest = {}
    for resource, kind, on in (
        ("school_attendance", None, "period_end"),
        ("scores", "scale", "administered_on"),
        ("attainment", "subject", "assessed_on"),
    ):
        for row in tables[resource]:
            upn = row["upn"]
            if upn in enrolments and row[on] <= enrolments[upn]["enrolled_on"]:
                key = (upn, row[kind] if kind else "attendance")
                if key not in latest or latest[key][on] < row[on]:
                    latest[key] = row
    fsm = {p["upn"]: p["fsm"] == "Y" for p in tables["pupils"]}
    areas = Counter()
    for upn in enrolments:
        count = fsm[upn]
        if row := latest.get((upn, "attendance")):
            count += int(row["present_sessions"]) < 0.9 * int(row["possible_sessions"])
        for scale, at_risk_from in (("emotional", 5), ("peer", 4)):
            count += int(latest[(upn, scale)]["score"]) >= at_risk_from
        for subject in ("reading", "maths"):
            count += int(latest[(upn, subject)]["value"]) <= 99
        areas[upn] = count
    assert sum(n >= 2 for n in areas.values()) / len(areas) > 0.9
    assert sum(n >= 3 for n in areas.values()) / len(areas) > 0.6


def test_enrolled_children_have_two_waves_and_many_improve(tables):
    enrolled = {e["upn"]: e["enrolled_on"] for e in tables["enrolments"]}
    waves = defaultdict(list)
    for s in tables["scores"]:
        if s["upn"] in enrolled and s["scale"] == "emotional":
            waves[s["upn"]].append((s["administered_on"], int(s["score"])))
    improved = at_risk = 0
    for upn, scores in waves.items():
        scores.sort()
        baseline = [s for on, s in scores if on <= enrolled[upn]][-1]
        follow_up = [(on, s) for on, s in scores if on > enrolled[upn]]
        assert follow_up, upn
        if baseline >= 5:
            at_risk += 1
            improved += follow_up[-1][1] < baseline
    assert improved / at_risk > 0.5


def test_consents_some_late_a_few_withdrawn(tables):
    enrolled_on = {e["upn"]: e["enrolled_on"] for e in tables["enrolments"]}
    consents = tables["consents"]
    purposes = Counter(c["purpose"] for c in consents)
    assert purposes["support"] == purposes["partner_sharing"] == purposes["evidence"] == 300
    assert 0 < purposes["research"] < 300
    late = sum(c["given_on"] > enrolled_on[c["upn"]] for c in consents)
    assert 0.05 < late / len(consents) < 0.2
    withdrawn = {c["upn"] for c in consents if c["withdrawn_on"]}
    assert 0 < len(withdrawn) < 20
    ended = {e["upn"]: e for e in tables["enrolments"]}
    for upn in withdrawn:
        assert ended[upn]["end_reason"] == "Consent withdrawn"


def test_some_children_disengage(tables):
    by_child = defaultdict(list)
    for row in tables["registers"]:
        by_child[row["upn"]].append((row["session_date"], row["attended"] == "Y"))
    falling = 0
    for rows in by_child.values():
        rows.sort()
        half = len(rows) // 2
        if half >= 10:
            early = sum(a for _, a in rows[:half]) / half
            late = sum(a for _, a in rows[half:]) / (len(rows) - half)
            falling += late < early - 0.3
    assert 0.05 < falling / len(by_child) < 0.3


def test_nothing_is_dated_after_until(tmp_path):
    until = date(2025, 2, 1)
    generate_package(tmp_path, children=30, seed=2, until=until)
    for resource in COLUMNS:
        for row in read(tmp_path, resource):
            for column, value in row.items():
                if column in DATE_COLUMNS and column != "date_of_birth" and value:
                    assert value <= until.isoformat(), (resource, row)


def test_documents_are_the_spec_screening_rules_and_a_covering_contract(zone, tables):
    assert (zone / "screening.yaml").read_text() == SCREENING_YAML
    assert read_yaml(SCREENING_YAML, filename="screening.yaml")["min_risk_areas"] == 2
    contract = read_yaml((zone / "contracts" / "ZONE-1.yaml").read_text(), filename="ZONE-1.yaml")
    assert contract["cohorts"] == sorted({e["cohort"] for e in tables["enrolments"]})
    periods = contract["periods"]
    assert periods[0]["starts_on"] == contract["starts_on"]
    assert periods[-1]["ends_on"] == contract["ends_on"]
    for before, after in zip(periods, periods[1:], strict=False):
        next_day = date.fromisoformat(before["ends_on"]) + timedelta(days=1)
        assert after["starts_on"] == next_day.isoformat()
    dates = [r["session_date"] for r in tables["registers"]]
    dates += [e["enrolled_on"] for e in tables["enrolments"]]
    assert contract["starts_on"] <= min(dates) and max(dates) <= contract["ends_on"]
    for trigger in contract["triggers"]:
        assert sum(trigger["shares"].values()) == 1


@pytest.mark.django_db
def test_a_generated_zone_loads_cleanly_and_reloads_unchanged(tmp_path):
    generate_package(tmp_path, children=30, seed=9)
    first = load_package(actor=None, path=tmp_path)
    assert first.counts["enrolments"]["inserted"] == 30
    assert first.counts["registers"]["inserted"] > 1000
    second = load_package(actor=None, path=tmp_path)
    assert not second.changed


def test_generate_command_writes_the_package_and_counts_rows(tmp_path):
    out = io.StringIO()
    call_command("generate", str(tmp_path), "--children", "12", "--seed", "4", stdout=out)
    assert re.search(r"^enrolments\.csv +12$", out.getvalue(), re.MULTILINE)
    assert (tmp_path / "contracts" / "ZONE-1.yaml").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--children", "0"], "--children: must be at least 1"),
        (["--start", "2024-13-01"], "--start: not a date YYYY-MM-DD (2024-13-01)"),
    ],
)
def test_generate_command_refuses_bad_arguments(tmp_path, args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("generate", str(tmp_path), *args)
