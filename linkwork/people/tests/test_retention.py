"""The retention schedule: who is due, erasing them, and uploaded files past their time."""

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from linkwork.audit.models import AuditEntry
from linkwork.people.models import (
    Attainment,
    Consent,
    Enrolment,
    Erasure,
    ErasureGrounds,
    Pupil,
    SchoolAttendance,
)
from linkwork.people.retention import (
    ENROLMENT_ENDED,
    NEVER_ENROLLED,
    Schedule,
    due_children,
    due_sample,
    expired_uploads,
    months_before,
)
from linkwork.people.services import apply_retention
from linkwork.screening.models import Upload

TODAY = dt.date(2026, 11, 20)
SCHEDULE = Schedule(not_enrolled_months=18, after_enrolment_years=3, uploads_days=30)
RECEIVED_LONG_AGO = dt.date(2024, 1, 10)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2026, 11, 20), 18, dt.date(2025, 5, 20)),
        (dt.date(2026, 3, 31), 1, dt.date(2026, 2, 28)),
        (dt.date(2024, 3, 31), 1, dt.date(2024, 2, 29)),
        (dt.date(2026, 1, 15), 13, dt.date(2024, 12, 15)),
        (dt.date(2026, 5, 31), 1, dt.date(2026, 4, 30)),
    ],
)
def test_months_before(day, months, expected):
    assert months_before(day, months) == expected


def _attendance(pupil, end: dt.date):
    SchoolAttendance.objects.create(
        pupil=pupil,
        period_start=end - dt.timedelta(days=60),
        period_end=end,
        possible_sessions=100,
        present_sessions=90,
    )


@pytest.fixture
def zone(make_pupil, cohort):
    """One pupil or child for each case the schedule must tell apart."""
    pupils = {
        name: make_pupil()
        for name in (
            "old_data",
            "recent_data",
            "old_and_recent",
            "no_data",
            "no_data_received_lately",
            "open",
            "ended_long_ago",
            "ended_lately",
            "one_open_one_ended",
        )
    }
    # Every pupil last came in a school's data long ago, but one.
    Pupil.objects.update(received_on=RECEIVED_LONG_AGO)
    Pupil.objects.filter(pk=pupils["no_data_received_lately"].pk).update(
        received_on=dt.date(2026, 9, 1)
    )
    _attendance(pupils["old_data"], dt.date(2025, 3, 31))  # 20 months before TODAY
    _attendance(pupils["recent_data"], dt.date(2026, 7, 20))
    _attendance(pupils["old_and_recent"], dt.date(2024, 7, 20))
    Attainment.objects.create(
        pupil=pupils["old_and_recent"],
        assessed_on=dt.date(2025, 12, 1),
        subject="maths",
        value=Decimal("98"),
        expected=Decimal("100"),
    )
    Consent.objects.create(
        pupil=pupils["recent_data"], purpose="support", given_by="parent", given_on=TODAY
    )

    def enrol(name, start, end=None, code=None):
        from linkwork.people.models import Cohort

        group = cohort if code is None else Cohort.objects.create(code=code, name=code)
        Enrolment.objects.create(pupil=pupils[name], cohort=group, enrolled_on=start, ended_on=end)

    enrol("open", dt.date(2021, 9, 1))
    enrol("ended_long_ago", dt.date(2020, 9, 1), dt.date(2022, 7, 20))
    enrol("ended_lately", dt.date(2021, 9, 1), dt.date(2024, 7, 20))
    enrol("one_open_one_ended", dt.date(2019, 9, 1), dt.date(2021, 7, 20))
    enrol("one_open_one_ended", dt.date(2023, 9, 1), code="2023")
    _attendance(pupils["ended_long_ago"], dt.date(2022, 7, 20))
    return pupils


@pytest.mark.django_db
def test_who_is_due(zone):
    due = due_children(TODAY, SCHEDULE)
    assert [(d.upn, d.rule, d.since) for d in due] == [
        (zone["ended_long_ago"].upn, ENROLMENT_ENDED, dt.date(2022, 7, 20)),
        # nothing known but the day the school last sent the pupil
        (zone["no_data"].upn, NEVER_ENROLLED, RECEIVED_LONG_AGO),
        (zone["old_data"].upn, NEVER_ENROLLED, dt.date(2025, 3, 31)),
    ]
    assert due[2].reference == "retention: never enrolled (last 2025-03-31)"
    # A longer schedule makes no one due; a shorter one adds the child who ended lately.
    assert due_children(TODAY, Schedule(36, 5, 30)) == []
    later = {d.upn for d in due_children(TODAY, Schedule(18, 2, 30))}
    assert zone["ended_lately"].upn in later


@pytest.mark.django_db
def test_a_page_counts_them_all_and_lists_a_few(zone, django_assert_max_num_queries):
    everyone = due_children(TODAY, SCHEDULE)
    with django_assert_max_num_queries(4):  # a count and a short list per rule
        count, sample = due_sample(TODAY, 2, SCHEDULE)
    assert count == len(everyone) == 3
    never = sorted((d for d in everyone if d.rule == NEVER_ENROLLED), key=lambda d: d.upn)
    assert sample == never[:2]  # by rule, then school (one here), then UPN
    count, sample = due_sample(TODAY, 50, SCHEDULE)
    assert count == 3 and {d.upn for d in sample} == {d.upn for d in everyone}
    assert due_sample(TODAY, 50, Schedule(36, 5, 30)) == (0, [])


