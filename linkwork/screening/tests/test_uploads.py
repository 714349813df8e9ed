import datetime as dt
import io

import pytest
from django.urls import reverse
from openpyxl import Workbook

from linkwork.audit.models import AuditEntry
from linkwork.core.upn import make_upn
from linkwork.people.models import Pupil, SchoolAttendance
from linkwork.screening.models import Upload

pytestmark = pytest.mark.django_db

HEADER = (
    "upn,school_urn,given_name,family_name,date_of_birth,year_group,sex,fsm,sen,eal,"
    "statutory_status\n"
)


@pytest.fixture(autouse=True)
def _tasks_run_at_once(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def post_file(client, resource, name, content, capture):
    from django.core.files.uploadedfile import SimpleUploadedFile

    with capture(execute=True):
        return client.post(
            reverse("screening:upload"),
            {
                "resource": resource,
                "file": SimpleUploadedFile(name, content),
            },
        )


def test_bad_rows_are_listed_with_lines_and_nothing_written(
    client, manager, school, media, django_capture_on_commit_callbacks
):
    good = make_upn("801000000101")
    content = (
        HEADER + f"{good},{school.urn},Amara,Example,2015-03-01,5,F,Y,N,N,none\n"
        f"X01000000102,{school.urn},Bea,Sample,2015-13-01,5,F,Y,N,N,none\n"
    ).encode()
    client.force_login(manager)
    response = post_file(
        client, "pupils", "pupils.csv", content, django_capture_on_commit_callbacks
    )
    upload = Upload.objects.get()
    assert response.status_code == 302 and upload.status == "invalid"
    assert any(e.startswith("pupils.csv:3: upn:") for e in upload.errors)
    assert any(e.startswith("pupils.csv:3: date_of_birth:") for e in upload.errors)
    assert not Pupil.objects.exists()
    page = client.get(reverse("screening:upload_detail", args=[upload.pk])).content.decode()
    assert "pupils.csv:3: upn:" in page and "nothing was written" in page


def test_xlsx_checked_then_loaded_in_the_background(
    client, manager, make_pupil, media, django_capture_on_commit_callbacks
):
    pupil = make_pupil()
    book = Workbook()
    sheet = book.active
    sheet.append(["upn", "period_start", "period_end", "possible_sessions", "present_sessions"])
    sheet.append([pupil.upn, "2026-04-20", "2026-07-22", 190, 171])
    data = io.BytesIO()
    book.save(data)
    client.force_login(manager)
    post_file(
        client,
        "school_attendance",
        "attendance.xlsx",
        data.getvalue(),
        django_capture_on_commit_callbacks,
    )
    upload = Upload.objects.get()
    assert upload.status == "checked", upload.errors
    assert not SchoolAttendance.objects.exists()  # the check was a dry run
    status = client.get(reverse("screening:upload_status", args=[upload.pk]))
    assert b"Ready to load" in status.content and b"<html" not in status.content
    assert b"No problems found in 1 row (dry run)" in status.content
    assert b"Load 1 row</button>" in status.content
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("screening:upload_load", args=[upload.pk]))
    upload.refresh_from_db()
    assert upload.status == "loaded"
    assert SchoolAttendance.objects.get(pupil=pupil).present_sessions == 171
    status = client.get(reverse("screening:upload_status", args=[upload.pk]))
    assert b"Loaded 1 row." in status.content


def test_a_pupils_upload_writes_each_childs_history(
    client, manager, make_pupil, school, media, django_capture_on_commit_callbacks
):
    """A pupil the upload renames gets an entry in their history saying what changed; a
    new pupil, that they were added; a pupil sent unchanged, nothing."""

    renamed = make_pupil(given_name="Amara", family_name="Example", year_group="5")
    same = make_pupil(given_name="Bea", family_name="Sample", year_group="5")
    Pupil.objects.update(date_of_birth=dt.date(2015, 3, 1), fsm=True, sen="N", eal=False, sex="F")
    new = make_upn("801000000155")
    content = HEADER + "".join(
        f"{upn},{school.urn},{given},{family},2015-03-01,5,F,Y,N,N,none\n"
        for upn, given, family in (
            (renamed.upn, "Amira", "Example"),
            (same.upn, "Bea", "Sample"),
            (new, "Cal", "Demo"),
        )
    )
    client.force_login(manager)
    post_file(client, "pupils", "pupils.csv", content.encode(), django_capture_on_commit_callbacks)
    upload = Upload.objects.get()
    assert upload.status == "checked", upload.errors
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("screening:upload_load", args=[upload.pk]))
    changed = AuditEntry.objects.get(action="pupil.changed")
    assert changed.pupil_id == renamed.pk and changed.actor == manager
    assert changed.changes == {"given_name": ["Amara", "Amira"]}
    assert changed.summary == (
        "Name changed from Amara Example to Amira Example by the upload pupils.csv"
    )
    assert AuditEntry.objects.get(action="pupil.added").pupil == Pupil.objects.get(upn=new)
    assert not AuditEntry.objects.filter(pupil=same, action__startswith="pupil.").exists()


