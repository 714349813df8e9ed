"""Loading zone data packages: the worked example, corrections, and refused input."""

import pytest
from django.contrib.auth.hashers import is_password_usable

from linkwork.accounts.models import User
from linkwork.audit.models import AuditEntry
from linkwork.core.upn import make_upn
from linkwork.measures.models import Score
from linkwork.packages.services import PackageInvalid, load_package
from linkwork.support.models import RegisterEntry

from .conftest import row_counts

pytestmark = pytest.mark.django_db

EXPECTED_FIRST_LOAD = {
    "areas": 1,
    "schools": 1,
    "pupils": 3,
    "partners": 2,
    "services": 2,
    "link_workers": 1,
    "cohorts": 1,
    "enrolments": 3,
    "consents": 9,
    "allocations": 3,
    "registers": 34,
    "attainment": 4,
    "administrations": 8,
    "scores": 8,
    "contracts": 1,
}


def test_worked_example_loads(example_package):
    report = load_package(actor=None, path=example_package)
    assert {name: c["inserted"] for name, c in report.counts.items()} == EXPECTED_FIRST_LOAD
    assert RegisterEntry.objects.count() == 34
    worker = User.objects.get(email="sam.link@example.org")
    assert worker.role == "link_worker"
    assert not is_password_usable(worker.password)
    assert [s.urn for s in worker.schools.all()] == ["100001"]
    assert worker.caseload.count() == 3


def test_loading_the_same_package_again_changes_nothing(example_package):
    load_package(actor=None, path=example_package)
    before = row_counts()
    report = load_package(actor=None, path=example_package)
    assert not report.changed
    assert {name: c["unchanged"] for name, c in report.counts.items()} == EXPECTED_FIRST_LOAD
    assert row_counts() == before


def test_a_load_that_changes_registers_refreshes_flags_once_committed(
    example_package, django_capture_on_commit_callbacks, settings
):
    from linkwork.engagement.models import Flag
    from linkwork.engagement.tasks import refresh_all_flags_task

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    with django_capture_on_commit_callbacks() as callbacks:
        load_package(actor=None, path=example_package, dry_run=True)
    assert callbacks == []  # nothing written, nothing to refresh
    with django_capture_on_commit_callbacks() as callbacks:
        load_package(actor=None, path=example_package)
    assert callbacks == [refresh_all_flags_task.enqueue]
    # The worked example has no Link Worker interactions and a child who missed their
    # last two sessions: the shipped rules flag both.
    callbacks[0]()
    assert Flag.objects.filter(cleared_at__isnull=True).exists()
    with django_capture_on_commit_callbacks() as callbacks:
        load_package(actor=None, path=example_package)
    assert callbacks == []  # unchanged: nothing to refresh


def test_a_corrected_register_corrects_that_row(example_package, corrected_registers, tmp_path):
    load_package(actor=None, path=example_package)
    correction = tmp_path / "correction"
    correction.mkdir()
    (correction / "registers.csv").write_bytes(corrected_registers.read_bytes())
    report = load_package(actor=None, path=correction)
    assert report.counts == {"registers": {"inserted": 0, "updated": 1, "unchanged": 33}}
    entry = RegisterEntry.objects.get(pupil__upn="R201300024002", session_date="2024-10-14")
    assert (entry.attended, entry.engaged) == (False, None)
    assert RegisterEntry.objects.count() == 34


def test_one_audit_entry_per_load(example_package):
    load_package(actor=None, path=example_package)
    entry = AuditEntry.objects.filter(action="package.loaded").get()
    assert entry.changes["path"] == str(example_package)
    assert entry.changes["counts"]["registers"] == {"inserted": 34, "updated": 0, "unchanged": 0}


def test_a_dry_run_counts_but_writes_nothing(example_package):
    before = row_counts()
    report = load_package(actor=None, path=example_package, dry_run=True)
    assert report.counts["registers"]["inserted"] == 34
    assert row_counts() == before
    assert not AuditEntry.objects.filter(action="package.loaded").exists()


def test_a_byte_order_mark_is_accepted(example_package):
    pupils = example_package / "pupils.csv"
    pupils.write_bytes(b"\xef\xbb\xbf" + pupils.read_bytes())
    load_package(actor=None, path=example_package)
    assert row_counts()["Pupil"] == 3


