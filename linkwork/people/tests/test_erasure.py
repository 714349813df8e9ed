"""Erasing a child: everything about the child goes but the payment evidence, the audit
trail keeps who did what and when, and a package holding the child again is refused."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, transaction
from django.urls import reverse

from linkwork.audit.models import AuditEntry
from linkwork.audit.services import record, record_view
from linkwork.measures.models import Administration, Score
from linkwork.people.erasure import plan_erasure, years_after
from linkwork.people.models import Consent, Enrolment, Erasure, ErasureGrounds, Pupil
from linkwork.people.services import erase_child
from linkwork.people.subject_access import sections_for
from linkwork.support.models import Allocation, Interaction, RegisterEntry


@pytest.fixture
def child(make_pupil, enrol, add_history, allocate, link_worker):
    pupil = make_pupil()
    enrol(pupil)
    allocate(pupil)
    add_history(pupil, 3, recorded_by=link_worker)
    record(
        actor=link_worker, action="support.goal_added", pupil=pupil, summary="Goal: make a friend"
    )
    record_view(actor=link_worker, pupil=pupil)
    return pupil


def _rows_about(pupil_id: int) -> int:
    return (
        sum(
            model.objects.filter(pupil_id=pupil_id).count()
            for model in (
                Consent,
                Enrolment,
                Allocation,
                RegisterEntry,
                Interaction,
                Administration,
            )
        )
        + Score.objects.filter(administration__pupil_id=pupil_id).count()
    )


@pytest.mark.django_db
def test_erasing_deletes_every_row_about_the_child_and_no_other(
    child, make_pupil, enrol, add_history, admin_user
):
    other = make_pupil()
    enrol(other)
    add_history(other, 2)
    before_other = _rows_about(other.pk)
    plan = plan_erasure(child)
    assert plan.rows["people.Pupil"] == 1
    assert plan.rows["support.RegisterEntry"] == 3 and plan.rows["measures.Score"] == 6
    assert plan.audit_entries == 2 and plan.claim_lines == 0 and plan.drafts == []

    pupil_id, upn = child.pk, child.upn
    erasure = erase_child(actor=admin_user, pupil=child, reference="SAR-2026-014")

    assert not Pupil.objects.filter(pk=pupil_id).exists()
    assert _rows_about(pupil_id) == 0
    assert _rows_about(other.pk) == before_other
    assert erasure.upn == upn and erasure.pupil_id == pupil_id
    assert erasure.grounds == ErasureGrounds.REQUEST and erasure.reference == "SAR-2026-014"
    assert erasure.rows == plan.rows and erasure.evidence_kept_until is None
    # Nothing about the child is left for a subject access request to find.
    assert Pupil.objects.filter(upn=upn).count() == 0


@pytest.mark.django_db
def test_the_audit_trail_keeps_who_and_when_but_not_what_was_written(
    child, admin_user, link_worker
):
    pupil_id = child.pk
    before = list(
        AuditEntry.objects.filter(pupil_id=pupil_id).values_list("at", "actor_label", "action")
    )
    erase_child(actor=admin_user, pupil=child, reference="SAR-1")

    entries = AuditEntry.objects.filter(pupil_id=pupil_id)
    assert list(entries.values_list("at", "actor_label", "action")) == before
    assert all(e.summary == "" and e.changes == {} and e.redacted_at for e in entries)
    erased = AuditEntry.objects.get(action="child.erased")
    assert erased.actor == admin_user and erased.object_type == "people.Erasure"
    assert "make a friend" not in erased.summary and f"Child {pupil_id} erased" in erased.summary
    assert erased.changes["rows"]["people.Pupil"] == 1
    assert erased.changes["audit_entries_redacted"] == len(before)


@pytest.mark.django_db(transaction=True)
def test_the_database_allows_the_redaction_and_nothing_else(make_pupil, admin_user):
    pupil = make_pupil()
    entry = record(actor=None, action="child.viewed", pupil=pupil, summary="profile")
    entries = AuditEntry.objects.filter(pk=entry.pk)
    refused = [
        {"summary": "changed"},
        {"action": "other", "summary": "", "changes": {}, "redacted_at": entry.at},
        {"summary": "still here", "changes": {}, "redacted_at": entry.at},
    ]
    for change in refused:
        with pytest.raises(DatabaseError), transaction.atomic():
            entries.update(**change)
    with pytest.raises(DatabaseError), transaction.atomic():
        entries.delete()
    entries.update(summary="", changes={}, redacted_at=entry.at)
    assert entries.get().summary == ""
    # A redacted entry is not redacted again (its time of redaction stays).
    with pytest.raises(DatabaseError), transaction.atomic():
        entries.update(summary="", changes={}, redacted_at=entry.at + dt.timedelta(days=1))


@pytest.mark.django_db
def test_only_the_dpo_erases_and_a_reference_is_needed(child, manager, link_worker, admin_user):
    for actor in (manager, link_worker):
        with pytest.raises(PermissionDenied):
            erase_child(actor=actor, pupil=child, reference="SAR-1")
    for reference in ("", "   ", "x" * 101):
        with pytest.raises(ValidationError):
            erase_child(actor=admin_user, pupil=child, reference=reference)
    assert Pupil.objects.filter(pk=child.pk).exists()
    assert not Erasure.objects.exists()


@pytest.mark.django_db
def test_the_retention_schedule_erases_as_the_system(child):
    erasure = erase_child(
        actor=None, pupil=child, reference="retention: enrolment ended", grounds="retention"
    )
    assert erasure.erased_by == "system" and erasure.get_grounds_display() == "Retention schedule"
    assert AuditEntry.objects.get(action="child.erased").actor_label == "system"


def test_years_after_keeps_the_day_or_takes_the_28th_of_february():
    assert years_after(dt.date(2025, 8, 31), 6) == dt.date(2031, 8, 31)
    assert years_after(dt.date(2024, 2, 29), 1) == dt.date(2025, 2, 28)


@pytest.mark.django_db
def test_a_package_holding_an_erased_child_is_refused(child, admin_user, tmp_path, school):
    from linkwork.packages.services import PackageInvalid, load_package

    upn = child.upn
    erase_child(actor=admin_user, pupil=child, reference="SAR-7")
    (tmp_path / "pupils.csv").write_text(
        "upn,school_urn,given_name,family_name,date_of_birth,year_group,sex,fsm,sen,eal,"
        "statutory_status\n"
        f"{upn},{school.urn},Test,Again,2015-01-01,4,F,N,N,N,none\n"
    )
    with pytest.raises(PackageInvalid) as caught:
        load_package(actor=None, path=tmp_path)
    [line] = caught.value.errors
    today = dt.date.today()
    assert line == (
        f"pupils.csv:2: upn: this child's data was erased on {today:%Y-%m-%d} (SAR-7): "
        f"remove the row ({upn})"
    )
    assert not Pupil.objects.filter(upn=upn).exists()


@pytest.mark.django_db
def test_subject_access_and_erasure_cover_the_same_tables(child):
    covered = {section.label for section in sections_for(child)}
    erased = {label for label, _, _ in plan_erasure(child).erased}
    kept = {"contracts.ClaimLine", "contracts.ClaimedAchievement", "audit.AuditEntry"}
    assert erased | kept == covered and not erased & kept


@pytest.mark.django_db
def test_the_page_shows_the_plan_and_erases_only_with_the_upn_typed(client, child, admin_user):
    client.force_login(admin_user)
    url = reverse("people:erase", kwargs={"pk": child.pk})
    page = client.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "What is erased" in text and "No submitted claim includes this child" in text

    wrong = client.post(url, {"reference": "SAR-9", "confirm_upn": "A000000000000"})
    assert wrong.status_code == 200
    assert "This is not the child&#x27;s UPN." in wrong.content.decode()
    assert Pupil.objects.filter(pk=child.pk).exists()

    done = client.post(url, {"reference": "SAR-9", "confirm_upn": child.upn.lower()}, follow=True)
    assert done.redirect_chain[-1][0] == reverse("people:erasures")
    text = done.content.decode()
    assert child.upn in text and "SAR-9" in text and "Erased" in text
    assert not Pupil.objects.filter(pk=child.pk).exists()


@pytest.mark.django_db
def test_the_register_moves_with_dumpdata_and_loaddata(child, admin_user, tmp_path):
    from django.core.management import call_command

    erasure = erase_child(actor=admin_user, pupil=child, reference="SAR-8")
    dump = tmp_path / "erasures.json"
    call_command("dumpdata", "people.Erasure", output=str(dump))
    Erasure.objects.all().delete()
    call_command("loaddata", str(dump), verbosity=0)
    moved = Erasure.objects.get()
    assert (moved.upn, moved.reference, moved.rows) == (erasure.upn, "SAR-8", erasure.rows)


@pytest.mark.django_db
def test_erasing_many_at_once_does_for_each_what_erasing_one_does(
    child, make_pupil, enrol, add_history, admin_user
):
    """The retention schedule erases children in batches: each child's register row and
    audit entry are those erasing it alone would give; a pupil gone meanwhile is left out;
    a pupil not in the batch is untouched."""
    from linkwork.people.services import erase_children

    second, third, bystander = make_pupil(), make_pupil(), make_pupil()
    enrol(second)
    add_history(second, 2)
    add_history(bystander, 1)
    alone = {p.pk: plan_erasure(p).rows for p in (child, second, third)}
    before_bystander = _rows_about(bystander.pk)
    gone = 10**9  # no such pupil
    erasures = erase_children(
        actor=admin_user,
        references={child.pk: "SAR-1", second.pk: "SAR-2", third.pk: "SAR-3", gone: "SAR-4"},
    )
    assert [e.pupil_id for e in erasures] == sorted([child.pk, second.pk, third.pk])
    for erasure in erasures:
        assert erasure.rows == alone[erasure.pupil_id]
        assert _rows_about(erasure.pupil_id) == 0
        entry = AuditEntry.objects.get(action="child.erased", object_id=str(erasure.pk))
        assert entry.changes["rows"] == alone[erasure.pupil_id]
    assert {e.reference for e in erasures} == {"SAR-1", "SAR-2", "SAR-3"}
    assert not Pupil.objects.filter(pk__in=[child.pk, second.pk, third.pk]).exists()
    assert _rows_about(bystander.pk) == before_bystander
    assert not AuditEntry.objects.filter(pupil_id=child.pk, redacted_at__isnull=True).exists()
