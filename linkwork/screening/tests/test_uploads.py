import io

import pytest
from django.urls import reverse
from openpyxl import Workbook

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
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("screening:upload_load", args=[upload.pk]))
    upload.refresh_from_db()
    assert upload.status == "loaded"
    assert SchoolAttendance.objects.get(pupil=pupil).present_sessions == 171


def test_not_a_spreadsheet_is_refused(client, manager, media, django_capture_on_commit_callbacks):
    client.force_login(manager)
    response = post_file(
        client, "pupils", "pupils.pdf", b"%PDF", django_capture_on_commit_callbacks
    )
    assert response.status_code == 400 and b"upload a .csv or .xlsx file" in response.content
    assert not Upload.objects.exists()
