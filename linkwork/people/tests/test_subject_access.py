import csv
import io
import json
import zipfile
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from linkwork.audit.models import AuditEntry
from linkwork.contracts.models import ClaimLine
from linkwork.contracts.queries import CHANGED, REGISTERS, list_draft_registers
from linkwork.contracts.services import run_claim, submit_claim
from linkwork.people.models import Consent, GivenBy, Pupil, Purpose
from linkwork.people.services import export_subject_access
from linkwork.people.subject_access import sections_for, write_csv
from linkwork.support.models import RegisterEntry


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


# The worked example's children (linkwork/contracts/tests/contract-example): Amara is
# engaged in T1, Chloe in T2.
AMARA = "C201300024001"
CHLOE = "F201300024003"


@pytest.fixture
def example(db):
    from linkwork.contracts.tests.example import EXAMPLE
    from linkwork.contracts.tests.loader import load

    load(EXAMPLE / "package")


def _claim_lines(admin_user, upn) -> dict[tuple[str, str], list[str]]:
    """{(trigger, instance): evidence} of the child's claim lines, as exported."""
    files = _read(export_subject_access(actor=admin_user, pupil=Pupil.objects.get(upn=upn)))
    header, *rows = files["contracts.ClaimLine.csv"]
    lines = [dict(zip(header, row, strict=True)) for row in rows]
    return {(line["trigger"], line["instance"]): json.loads(line["evidence"]) for line in lines}


def _engaged_t1(upn):
    return ClaimLine.objects.filter(upn=upn, trigger="engaged", instance="T1")


def test_a_draft_claim_line_lists_its_register_rows_in_the_export(
    example, admin_user, django_assert_max_num_queries
):
    run_claim(actor=None, contract_code="EX-1", period_code="T1")
    (stored,) = _engaged_t1(AMARA)
    assert stored.evidence[-1] == REGISTERS
    shown = list(_engaged_t1(AMARA))
    assert list_draft_registers(shown) == 0  # as the claim page and evidence pack list them
    assert shown[0].evidence[-1].startswith("registers: #")
    assert len(shown[0].evidence[-1].split("; ")) == 5  # T1: 5 sessions

    exported = _claim_lines(admin_user, AMARA)
    assert exported[("engaged", "T1")] == shown[0].evidence
    assert exported[("signup", "1")] == ClaimLine.objects.get(upn=AMARA, trigger="signup").evidence
    assert ClaimLine.objects.get(pk=stored.pk).evidence == stored.evidence  # never saved

    (section,) = [s for s in sections_for(Pupil.objects.get(upn=AMARA)) if s.fill]
    with django_assert_max_num_queries(6):  # the lines, then their rows listed at once
        write_csv(section, io.StringIO())


def test_a_submitted_claim_line_is_exported_as_it_is_stored(example, admin_user):
    submit_claim(actor=None, contract_code="EX-1", period_code="T1")
    run_claim(actor=None, contract_code="EX-1", period_code="T2")
    (submitted,) = _engaged_t1(AMARA)
    # register rows changed after submission leave the submitted line as it is
    RegisterEntry.objects.filter(pupil__upn=AMARA, attended=True).update(
        attended=False, engaged=None
    )
    exported = _claim_lines(admin_user, AMARA)
    assert exported[("engaged", "T1")] == submitted.evidence
    assert submitted.evidence[-1].startswith("registers: #")

    chloe = _claim_lines(admin_user, CHLOE)  # a submitted line and a draft's line
    assert chloe[("signup", "1")] == ClaimLine.objects.get(upn=CHLOE, trigger="signup").evidence
    assert chloe[("engaged", "T2")][-1].startswith("registers: #")


def test_a_draft_whose_register_rows_changed_says_so_in_the_export(example, admin_user):
    run_claim(actor=None, contract_code="EX-1", period_code="T1")
    entry = RegisterEntry.objects.filter(
        pupil__upn=AMARA, session_date__lte="2024-12-31", engaged=True
    ).first()
    RegisterEntry.objects.filter(pk=entry.pk).update(attended=False, engaged=None)
    exported = _claim_lines(admin_user, AMARA)
    # T1 was 5 sessions, 4 attended, 3 engaged; one engaged session is now an absence
    assert exported[("engaged", "T1")][-1] == CHANGED.format(sessions=5, attended=3, engaged=2)
    assert exported[("engaged", "T1")][-1].startswith(
        "registers: changed since this draft was computed ("
    )
