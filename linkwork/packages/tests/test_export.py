"""Exporting: every resource sorted by key, and load → export → load → export is stable."""

from pathlib import Path

import pytest

from linkwork.core.upn import make_upn
from linkwork.packages.services import PackageInvalid, export_package, load_package
from linkwork.people.models import Enrolment
from linkwork.support.models import Partner

from .conftest import row_counts, wipe_loaded_rows

pytestmark = pytest.mark.django_db

A, B, C, D = (make_upn(f"30130000{n:04d}") for n in range(1, 5))

# A small package of every CSV resource, in the shape a generated zone has.
SMALL_ZONE = {
    "schools.csv": (
        "urn,name,phase,local_authority\n"
        "200002,Hillside Academy,secondary,Brent\n"
        "200001,Brookside Primary,primary,Ealing\n"
    ),
    "pupils.csv": (
        "upn,school_urn,given_name,family_name,date_of_birth,year_group,sex,fsm,sen,eal,"
        "statutory_status\n"
        f"{B},200001,Ola,Example,2016-03-04,3,,Y,K,N,none\n"
        f"{A},200001,Ines,Sample,2015-07-19,4,F,N,,,\n"
        f"{C},200002,Tom,Placeholder,,8,M,,E,Y,none\n"
        f'{D},200002,"Ana, Jo",Example,2012-01-31,9,X,Y,N,N,none\n'
    ),
    "partners.csv": "code,name\nSPORT,Sport\tfor Good \\o/\nMUSIC,Music Makers\n",
    "services.csv": (
        "code,partner_code,name,school_urn,outcome_areas\n"
        "MUSIC-TUE,MUSIC,Tuesday band,200002,confidence; relationships\n"
        "SPORT-FRI,SPORT,Friday football,200001,\n"
    ),
    "link_workers.csv": (
        "email,name,school_urns\n"
        "Kai.Link@Example.org,Kai Link,200001;200002\n"
        "lou.link@example.org,,200001\n"
    ),
    "enrolments.csv": (
        "upn,cohort,enrolled_on,link_worker_email,ended_on,end_reason\n"
        f"{A},2025,2025-09-15,kai.link@example.org,,\n"
        f'{B},2025,2025-09-16,lou.link@example.org,2026-02-01,"moved school,\nthen back"\n'
        f"{C},2024,2024-10-01,,,\n"
    ),
    "consents.csv": (
        "upn,purpose,given_by,given_on,withdrawn_on\n"
        f"{A},support,parent,2025-09-10,\n"
        f"{A},partner_sharing,carer,2025-09-10,2026-01-05\n"
        f"{C},research,child,2024-09-20,\n"
    ),
    "allocations.csv": (
        "upn,service_code,start_date,end_date\n"
        f"{A},SPORT-FRI,2025-09-19,\n"
        f"{C},MUSIC-TUE,2024-10-01,2025-07-15\n"
    ),
    "registers.csv": (
        "service_code,session_date,upn,attended,engaged\n"
        f"SPORT-FRI,2025-09-26,{A},Y,Y\n"
        f"SPORT-FRI,2025-09-19,{A},Y,\n"
        f"MUSIC-TUE,2024-10-08,{C},N,\n"
        f"MUSIC-TUE,2024-10-15,{C},Y,N\n"
    ),
    "interactions.csv": (
        "upn,occurred_on,minutes,kind,topics\n"
        f"{A},2025-09-22,30,one_to_one,friendships;school work\n"
        f"{A},2025-09-22,15,family,\n"
        f"{B},2025-10-01,,school,attendance\n"
    ),
    "school_attendance.csv": (
        "upn,period_start,period_end,possible_sessions,present_sessions\n"
        f"{A},2025-09-01,2025-12-19,140,121\n"
        f"{C},2024-09-01,2024-12-20,142,142\n"
    ),
    "attainment.csv": (
        "upn,assessed_on,subject,value,expected\n"
        f"{A},2025-09-10,reading,97.5,100\n"
        f"{A},2025-09-10,maths,101.250,100.0\n"
        f"{C},2024-09-10,english,-1.5,0\n"
    ),
    "scores.csv": (
        "upn,administered_on,instrument,scale,respondent,score\n"
        f"{A},2025-09-12,SDQ,emotional,self,6\n"
        f"{A},2025-09-12,SDQ,peer,parent,3.5\n"
        f"{C},2024-09-12,SCWBS,total,self,41\n"
    ),
    "responses.csv": (
        "upn,administered_on,instrument,respondent,item,value\n"
        f"{A},2025-09-12,SCWBS,self,scwbs01,4\n"
        f"{A},2025-09-12,SCWBS,self,scwbs02,3\n"
        f"{C},2024-09-12,SCWBS,self,scwbs01,5\n"
    ),
}