@pytest.mark.django_db
def test_applying_erases_those_due_and_no_one_else(zone):
    report = apply_retention(actor=None, today=TODAY, schedule=SCHEDULE)
    erased = [zone[name].upn for name in ("ended_long_ago", "no_data", "old_data")]
    assert sorted(report.erased) == sorted(erased)
    assert Pupil.objects.count() == len(zone) - 3
    erasure = Erasure.objects.get(upn=zone["old_data"].upn)
    assert erasure.grounds == ErasureGrounds.RETENTION and erasure.erased_by == "system"
    assert erasure.reference == "retention: never enrolled (last 2025-03-31)"
    applied = AuditEntry.objects.get(action="retention.applied")
    assert applied.changes["erased"] == 3 and applied.changes["schedule"]["uploads_days"] == 30
    # Applying again finds no one.
    assert apply_retention(actor=None, today=TODAY, schedule=SCHEDULE).erased == []


@pytest.mark.django_db
def test_only_the_dpo_applies_it(zone, manager):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        apply_retention(actor=manager, today=TODAY, schedule=SCHEDULE)
    assert Pupil.objects.count() == len(zone)


@pytest.mark.django_db
def test_uploaded_files_are_deleted_past_their_time(manager, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    now = timezone.now()

    def upload(status, days_ago):
        folder = tmp_path / "uploads" / f"{status}-{days_ago}"
        folder.mkdir(parents=True)
        (folder / "pupils.csv").write_text("upn\n")
        return Upload.objects.create(
            resource="pupils",
            original_name="pupils.csv",
            folder=str(folder),
            uploaded_by=manager,
            uploaded_at=now - dt.timedelta(days=days_ago),
            finished_at=now - dt.timedelta(days=days_ago),
            status=status,
            errors=["pupils.csv:2: upn: wrong check letter (A201300000001)"],
        )

    old = upload("loaded", 40)
    upload("invalid", 5)  # too recent
    upload("checked", 40)  # not loaded yet: its files are still needed
    today = timezone.localdate()
    assert list(expired_uploads(today, SCHEDULE)) == [old]
    apply_retention(actor=None, today=today, schedule=SCHEDULE)
    old.refresh_from_db()
    assert old.folder == "" and old.errors == [] and old.status == "loaded"
    assert not (tmp_path / "uploads" / "loaded-40").exists()
    assert (tmp_path / "uploads" / "invalid-5").exists()
    assert (tmp_path / "uploads" / "checked-40").exists()
    assert AuditEntry.objects.filter(action="upload.files_deleted", object_id=str(old.pk)).exists()


@pytest.mark.django_db
def test_the_command_lists_then_applies(zone, settings):
    settings.LINKWORK_RETAIN_NOT_ENROLLED_MONTHS = 18
    settings.LINKWORK_RETAIN_AFTER_ENROLMENT_YEARS = 3
    out = StringIO()
    call_command("retention", "--date", TODAY.isoformat(), stdout=out)
    text = out.getvalue()
    assert zone["old_data"].upn in text and "3 children due for erasure" in text
    assert Pupil.objects.count() == len(zone)
    out = StringIO()
    call_command("retention", "--apply", "--date", TODAY.isoformat(), stdout=out)
    assert "Erased 3 children" in out.getvalue()
    assert Pupil.objects.count() == len(zone) - 3


@pytest.mark.django_db
def test_the_page_lists_those_due_and_applies_in_the_background(client, admin_user, zone, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.LINKWORK_RETAIN_NOT_ENROLLED_MONTHS = 1
    settings.LINKWORK_RETAIN_AFTER_ENROLMENT_YEARS = 3
    client.force_login(admin_user)
    url = reverse("people:erasures")
    text = client.get(url).content.decode()
    assert zone["old_data"].upn in text and "Enrolment ended" in text
    response = client.post(url, follow=True)
    assert "being applied in the background" in response.content.decode()
    assert not Pupil.objects.filter(pk=zone["old_data"].pk).exists()
    assert Erasure.objects.filter(grounds=ErasureGrounds.RETENTION).count() >= 2


@pytest.mark.django_db
def test_a_load_marks_the_pupils_it_received(make_pupil):
    """Each pupil of a package's pupils.csv is marked received on the day it loads; a
    pupil the package leaves out keeps their day; the counts do not show the marking."""
    from linkwork.contracts.tests.example import EXAMPLE
    from linkwork.packages.services import load_package

    root = EXAMPLE / "package"
    load_package(actor=None, path=root)
    left_out = make_pupil()
    Pupil.objects.update(received_on=RECEIVED_LONG_AGO)
    report = load_package(actor=None, path=root)
    assert report.counts["pupils"]["updated"] == 0
    received = dict(Pupil.objects.values_list("upn", "received_on"))
    assert received.pop(left_out.upn) == RECEIVED_LONG_AGO
    [day] = set(received.values())  # the database's date: within a day of the local one
    assert abs((day - timezone.localdate()).days) <= 1