# Refused input ------------------------------------------------------------------------

UNKNOWN_UPN = make_upn("201300024099")
REGISTERS_END = 36  # the first line after the example's 35


def append(filename, line):
    def change(package):
        with (package / filename).open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    return change


def replace(filename, old, new):
    def change(package):
        path = package / filename
        data = path.read_bytes()
        old_bytes = old if isinstance(old, bytes) else old.encode()
        new_bytes = new if isinstance(new, bytes) else new.encode()
        assert old_bytes in data
        path.write_bytes(data.replace(old_bytes, new_bytes, 1))

    return change


def add_file(filename, content):
    def change(package):
        (package / filename).write_text(content, encoding="utf-8")

    return change


BAD_INPUT = {
    "wrong UPN check letter": (
        replace("pupils.csv", "C201300024001,100001", "A201300024001,100001"),
        "pupils.csv:2: upn: wrong check letter (A201300024001)",
    ),
    "unknown column": (
        replace("pupils.csv", "statutory_status", "statutory"),
        "pupils.csv:1: statutory: unknown column",
    ),
    "missing column": (
        replace("pupils.csv", "statutory_status", "statutory"),
        "pupils.csv:1: statutory_status: missing column",
    ),
    "duplicate key": (
        append("registers.csv", "ARTS-MON,2024-10-07,C201300024001,N,"),
        f"registers.csv:{REGISTERS_END}: service_code+session_date+upn: duplicate key, "
        "first on line 2 (ARTS-MON,2024-10-07,C201300024001)",
    ),
    "unknown pupil": (
        append("registers.csv", f"ARTS-MON,2024-10-07,{UNKNOWN_UPN},Y,Y"),
        f"registers.csv:{REGISTERS_END}: upn: no such pupil in pupils.csv or the database "
        f"({UNKNOWN_UPN})",
    ),
    "unknown school": (
        replace("pupils.csv", "C201300024001,100001", "C201300024001,100009"),
        "pupils.csv:2: school_urn: no such school in the package or the database (100009)",
    ),
    "unknown service": (
        replace("allocations.csv", "C201300024001,ARTS-MON", "C201300024001,ARTS-TUE"),
        "allocations.csv:2: service_code: no such service in the package or the database "
        "(ARTS-TUE)",
    ),
    "unknown partner": (
        replace("services.csv", "ARTS-MON,ARTS,", "ARTS-MON,DRAMA,"),
        "services.csv:2: partner_code: no such partner in the package or the database (DRAMA)",
    ),
    "unknown Link Worker": (
        replace("enrolments.csv", "2024-09-10,sam.link", "2024-09-10,nobody.link"),
        "enrolments.csv:2: link_worker_email: no such Link Worker in the package or the "
        "database (nobody.link@example.org)",
    ),
    "register for a child not allocated on that date": (
        append("registers.csv", "ARTS-MON,2024-09-30,R201300024002,Y,Y"),
        f"registers.csv:{REGISTERS_END}: upn: not allocated to ARTS-MON on 2024-09-30 "
        "(R201300024002)",
    ),
    "register for a child not allocated to that service": (
        append("registers.csv", "TUTOR-WED,2024-10-09,C201300024001,Y,Y"),
        f"registers.csv:{REGISTERS_END}: upn: not allocated to TUTOR-WED on 2024-10-09 "
        "(C201300024001)",
    ),
    "engaged when not attended": (
        append("registers.csv", "ARTS-MON,2024-12-02,C201300024001,N,Y"),
        f"registers.csv:{REGISTERS_END}: engaged: Y, but attended is N: "
        "engaged only when attended (Y)",
    ),
    "date not YYYY-MM-DD": (
        append("registers.csv", "ARTS-MON,02/12/2024,C201300024001,Y,Y"),
        f"registers.csv:{REGISTERS_END}: session_date: not a date in YYYY-MM-DD form (02/12/2024)",
    ),
    "date that does not exist": (
        replace("pupils.csv", "2015-02-11", "2015-02-30"),
        "pupils.csv:2: date_of_birth: not a real date (2015-02-30)",
    ),
    "not Y or N": (
        append("registers.csv", "ARTS-MON,2024-12-02,C201300024001,Yes,"),
        f"registers.csv:{REGISTERS_END}: attended: Y or N (Yes)",
    ),
    "required value blank": (
        replace("pupils.csv", "Amara", ""),
        "pupils.csv:2: given_name: required",
    ),
    "six-digit URN": (
        replace("schools.csv", "100001,Riverside", "10001,Riverside"),
        "schools.csv:2: urn: a URN has 6 digits (10001)",
    ),
    "dates out of order": (
        replace("allocations.csv", "2024-09-16,", "2024-09-16,2024-09-01"),
        "allocations.csv:2: end_date: before start_date 2024-09-16 (2024-09-01)",
    ),
    "Windows-1252 from Excel": (
        replace("pupils.csv", b"Ben", "Zoë".encode("cp1252")),
        "pupils.csv:3: file is Windows-1252 (Excel); save as CSV UTF-8 (byte 0xEB)",
    ),
    "not UTF-8 at all": (
        replace("partners.csv", b"Numbers", b"\x81\x8dNumbers"),
        "partners.csv:3: not UTF-8; save as CSV UTF-8 (byte 0x81)",
    ),
    "NUL byte": (
        replace("partners.csv", b"Riverside Arts", b"Riverside\x00Arts"),
        "partners.csv:2: name: contains a NUL byte (Riverside\\x00Arts Trust)",
    ),
    "control character": (
        replace("partners.csv", b"Riverside Arts", b"Riverside\x07Arts"),
        "partners.csv:2: name: contains a control character (U+0007) (Riverside\\x07Arts Trust)",
    ),
    "ragged row": (
        append("registers.csv", "ARTS-MON,2024-12-02,C201300024001,Y"),
        f"registers.csv:{REGISTERS_END}: 4 values but the header has 5 columns",
    ),
    "unknown file": (
        add_file("pupil.csv", "upn\n"),
        "pupil.csv:1: not a file of a zone data package",
    ),
    "empty file": (
        add_file("interactions.csv", ""),
        "interactions.csv:1: empty file: a header row is needed",
    ),
    "broken quoting": (
        append("registers.csv", 'ARTS-MON,"2024-12-02"x,C201300024001,Y,Y'),
        f"registers.csv:{REGISTERS_END}: not valid CSV: ',' expected after '\"'",
    ),
    "present more than possible": (
        add_file(
            "school_attendance.csv",
            "upn,period_start,period_end,possible_sessions,present_sessions\n"
            "C201300024001,2024-09-01,2024-12-20,140,141\n",
        ),
        "school_attendance.csv:2: present_sessions: more than possible_sessions 140 (141)",
    ),
    "score outside its scale's range": (
        replace("scores.csv", "SDQ,emotional,self,7", "SDQ,emotional,self,11"),
        "scores.csv:2: score: out of range 0–10 (11)",
    ),
    "scale the instrument does not have": (
        replace("scores.csv", "SDQ,emotional,self,7", "SDQ,anxiety,self,7"),
        "scores.csv:2: scale: not a scale of SDQ (anxiety)",
    ),
    "item the instrument does not have": (
        add_file(
            "responses.csv",
            "upn,administered_on,instrument,respondent,item,value\n"
            "C201300024001,2024-09-05,SDQ,self,sdq99,1\n",
        ),
        "responses.csv:2: item: not an item of SDQ (sdq99)",
    ),
    "item answer out of range": (
        add_file(
            "responses.csv",
            "upn,administered_on,instrument,respondent,item,value\n"
            "C201300024001,2024-09-05,SDQ,self,sdq03,7\n",
        ),
        "responses.csv:2: value: out of range 0–2 (7)",
    ),
    "too many decimal places": (
        replace("attainment.csv", "95,100", "95.0001,100"),
        "attainment.csv:2: value: more than 3 decimal places (95.0001)",
    ),
}