def test_a_pupils_upload_says_in_words_what_it_changed(
    client, manager, make_pupil, school, other_school, media, django_capture_on_commit_callbacks
):
    moved = make_pupil(given_name="Amara", family_name="Example", year_group="5")
    Pupil.objects.update(date_of_birth=dt.date(2015, 3, 1), fsm=False, sen="N", eal=False, sex="F")
    content = HEADER + (f"{moved.upn},{other_school.urn},Amara,Example,2015-03-01,6,F,Y,K,N,CP\n")
    client.force_login(manager)
    post_file(client, "pupils", "autumn.csv", content.encode(), django_capture_on_commit_callbacks)
    upload = Upload.objects.get()
    assert upload.status == "checked", upload.errors
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("screening:upload_load", args=[upload.pk]))
    changed = AuditEntry.objects.get(action="pupil.changed", pupil=moved)
    assert changed.summary == (
        "School Riverside Primary → Hillside Primary; year group 5 → 6; "
        "free school meals: No → Yes; special educational needs: None → SEN support; "
        "statutory status: none → on a child protection plan by the upload autumn.csv"
    )
    assert changed.changes == {
        "fsm": [False, True],
        "school_id": [school.pk, other_school.pk],
        "sen": ["N", "K"],
        "statutory_status": ["none", "CP"],
        "year_group": ["5", "6"],
    }


def test_problems_name_the_file_uploaded(
    client, manager, school, media, django_capture_on_commit_callbacks
):
    content = HEADER + f"X01000000102,{school.urn},Bea,Sample,2015-03-01,5,F,Y,N,N,none\n"
    client.force_login(manager)
    post_file(
        client, "pupils", "Autumn term.csv", content.encode(), django_capture_on_commit_callbacks
    )
    errors = Upload.objects.get().errors
    assert errors and all(error.startswith("Autumn term.csv:2: ") for error in errors)


def test_not_a_spreadsheet_is_refused(client, manager, media, django_capture_on_commit_callbacks):
    client.force_login(manager)
    response = post_file(
        client, "pupils", "pupils.pdf", b"%PDF", django_capture_on_commit_callbacks
    )
    assert response.status_code == 400 and b"upload a .csv or .xlsx file" in response.content
    assert not Upload.objects.exists()


# The upload's own checks: dates and rows --------------------------------------------


@pytest.fixture
def today(time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC))
    return dt.date(2026, 11, 23)


def checked(client, manager, resource, name, content, capture):
    client.force_login(manager)
    post_file(client, resource, name, content.encode(), capture)
    return Upload.objects.get()


def test_a_score_dated_after_the_upload_is_refused(
    client, manager, make_pupil, media, today, django_capture_on_commit_callbacks
):
    pupil = make_pupil()
    content = (
        "upn,administered_on,instrument,scale,respondent,score\n"
        f"{pupil.upn},2026-09-24,SDQ,emotional,self,6\n"
        f"{pupil.upn},2031-09-24,SDQ,peer,self,4\n"
    )
    upload = checked(
        client, manager, "scores", "scores.csv", content, django_capture_on_commit_callbacks
    )
    assert upload.status == "invalid"
    assert upload.errors == ["scores.csv:3: administered_on: in the future (2031-09-24)"]
    assert upload.error_count == 1


@pytest.mark.parametrize(
    ("resource", "filename", "header", "row", "error"),
    [
        (
            "school_attendance",
            "school_attendance.csv",
            "upn,period_start,period_end,possible_sessions,present_sessions",
            "{upn},2026-09-01,2026-12-18,140,130",
            "school_attendance.csv:2: period_end: in the future (2026-12-18)",
        ),
        (
            "school_attendance",
            "school_attendance.csv",
            "upn,period_start,period_end,possible_sessions,present_sessions",
            "{upn},2027-01-05,2026-11-20,140,130",
            "school_attendance.csv:2: period_start: in the future (2027-01-05)",
        ),
        (
            "attainment",
            "attainment.csv",
            "upn,assessed_on,subject,value,expected",
            "{upn},2026-11-24,reading,97,100",
            "attainment.csv:2: assessed_on: in the future (2026-11-24)",
        ),
        (
            "responses",
            "responses.csv",
            "upn,administered_on,instrument,respondent,item,value",
            "{upn},2027-03-01,SDQ,self,q1,2",
            "responses.csv:2: administered_on: in the future (2027-03-01)",
        ),
    ],
)
def test_event_dates_after_the_upload_are_refused(
    client,
    manager,
    make_pupil,
    media,
    today,
    django_capture_on_commit_callbacks,
    resource,
    filename,
    header,
    row,
    error,
):
    content = f"{header}\n{row.format(upn=make_pupil().upn)}\n"
    upload = checked(
        client, manager, resource, filename, content, django_capture_on_commit_callbacks
    )
    assert upload.status == "invalid" and error in upload.errors