def write_package(root: Path, files: dict[str, str]) -> Path:
    root.mkdir()
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def package_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_load_export_load_export_gives_identical_files(tmp_path):
    source = write_package(tmp_path / "source", SMALL_ZONE)
    load_package(actor=None, path=source)
    first = tmp_path / "first"
    export_package(actor=None, path=first)

    again = load_package(actor=None, path=first)
    assert not again.changed  # the export says exactly what is loaded

    wipe_loaded_rows()
    assert sum(row_counts().values()) == row_counts()["User"]
    load_package(actor=None, path=first)
    second = tmp_path / "second"
    export_package(actor=None, path=second, chunk_size=2)

    assert package_bytes(second) == package_bytes(first)
    assert Partner.objects.get(code="SPORT").name == "Sport\tfor Good \\o/"
    assert Enrolment.objects.get(pupil__upn=B).end_reason == "moved school,\nthen back"


def test_export_sorts_by_key_and_writes_canonical_values(tmp_path):
    load_package(actor=None, path=write_package(tmp_path / "source", SMALL_ZONE))
    out = tmp_path / "out"
    report = export_package(actor=None, path=out)
    assert report.rows["registers"] == 4
    assert (out / "registers.csv").read_text().splitlines() == [
        "service_code,session_date,upn,attended,engaged",
        f"MUSIC-TUE,2024-10-08,{C},N,",
        f"MUSIC-TUE,2024-10-15,{C},Y,N",
        f"SPORT-FRI,2025-09-19,{A},Y,",
        f"SPORT-FRI,2025-09-26,{A},Y,Y",
    ]
    assert (out / "attainment.csv").read_text().splitlines()[1:] == [
        f"{A},2025-09-10,maths,101.25,100",
        f"{A},2025-09-10,reading,97.5,100",
        f"{C},2024-09-10,english,-1.5,0",
    ]
    assert (out / "link_workers.csv").read_text().splitlines()[1:] == [
        "kai.link@example.org,Kai Link,200001;200002",
        "lou.link@example.org,,200001",
    ]
    assert (out / "services.csv").read_text().splitlines()[1] == (
        "MUSIC-TUE,MUSIC,Tuesday band,200002,confidence;relationships"
    )
    pupils = (out / "pupils.csv").read_text().splitlines()[1:]
    assert pupils == sorted(pupils)
    assert f"{A},200001,Ines,Sample,2015-07-19,4,F,N,,,none" in pupils
    assert f'{D},200002,"Ana, Jo",Example,2012-01-31,9,X,Y,N,N,none' in pupils
    assert (out / "datapackage.json").is_file()


def test_an_empty_resource_is_written_as_its_header(tmp_path):
    out = tmp_path / "out"
    export_package(actor=None, path=out)
    assert (out / "registers.csv").read_text() == "service_code,session_date,upn,attended,engaged\n"


def test_export_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "old.csv").write_text("x\n")
    with pytest.raises(PackageInvalid) as refused:
        export_package(actor=None, path=tmp_path)
    assert refused.value.errors == [f"{tmp_path}: not an empty folder; export writes a new package"]