@pytest.mark.parametrize("change, message", BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_is_refused_with_a_located_message_and_nothing_written(
    example_package, change, message
):
    change(example_package)
    before = row_counts()
    with pytest.raises(PackageInvalid) as refused:
        load_package(actor=None, path=example_package)
    assert message in refused.value.errors
    assert row_counts() == before
    assert not AuditEntry.objects.filter(action="package.loaded").exists()


@pytest.mark.parametrize("change, message", BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_does_not_touch_what_is_already_loaded(
    example_package, tmp_path, change, message
):
    load_package(actor=None, path=example_package)
    before = row_counts()
    change(example_package)
    with pytest.raises(PackageInvalid) as refused:
        load_package(actor=None, path=example_package)
    assert message in refused.value.errors
    assert row_counts() == before


def test_every_problem_is_reported_in_file_and_line_order(example_package):
    append("registers.csv", "ARTS-MON,2024-12-02,C201300024001,N,Y")(example_package)
    append("registers.csv", "ARTS-MON,2024-10-07,C201300024001,N,")(example_package)
    replace("schools.csv", "primary", "primary school")(example_package)
    with pytest.raises(PackageInvalid) as refused:
        load_package(actor=None, path=example_package)
    assert refused.value.errors == [
        "schools.csv:2: phase: one of nursery, primary, secondary, all-through, special "
        "(primary school)",
        "registers.csv:36: engaged: Y, but attended is N: engaged only when attended (Y)",
        "registers.csv:37: service_code+session_date+upn: duplicate key, first on line 2 "
        "(ARTS-MON,2024-10-07,C201300024001)",
    ]
    assert refused.value.count == 3


def test_problems_beyond_the_limit_are_counted(example_package):
    for day in range(1, 10):
        append("registers.csv", f"ARTS-MON,2024-12-0{day},{UNKNOWN_UPN},Y,Y")(example_package)
    with pytest.raises(PackageInvalid) as refused:
        load_package(actor=None, path=example_package, problem_limit=3)
    assert len(refused.value.errors) == 4
    assert refused.value.errors[-1] == "registers.csv: 6 more problems not listed"
    assert refused.value.count == 9


def test_a_user_with_another_role_cannot_become_a_link_worker(example_package, manager):
    replace("link_workers.csv", "sam.link@example.org", "manager@example.org")(example_package)
    replace("enrolments.csv", "sam.link@", "manager@")(example_package)
    with pytest.raises(PackageInvalid) as refused:
        load_package(actor=None, path=example_package)
    assert (
        "link_workers.csv:2: email: belongs to a user whose role is manager (manager@example.org)"
        in refused.value.errors
    )


def test_references_may_point_at_rows_already_in_the_database(example_package, tmp_path):
    load_package(actor=None, path=example_package)
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "registers.csv").write_text(
        "service_code,session_date,upn,attended,engaged\nARTS-MON,2025-06-23,C201300024001,Y,N\n",
        encoding="utf-8",
    )
    report = load_package(actor=None, path=extra)
    assert report.counts["registers"]["inserted"] == 1


def test_a_path_that_is_not_a_folder_is_refused(tmp_path):
    with pytest.raises(PackageInvalid) as refused:
        load_package(actor=None, path=tmp_path / "missing")
    assert refused.value.errors == [f"{tmp_path / 'missing'}: not a folder"]


def test_responses_are_scored_by_their_instrument_and_given_scores_kept(example_package):
    lines = ["upn,administered_on,instrument,respondent,item,value"]
    lines += [f"C201300024001,2024-10-01,SCWBS,self,scwbs{n:02d},4" for n in range(1, 13)]
    lines += [
        f"C201300024001,2024-09-05,SDQ,self,{item},2"
        for item in ("sdq03", "sdq08", "sdq13", "sdq16", "sdq24")
    ]
    (example_package / "responses.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    report = load_package(actor=None, path=example_package)

    assert report.counts["responses"]["inserted"] == 17
    assert report.counts["scores_from_responses"] == {"inserted": 1, "updated": 0, "unchanged": 0}
    scores = Score.objects.filter(administration__pupil__upn="C201300024001")
    assert scores.get(administration__instrument_code="SCWBS", scale="total").score == 48
    # scores.csv gives the emotional score of that SDQ administration: it is kept as given
    given = scores.get(administration__administered_on="2024-09-05", scale="emotional")
    assert given.score == 7
    again = load_package(actor=None, path=example_package)
    assert not again.changed


def test_a_reload_rewrites_no_row(example_package):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("row versions (xmin) are a PostgreSQL notion")

    def versions():
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, xmin::text FROM support_registerentry ORDER BY id")
            return cursor.fetchall()

    load_package(actor=None, path=example_package)
    before = versions()
    load_package(actor=None, path=example_package)
    assert versions() == before