@pytest.mark.parametrize(
    ("born", "error"),
    [
        ("2029-05-01", "date_of_birth: in the future (2029-05-01)"),
        ("2024-11-24", "date_of_birth: under 2 years old on the day of the upload (2024-11-24)"),
        ("2001-11-22", "date_of_birth: over 25 years old on the day of the upload (2001-11-22)"),
    ],
)
def test_a_date_of_birth_not_a_school_child_s_is_refused(
    client, manager, school, media, today, django_capture_on_commit_callbacks, born, error
):
    upn = make_upn("801000000101")
    content = HEADER + f"{upn},{school.urn},Amara,Example,{born},N1,F,Y,N,N,none\n"
    upload = checked(
        client, manager, "pupils", "pupils.csv", content, django_capture_on_commit_callbacks
    )
    assert upload.status == "invalid"
    assert upload.errors == [f"pupils.csv:2: {error}"]
    assert not Pupil.objects.exists()


@pytest.mark.parametrize("born", ["2024-11-23", "2001-11-23", "2015-03-01"])
def test_a_school_child_s_date_of_birth_is_taken(
    client, manager, school, media, today, django_capture_on_commit_callbacks, born
):
    upn = make_upn("801000000101")
    content = HEADER + f"{upn},{school.urn},Amara,Example,{born},N1,F,Y,N,N,none\n"
    upload = checked(
        client, manager, "pupils", "pupils.csv", content, django_capture_on_commit_callbacks
    )
    assert upload.status == "checked", upload.errors


def test_date_problems_are_listed_with_the_others_in_line_order(
    client, manager, school, media, today, django_capture_on_commit_callbacks
):
    content = (
        HEADER
        + f"{make_upn('801000000101')},{school.urn},Amara,Example,2029-01-01,5,F,Y,N,N,none\n"
        f"X01000000102,{school.urn},Bea,Sample,2015-01-01,5,F,Y,N,N,none\n"
        f"{make_upn('801000000103')},{school.urn},Cal,Sample,2031-02-03,5,F,Y,N,N,none\n"
    )
    upload = checked(
        client, manager, "pupils", "pupils.csv", content, django_capture_on_commit_callbacks
    )
    lines = [error.split(":")[1] for error in upload.errors]
    assert lines == sorted(lines, key=int) and set(lines) == {"2", "3", "4"}
    assert "pupils.csv:2: date_of_birth: in the future (2029-01-01)" in upload.errors
    assert "pupils.csv:4: date_of_birth: in the future (2031-02-03)" in upload.errors
    assert upload.error_count == len(upload.errors)
    page = client.get(reverse("screening:upload_detail", args=[upload.pk])).content.decode()
    assert "pupils.csv:4: date_of_birth: in the future (2031-02-03)" in page


@pytest.mark.parametrize("blank_lines", ["", "\n\n"])
def test_a_header_without_rows_is_refused(
    client, manager, media, today, django_capture_on_commit_callbacks, blank_lines
):
    upload = checked(
        client,
        manager,
        "pupils",
        "pupils_header.csv",
        HEADER + blank_lines,
        django_capture_on_commit_callbacks,
    )
    assert upload.status == "invalid"
    assert upload.errors == ["pupils_header.csv:1: the file has a header but no rows"]
    page = client.get(reverse("screening:upload_detail", args=[upload.pk])).content.decode()
    assert "Ready to load" not in page and "1 problem;" in page
    assert "pupils_header.csv:1: the file has a header but no rows" in page
    entry = AuditEntry.objects.get(action="upload.invalid")
    assert entry.summary == "pupils_header.csv: Problems found, 1 problem"


def test_a_workbook_with_only_a_header_is_refused(
    client, manager, media, today, django_capture_on_commit_callbacks
):
    book = Workbook()
    book.active.append(
        ["upn", "period_start", "period_end", "possible_sessions", "present_sessions"]
    )
    data = io.BytesIO()
    book.save(data)
    client.force_login(manager)
    post_file(
        client,
        "school_attendance",
        "attendance.xlsx",
        data.getvalue(),
        django_capture_on_commit_callbacks,
    )
    assert Upload.objects.get().errors == ["attendance.xlsx:1: the file has a header but no rows"]
