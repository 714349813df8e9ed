"""Contract and claim pages, downloads, and what a funder may see."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from linkwork.accounts.models import Role
from linkwork.contracts.models import Claim
from linkwork.contracts.services import run_claim, submit_claim
from linkwork.contracts.statements import child_reference

from .loader import load

UPNS = ("C201300024001", "R201300024002", "F201300024003")


@pytest.fixture
def claimed(db, example_package):
    """The worked example with T1 and T2 submitted and a T3 draft."""
    load(example_package / "package")
    submit_claim(actor=None, contract_code="EX-1", period_code="T1")
    submit_claim(actor=None, contract_code="EX-1", period_code="T2")
    load(example_package / "corrected")
    run_claim(actor=None, contract_code="EX-1", period_code="T3")
    return example_package


def _url(name, **kwargs):
    return reverse(f"contracts:{name}", kwargs=kwargs)


def test_contract_page_shows_rate_card_caps_and_usage(claimed, client, manager):
    client.force_login(manager)
    page = client.get(_url("contract_detail", code="EX-1")).content.decode()
    assert "100.01" in page and "400.00" in page
    assert "1180.00" in page  # claimed so far: 1100.02 + 79.98
    assert "Compute draft" in page


def test_contract_list_queries_are_bounded(claimed, client, manager, django_assert_max_num_queries):
    client.force_login(manager)
    with django_assert_max_num_queries(12):
        assert client.get(_url("contract_list")).status_code == 200


def test_claim_page_queries_are_bounded(claimed, client, manager, django_assert_max_num_queries):
    client.force_login(manager)
    with django_assert_max_num_queries(14):
        page = client.get(_url("claim_detail", code="EX-1", period="T1"))
    assert "C201300024001" in page.content.decode()


def test_a_claims_lines_are_paged_and_narrowed(claimed, client, manager, funder, monkeypatch):
    """A claim of thousands of lines is read a page at a time, narrowed to a child (the
    UPN for staff, the child reference for a funder), a trigger or a kind."""
    from linkwork.contracts import views

    monkeypatch.setattr(views, "LINES_PER_PAGE", 2)
    client.force_login(manager)
    url = _url("claim_detail", code="EX-1", period="T1")
    first = client.get(url)
    assert first.context["page"].paginator.count == 5  # three signups, two engaged
    assert len(first.context["page"].object_list) == 2 and "Next lines" in first.content.decode()
    third = client.get(url, {"page": 3}).context["page"]
    assert [line.position for line in third.object_list] == [5]
    engaged = client.get(url, {"trigger": "engaged"}).context["page"]
    assert {line.trigger for line in engaged.object_list} == {"engaged"}
    one = client.get(url, {"q": "c2013000240"}).context["page"]  # part of a UPN, any case
    assert {line.upn for line in one.object_list} == {"C201300024001"}
    assert client.get(url, {"kind": "adjustment"}).context["page"].paginator.count == 0
    client.force_login(funder)
    reference = child_reference("EX-1", "C201300024001")
    page = client.get(url, {"q": reference.lower()})
    rows = page.context["statement"]
    assert {row["reference"] for row in rows} == {reference} and len(rows) == 2
    assert "C201300024001" not in page.content.decode()
    assert client.get(url, {"q": "C201300024001"}).context["page"].paginator.count == 0


def test_manager_runs_and_submits_from_the_page(claimed, client, manager):
    client.force_login(manager)
    client.post(_url("claim_run", code="EX-1", period="T3"))
    response = client.post(_url("claim_submit", code="EX-1", period="T3"))
    assert response.status_code == 302
    claim = Claim.objects.get(period_code="T3")
    assert claim.status == "submitted" and claim.submitted_by == manager
    page = client.get(_url("claim_detail", code="EX-1", period="T3")).content.decode()
    assert "Submitted" in page and str(manager) in page
    client.post(_url("claim_paid", code="EX-1", period="T3"))
    assert Claim.objects.get(period_code="T3").status == "paid"


def test_funder_sees_only_submitted_claims_with_their_portion(claimed, client, make_user):
    phil = make_user(Role.FUNDER, payer_code="PHIL")
    client.force_login(phil)
    assert client.get(_url("claim_detail", code="EX-1", period="T1")).status_code == 200
    # T2 has no portion for PHIL; T3 is a draft
    assert client.get(_url("claim_detail", code="EX-1", period="T2")).status_code == 404
    assert client.get(_url("claim_detail", code="EX-1", period="T3")).status_code == 404
    other = make_user(Role.FUNDER, payer_code="BANK")
    client.force_login(other)
    assert client.get(_url("contract_detail", code="EX-1")).status_code == 404


def test_funder_pages_and_statements_name_no_child(claimed, client, funder):
    client.force_login(funder)  # payer LA
    pages = [
        client.get(_url("contract_detail", code="EX-1")).content.decode(),
        client.get(_url("claim_detail", code="EX-1", period="T1")).content.decode(),
    ]
    statement = client.get(
        _url("claim_statement", code="EX-1", period="T1", payer="LA", fmt="xlsx")
    )
    book = load_workbook(io.BytesIO(statement.content))
    cells = [str(c) for row in book.active.iter_rows(values_only=True) for c in row]
    for text in pages + cells:
        for upn in UPNS:
            assert upn not in text
        assert "Amara" not in text
    assert child_reference("EX-1", "C201300024001") in pages[1]
    assert (
        client.get(
            _url("claim_statement", code="EX-1", period="T1", payer="FUND", fmt="xlsx")
        ).status_code
        == 404
    )
    assert client.get(_url("claim_evidence", code="EX-1", period="T1")).status_code == 403


def test_statement_spreadsheet_carries_the_payer_lines(claimed, client, manager):
    client.force_login(manager)
    response = client.get(
        _url("claim_statement", code="EX-1", period="T1", payer="FUND", fmt="xlsx")
    )
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert ("Total for payer", "370.02") in [r[:2] for r in rows]
    header = rows.index(
        tuple(
            [
                "Line",
                "Kind",
                "Child reference",
                "Trigger",
                "Instance",
                "Achieved on",
                "Line amount",
                "Payer portion",
            ]
        )
    )
    lines = rows[header + 1 :]
    assert len(lines) == 5
    # spreadsheet numbers are binary floats: compared to the penny
    assert [f"{r[7]:.2f}" for r in lines] == ["90.00", "90.00", "90.00", "50.01", "50.01"]


def test_statement_pdf_opens(claimed, client, manager):
    client.force_login(manager)
    response = client.get(_url("claim_statement", code="EX-1", period="T1", payer="LA", fmt="pdf"))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")


def test_evidence_pack_has_upns_evidence_and_escaped_cells(claimed, client, manager):
    client.force_login(manager)
    response = client.get(_url("claim_evidence", code="EX-1", period="T1"))
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["Line", "Kind", "UPN"]
    assert {r[2] for r in rows[1:]} == set(UPNS)
    engaged = next(r for r in rows if r[2] == "C201300024001" and r[4] == "engaged")
    assert "registers: #" in engaged[9]
    assert all(not cell.startswith(("=", "+", "@")) for row in rows for cell in row)


def test_upload_page_shows_located_errors(db, client, manager):
    client.force_login(manager)
    bad = SimpleUploadedFile("bad.yaml", b"code: X\nname: Bad\ncolour: red\n")
    page = client.post(_url("contract_upload"), {"file": bad}).content.decode()
    assert "bad.yaml:3: colour: unknown key" in page
    assert "missing key &#x27;periods&#x27;" in page


def test_upload_page_stores_a_version(db, client, manager, example_package):
    client.force_login(manager)
    source = (example_package / "package" / "contracts" / "EX-1.yaml").read_bytes()
    response = client.post(
        _url("contract_upload"), {"file": SimpleUploadedFile("EX-1.yaml", source)}
    )
    assert response.status_code == 302
    assert response["Location"] == _url("contract_detail", code="EX-1")


def test_child_achievements_page(claimed, client, manager):
    from linkwork.people.models import Pupil

    pupil = Pupil.objects.get(upn="C201300024001")
    client.force_login(manager)
    page = client.get(_url("child_achievements", pk=pupil.pk)).content.decode()
    assert "wellbeing" in page and "2025-06-20" in page and "T1" in page


def test_forecast_and_a_changed_price(claimed, client, manager):
    client.force_login(manager)
    page = client.get(_url("contract_detail", code="EX-1")).content.decode()
    # after T1 and T2: 3 signups and 3 engagements in 2 periods; T3 remains
    assert "1.5" in page
    changed = client.get(
        _url("contract_detail", code="EX-1"), {"trigger": "signup", "price": "400.00"}
    ).content.decode()
    assert "With that price" in changed
