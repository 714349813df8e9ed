"""Contract and claim pages, downloads, and what a funder may see."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from linkwork.accounts.models import Role
from linkwork.contracts.models import Claim, Contract, Payment
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
    response = client.post(_url("claim_submit", code="EX-1", period="T3"), {"submit-confirm": "on"})
    assert response.status_code == 302
    claim = Claim.objects.get(period_code="T3")
    assert claim.status == "submitted" and claim.submitted_by == manager
    page = client.get(_url("claim_detail", code="EX-1", period="T3")).content.decode()
    assert "Submitted" in page and str(manager) in page
    for payer, amount in (("LA", "509.99"), ("FUND", "-50.01"), ("PHIL", "40.00")):
        page = client.get(_url("claim_detail", code="EX-1", period="T3")).content.decode()
        assert "Record the payment" in page
        client.post(
            _url("claim_paid", code="EX-1", period="T3"),
            {
                "paid-payer": payer,
                "paid-amount": amount,
                "paid-paid_on": "2025-10-01",
                "paid-confirm": "on",
            },
        )
    assert Claim.objects.get(period_code="T3").status == "paid"
    page = client.get(_url("claim_detail", code="EX-1", period="T3")).content.decode()
    assert "Record the payment" not in page and "-50.01" in page


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
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    heading = {r[0]: r[1] for r in rows[:8]}
    # numbers are numbers and dates are dates (spreadsheet numbers are binary floats)
    assert f"{heading['Total for payer']:.2f}" == "370.02"
    assert isinstance(heading["Submitted"], dt.datetime)
    assert heading["Period ends"] == dt.datetime(2024, 12, 31)
    header = rows.index(
        (
            "Line",
            "Kind",
            "Child reference",
            "Trigger",
            "Instance",
            "Achieved on",
            "Line amount",
            "Payer portion",
            "Reverses",
        )
    )
    lines = rows[header + 1 : header + 6]
    assert [f"{r[7]:.2f}" for r in lines] == ["90.00", "90.00", "90.00", "50.01", "50.01"]
    assert lines[0][5] == dt.datetime(2024, 9, 10)
    total = rows[header + 6]
    assert total[:2] == ("Total", "5 lines") and f"{total[7]:.2f}" == "370.02"
    cells = {c.coordinate: c for row in sheet.iter_rows() for c in row}
    money = [cells["B8"], cells[f"G{header + 2}"], cells[f"H{header + 2}"], cells[f"H{header + 7}"]]
    assert {c.data_type for c in money} == {"n"}
    assert all("£" in c.number_format for c in money)


def test_statement_shows_what_an_adjustment_reverses(claimed, client, manager):
    submit_claim(actor=None, contract_code="EX-1", period_code="T3")
    client.force_login(manager)
    response = client.get(
        _url("claim_statement", code="EX-1", period="T3", payer="FUND", fmt="xlsx")
    )
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    (adjustment,) = [r for r in rows if r[1] == "adjustment"]
    # R's engaged T1, line 5 of the T1 claim, achieved 2024-12-31
    assert adjustment[5] == dt.datetime(2024, 12, 31)
    assert f"{adjustment[7]:.2f}" == "-50.01" and adjustment[8] == "T1 line 5"
    pdf = client.get(_url("claim_statement", code="EX-1", period="T3", payer="FUND", fmt="pdf"))
    assert pdf.status_code == 200


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


@pytest.fixture
def drafted(db, example_package):
    """The worked example with T1 submitted and a T2 draft."""
    load(example_package / "package")
    submit_claim(actor=None, contract_code="EX-1", period_code="T1")
    run_claim(actor=None, contract_code="EX-1", period_code="T2")
    return example_package


def test_forecast_counts_the_draft_and_says_which_periods(drafted, client, manager):
    client.force_login(manager)
    response = client.get(_url("contract_detail", code="EX-1"))
    forecast = response.context["forecast"]
    # T1 and the T2 draft: 3 sign-ups (every child has one) and 3 engagements (of the 6
    # the three children may have) in 2 periods; T3 remains
    assert forecast["periods"] == ("T3",)
    assert [(i["row"].trigger, i["row"].achievements) for i in forecast["rows"]] == [
        ("signup", 0),
        ("engaged", 2),
        ("wellbeing", 0),
        ("maths", 0),
    ]
    page = response.content.decode()
    assert "Projected for the remaining periods only, T3" in page
    assert "in the\ndraft for T2" in page and "3 children in the contract" in page
    changed = client.get(
        _url("contract_detail", code="EX-1"), {"trigger": "engaged", "price": "200.00"}
    ).content.decode()
    assert "With that price, for the same periods" in changed


@pytest.mark.parametrize(
    "price, error",
    [
        ("abc", "Enter a number."),
        ("10.555", "Ensure that there are no more than 2 decimal places."),
        ("NaN", "Enter a number."),
        ("-5", "Ensure this value is greater than or equal to 0."),
    ],
)
def test_an_invalid_price_is_a_form_error(drafted, client, manager, price, error):
    client.force_login(manager)
    page = client.get(
        _url("contract_detail", code="EX-1"), {"trigger": "signup", "price": price}
    ).content.decode()
    assert "The price was not used" in page and error in page
    assert "With that price" not in page


def test_a_funder_sees_their_payers_figures_only(claimed, client, funder):
    client.force_login(funder)  # payer LA
    response = client.get(_url("contract_detail", code="EX-1"))
    page = response.content.decode()
    assert [p["code"] for p in response.context["usage"]["payers"]] == ["LA"]
    assert "National top-up fund" not in page and "Philanthropy" not in page
    assert "1180.00" not in page  # the whole contract's claimed total
    # claims: LA's totals, 550.00 in T1 and 50.00 in T2; the T3 draft is not counted
    totals = {r["period"].code: r["total"] for r in response.context["periods"] if r["claim"]}
    assert totals == {"T1": Decimal("550.00"), "T2": Decimal("50.00")}
    assert response.context["draft"] is None
    assert [code for code, _ in response.context["forecast"]["payers"]] == ["LA"]
    assert "FUND £" not in page and "PHIL £" not in page


def test_submitting_and_marking_paid_need_a_confirmation(claimed, client, manager):
    client.force_login(manager)
    page = client.get(_url("claim_detail", code="EX-1", period="T3")).content.decode()
    assert 'name="submit-confirm"' in page and "cannot be changed" in page
    response = client.post(_url("claim_submit", code="EX-1", period="T3"), follow=True)
    assert "tick the box to confirm" in response.content.decode()
    assert Claim.objects.get(period_code="T3").status == "draft"
    client.post(_url("claim_submit", code="EX-1", period="T3"), {"submit-confirm": "on"})
    unconfirmed = {"paid-payer": "LA", "paid-amount": "509.99", "paid-paid_on": "2025-10-01"}
    response = client.post(_url("claim_paid", code="EX-1", period="T3"), unconfirmed, follow=True)
    assert "The payment was not recorded" in response.content.decode()
    assert not Payment.objects.exists()
    assert Claim.objects.get(period_code="T3").status == "submitted"


def test_an_open_period_can_be_drafted_not_submitted(
    db, example_package, client, manager, time_machine
):
    time_machine.move_to(dt.datetime(2024, 11, 22, 12, tzinfo=dt.UTC), tick=False)
    load(example_package / "package")
    client.force_login(manager)
    client.post(_url("claim_run", code="EX-1", period="T1"))
    page = client.get(_url("claim_detail", code="EX-1", period="T1")).content.decode()
    assert "still open" in page and "submitted on 31 Dec 2024 or later" in page
    assert "Submit this claim" not in page
    contract = client.get(_url("contract_detail", code="EX-1")).content.decode()
    assert "period still open: lines can change" in contract
    response = client.post(
        _url("claim_submit", code="EX-1", period="T1"), {"submit-confirm": "on"}, follow=True
    )
    assert "T1 runs until 2024-12-31" in response.content.decode()
    assert Claim.objects.get(period_code="T1").status == "draft"


def test_an_out_of_date_draft_is_marked_and_not_downloaded(db, example_package, client, manager):
    load(example_package / "package")
    run_claim(actor=None, contract_code="EX-1", period_code="T2")
    submit_claim(actor=None, contract_code="EX-1", period_code="T1")
    client.force_login(manager)
    page = client.get(_url("claim_detail", code="EX-1", period="T2")).content.decode()
    assert "Out of date" in page and "computed before the claim for T1 was submitted" in page
    assert "statement/LA" not in page and "evidence.csv" not in page
    contract = client.get(_url("contract_detail", code="EX-1")).content.decode()
    assert "out of date</strong>: computed before the claim for T1" in contract
    assert "Not counted: the out-of-date draft for T2" in contract
    for url in (
        _url("claim_statement", code="EX-1", period="T2", payer="LA", fmt="xlsx"),
        _url("claim_evidence", code="EX-1", period="T2"),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == _url("claim_detail", code="EX-1", period="T2")
    client.post(_url("claim_run", code="EX-1", period="T2"))
    page = client.get(_url("claim_detail", code="EX-1", period="T2")).content.decode()
    assert "Out of date" not in page and "statement/LA" in page


def test_each_download_is_in_the_audit_trail(claimed, client, manager, funder):
    from linkwork.audit.models import AuditEntry

    client.force_login(funder)
    client.get(_url("claim_statement", code="EX-1", period="T1", payer="LA", fmt="xlsx"))
    client.force_login(manager)
    client.get(_url("claim_statement", code="EX-1", period="T1", payer="FUND", fmt="pdf"))
    client.get(_url("claim_evidence", code="EX-1", period="T1"))
    entries = AuditEntry.objects.filter(action__endswith="_exported").order_by("pk")
    claim = Claim.objects.get(period_code="T1")
    assert [
        (e.action, e.actor, e.object_id, e.changes.get("payer"), e.changes["format"])
        for e in entries
    ] == [
        ("claim.statement_exported", funder, str(claim.pk), "LA", "xlsx"),
        ("claim.statement_exported", manager, str(claim.pk), "FUND", "pdf"),
        ("claim.evidence_exported", manager, str(claim.pk), None, "csv"),
    ]


def test_upload_refuses_an_unknown_instrument_and_warns_of_an_unknown_cohort(
    db, client, manager, example_package
):
    client.force_login(manager)
    source = (example_package / "package" / "contracts" / "EX-1.yaml").read_text()
    bad = source.replace("score: SDQ/emotional", "score: NOPE/xyz")
    page = client.post(
        _url("contract_upload"), {"file": SimpleUploadedFile("EX-1.yaml", bad.encode())}
    ).content.decode()
    assert "EX-1.yaml:31: triggers[3].score: no instrument NOPE is defined" in page
    scale = source.replace("score: SDQ/emotional", "score: SDQ/xyz")
    page = client.post(
        _url("contract_upload"), {"file": SimpleUploadedFile("EX-1.yaml", scale.encode())}
    ).content.decode()
    assert "instrument SDQ has no scale xyz" in page
    assert not Contract.objects.exists()
    cohort = source.replace('cohorts: ["2024"]', 'cohorts: ["1999"]')
    response = client.post(
        _url("contract_upload"),
        {"file": SimpleUploadedFile("EX-1.yaml", cohort.encode())},
        follow=True,
    )
    page = response.content.decode()
    assert Contract.objects.get().version == 1
    assert "no cohort 1999 is in the data" in page


def test_a_funder_sees_their_own_payment_only(claimed, client, manager, funder):
    from linkwork.contracts.services import record_payment

    record_payment(
        actor=manager,
        contract_code="EX-1",
        period_code="T1",
        payer="FUND",
        amount=Decimal("370.02"),
        paid_on=dt.date(2025, 2, 3),
    )
    client.force_login(funder)  # payer LA
    response = client.get(_url("claim_detail", code="EX-1", period="T1"))
    assert [row["payer"] for row in response.context["payments"]] == ["LA"]
    page = response.content.decode()
    assert "Not paid yet" in page and "370.02" not in page and "Record the payment" not in page
