import csv
import io
import zipfile
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from linkwork.audit.models import AuditEntry
from linkwork.people.models import Consent, GivenBy, Purpose
from linkwork.people.services import export_subject_access


def _read(archive: bytes) -> dict[str, list[list[str]]]:
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        return {
            name: list(csv.reader(io.StringIO(z.read(name).decode())))
            for name in z.namelist()
            if name.endswith(".csv")
        } | {"README.txt": z.read("README.txt").decode()}


@pytest.mark.django_db
def test_export_holds_every_table_about_the_child_and_only_that_child(
    make_pupil, admin_user, allocate
):
    pupil = make_pupil()
    other = make_pupil()
    for child in (pupil, other):
        Consent.objects.create(
            pupil=child, purpose=Purpose.SUPPORT, given_by=GivenBy.PARENT, given_on=date(2026, 9, 1)
        )
    allocate(pupil)
    files = _read(export_subject_access(actor=admin_user, pupil=pupil))

    pupils = files["people.Pupil.csv"]
    assert len(pupils) == 2 and pupil.upn in pupils[1]
    consents = files["people.Consent.csv"]
    # the header, then this child's support and partner-sharing consents, not the other's
    assert len(consents) == 3
    assert all(row[consents[0].index("pupil_id")] == str(pupil.pk) for row in consents[1:])
    assert len(files["support.Allocation.csv"]) == 2
    for name in ("support.RegisterEntry.csv", "measures.Score.csv", "contracts.ClaimLine.csv"):
        assert name in files
    assert "people.Consent: 2 row(s)" in files["README.txt"]


@pytest.mark.django_db
def test_export_is_audited_and_only_for_the_dpo(make_pupil, admin_user, manager):
    pupil = make_pupil()
    with pytest.raises(PermissionDenied):
        export_subject_access(actor=manager, pupil=pupil)
    export_subject_access(actor=admin_user, pupil=pupil)
    entry = AuditEntry.objects.get(action="child.subject_access_exported")
    assert entry.pupil_id == pupil.pk and entry.actor == admin_user
    assert entry.changes["rows"]["people.Pupil"] == 1


@pytest.mark.django_db
def test_page_lists_the_tables_and_downloads_a_zip(client, make_pupil, admin_user):
    pupil = make_pupil()
    client.force_login(admin_user)
    url = reverse("people:subject_access", kwargs={"pk": pupil.pk})
    page = client.get(url)
    assert page.status_code == 200
    assert "Consents" in page.content.decode()
    response = client.post(url)
    assert response["Content-Type"] == "application/zip"
    assert f"subject-access-{pupil.upn}" in response["Content-Disposition"]
    assert "people.Pupil.csv" in zipfile.ZipFile(io.BytesIO(response.content)).namelist()


@pytest.mark.django_db
def test_cells_that_look_like_formulas_are_escaped(make_pupil, admin_user):
    pupil = make_pupil(given_name="=HYPERLINK(1)")
    files = _read(export_subject_access(actor=admin_user, pupil=pupil))
    assert "'=HYPERLINK(1)" in files["people.Pupil.csv"][1]
