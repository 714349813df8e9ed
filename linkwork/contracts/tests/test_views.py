"""Contract and claim pages, downloads, and what a funder may see."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
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


def _streamed(response) -> str:
    """A download sent as it is read (the evidence pack), whole."""
    assert response.streaming
    return b"".join(response.streaming_content).decode()


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


def test_a_drafts_page_lists_register_rows_read_now_and_says_when_they_changed(
    db, example_package, client, manager, django_assert_max_num_queries
):
    from linkwork.support.models import RegisterEntry

    load(example_package / "package")
    run_claim(actor=None, contract_code="EX-1", period_code="T1")
    client.force_login(manager)
    url = _url("claim_detail", code="EX-1", period="T1")
    with django_assert_max_num_queries(16):
        page = client.get(url).content.decode()
    assert "registers: #" in page and "Out of date" not in page
    RegisterEntry.objects.filter(pupil__upn=UPNS[0], attended=True).update(
        attended=False, engaged=None
    )
    page = client.get(url).content.decode()
    assert "Out of date" in page and "register rows of 1 of the lines shown changed" in page
    assert "changed since this draft was computed" in page
    assert "None while the draft is out of date" in page


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
    today = timezone.localdate().isoformat()
    for payer, amount in (("LA", "509.99"), ("FUND", "-50.01"), ("PHIL", "40.00")):
        page = client.get(_url("claim_detail", code="EX-1", period="T3")).content.decode()
        assert f"Record {payer}'s payment</button>" in page
        client.post(
            _url("claim_paid", code="EX-1", period="T3"),
            {
                "paid-payer": payer,
                "paid-amount": amount,
                "paid-paid_on": today,
                "paid-confirm": "on",
            },
        )
    assert Claim.objects.get(period_code="T3").status == "paid"
    page = client.get(_url("claim_detail", code="EX-1", period="T3")).content.decode()
    assert "'s payment</button>" not in page and "-50.01" in page


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
            "Reversed line achieved on",
            "Why reversed",
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
    # R's engaged T1, line 5 of the T1 claim, achieved 2024-12-31: the adjustment has no
    # date of its own
    assert adjustment[5] is None
    assert f"{adjustment[7]:.2f}" == "-50.01" and adjustment[8] == "T1 line 5"
    assert adjustment[9] == dt.datetime(2024, 12, 31)
    assert adjustment[10] == "engagement thresholds no longer met"
    pdf = client.get(_url("claim_statement", code="EX-1", period="T3", payer="FUND", fmt="pdf"))
    assert pdf.status_code == 200
    text = _pdf_text(pdf.content)
    assert b"T1 line 5" in text and b"engagement thresholds no longer met" in text


def test_statement_pdf_opens(claimed, client, manager):
    client.force_login(manager)
    response = client.get(_url("claim_statement", code="EX-1", period="T1", payer="LA", fmt="pdf"))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")


def test_evidence_pack_has_upns_evidence_and_escaped_cells(claimed, client, manager):
    client.force_login(manager)
    response = client.get(_url("claim_evidence", code="EX-1", period="T1"))
    rows = list(csv.reader(io.StringIO(_streamed(response))))
    assert rows[0][:4] == ["Status", "Line", "Kind", "UPN"]
    assert {r[0] for r in rows[1:]} == {"submitted"}
    assert {r[3] for r in rows[1:]} == set(UPNS)
    engaged = next(r for r in rows if r[3] == "C201300024001" and r[5] == "engaged")
    assert "registers: #" in engaged[13]
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
    assert "still open" in page and "Can be submitted from 31 Dec 2024" in page
    assert "Submit this claim" not in page and 'name="submit-confirm"' not in page
    contract = client.get(_url("contract_detail", code="EX-1")).content.decode()
    assert "period still open: lines can change" in contract
    response = client.post(
        _url("claim_submit", code="EX-1", period="T1"), {"submit-confirm": "on"}, follow=True
    )
    assert "Not submitted: Can be submitted from 31 Dec 2024" in response.content.decode()
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
        paid_on=timezone.localdate(),
    )
    client.force_login(funder)  # payer LA
    response = client.get(_url("claim_detail", code="EX-1", period="T1"))
    assert [row["payer"] for row in response.context["payments"]] == ["LA"]
    page = response.content.decode()
    assert "Not paid yet" in page and "370.02" not in page and "paid-amount" not in page


def _pdf_text(body: bytes) -> bytes:
    """The text of a PDF's pages, as its content streams hold it."""
    import re
    import zlib

    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", body, re.S)
    out = []
    for stream in streams:
        try:
            out.append(zlib.decompress(stream))
        except zlib.error:
            out.append(stream)
    return b"\n".join(out)


# --- payments: one form per payer, part payments, checks ----------------------------


def _payment(payer, amount, paid_on=None, confirm=True):
    data = {
        "paid-payer": payer,
        "paid-amount": amount,
        "paid-paid_on": (paid_on or timezone.localdate()).isoformat(),
    }
    if confirm:
        data["paid-confirm"] = "on"
    return data


def test_each_payer_has_its_own_form_filled_with_its_due(claimed, client, manager):
    client.force_login(manager)
    response = client.get(_url("claim_detail", code="EX-1", period="T1"))
    rows = response.context["payments"]
    assert [(r["payer"], str(r["due"]), r["form"]["amount"].value()) for r in rows] == [
        ("LA", "550.00", Decimal("550.00")),
        ("FUND", "370.02", Decimal("370.02")),
        ("PHIL", "180.00", Decimal("180.00")),
    ]
    page = response.content.decode()
    for payer in ("LA", "FUND", "PHIL"):
        assert f'aria-label="Record a payment from {payer}"' in page
        assert f'id="id_{payer}_paid-amount"' in page
    # a browser's date input takes the ISO form only
    today = timezone.localdate()
    assert f'name="paid-paid_on" value="{today.isoformat()}"' in page
    assert f'max="{today.isoformat()}"' in page


def test_a_part_payment_is_shown_as_such(claimed, client, manager):
    client.force_login(manager)
    url = _url("claim_paid", code="EX-1", period="T1")
    client.post(url, _payment("LA", "300.00"))
    response = client.get(_url("claim_detail", code="EX-1", period="T1"))
    page = response.content.decode()
    assert "<dd>Submitted</dd>" in page
    assert "Part paid: £300.00 of £550.00" in page  # LA
    assert "<dd>Part paid: £300.00 of £1,100.02</dd>" in page  # the claim
    la = response.context["payments"][0]
    assert la["form"]["amount"].value() == Decimal("250.00")  # what LA still owes
    # The contract page's claims say so too.
    contract_page = client.get(_url("contract_detail", code="EX-1")).content.decode()
    assert "Submitted, part paid: £300.00 of £1,100.02" in contract_page
    for payer, amount in (("LA", "250.00"), ("FUND", "370.02"), ("PHIL", "180.00")):
        client.post(url, _payment(payer, amount))
    assert Claim.objects.get(period_code="T1").status == "paid"
    page = client.get(_url("claim_detail", code="EX-1", period="T1")).content.decode()
    assert "<dd>Paid</dd>" in page and "<dd>Paid in full</dd>" in page
    assert 'name="paid-amount"' not in page


@pytest.mark.parametrize(
    "data, message",
    [
        (
            _payment("FUND", "26500.00"),
            "The payment was not recorded: £26,500.00 is more than the £370.02 FUND still "
            "owes for EX-1 T1.",
        ),
        (
            _payment("LA", "-100.00"),
            "The payment was not recorded: The amount must be more than £0.00",
        ),
        (
            _payment("LA", "550.00", paid_on=dt.date(2099, 1, 1)),
            "The payment was not recorded: The day paid, 1 Jan 2099, is after today",
        ),
        (
            _payment("LA", "550.00", paid_on=dt.date(2024, 12, 31)),
            "The payment was not recorded: The day paid, 31 Dec 2024, is before the claim was "
            "submitted",
        ),
        (_payment("LA", "550.00", confirm=False), "The payment was not recorded. "),
    ],
    ids=["over the due", "negative", "in the future", "before submission", "not confirmed"],
)
def test_a_refused_payment_says_why(claimed, client, manager, data, message):
    client.force_login(manager)
    response = client.post(_url("claim_paid", code="EX-1", period="T1"), data, follow=True)
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not Payment.objects.exists()


# --- periods not started ---------------------------------------------------------------


def test_a_period_not_started_offers_no_draft(db, example_package, client, manager, time_machine):
    time_machine.move_to(dt.datetime(2024, 11, 22, 12, tzinfo=dt.UTC), tick=False)
    load(example_package / "package")
    client.force_login(manager)
    response = client.get(_url("contract_detail", code="EX-1"))
    page = response.content.decode()
    assert "1 Sep 2024 to 31 Dec 2024 (open)" in page
    assert "1 Jan 2025 to 30 Apr 2025 (not started)" in page
    assert "1 May 2025 to 31 Aug 2025 (not started)" in page
    assert page.count("Compute draft") == 1 and "From 1 Jan 2025" in page
    assert [r["started"] for r in response.context["periods"]] == [True, False, False]
    response = client.post(_url("claim_run", code="EX-1", period="T2"), follow=True)
    assert (
        "Not computed: Period T2 starts on 1 Jan 2025: no claim can be computed for it "
        "before then." in response.content.decode()
    )
    assert not Claim.objects.exists()


def test_the_forecast_never_counts_a_period_not_started(
    db, example_package, client, manager, time_machine
):
    time_machine.move_to(dt.datetime(2025, 1, 10, 12, tzinfo=dt.UTC), tick=False)
    load(example_package / "package")
    submit_claim(actor=None, contract_code="EX-1", period_code="T1")
    draft = run_claim(actor=None, contract_code="EX-1", period_code="T2")
    # a draft left from before such drafts were refused, computed before T2 began
    Claim.objects.filter(pk=draft.pk).update(
        computed_at=dt.datetime(2024, 12, 20, 12, tzinfo=dt.UTC)
    )
    client.force_login(manager)
    response = client.get(_url("contract_detail", code="EX-1"))
    assert response.context["draft"] is None
    assert response.context["forecast"]["periods"] == ("T2", "T3")
    page = response.content.decode()
    assert "computed on 20 Dec 2024, before its period started on 1 Jan 2025" in page
    assert "Not counted: the out-of-date draft for T2" in page
    # Read before the period starts, its page does not ask for what cannot be done yet.
    time_machine.move_to(dt.datetime(2024, 12, 21, 12, tzinfo=dt.UTC), tick=False)
    page = client.get(_url("claim_detail", code="EX-1", period="T2")).content.decode()
    assert "Period T2\nstarts on 1 Jan 2025: until then no claim is computed for it" in page
    assert "Compute it again" not in page


# --- the submit form only when a submit can succeed --------------------------------------


def test_the_submit_form_is_offered_only_when_it_can_succeed(db, example_package, client, manager):
    load(example_package / "package")
    run_claim(actor=None, contract_code="EX-1", period_code="T2")
    client.force_login(manager)
    page = client.get(_url("claim_detail", code="EX-1", period="T2")).content.decode()
    assert "Submit T1 first: periods are claimed in order." in page
    assert 'name="submit-confirm"' not in page
    response = client.post(
        _url("claim_submit", code="EX-1", period="T2"), {"submit-confirm": "on"}, follow=True
    )
    assert "Not submitted: Submit T1 first: periods are claimed in order." in (
        response.content.decode()
    )
    run_claim(actor=None, contract_code="EX-1", period_code="T1")
    page = client.get(_url("claim_detail", code="EX-1", period="T1")).content.decode()
    assert 'name="submit-confirm"' in page and "Not ready to submit" not in page


# --- the child's achievements page is audited ---------------------------------------------


def test_viewing_a_childs_achievements_is_recorded(claimed, client, manager):
    from linkwork.audit.models import AuditEntry
    from linkwork.people.models import Pupil

    pupil = Pupil.objects.get(upn="C201300024001")
    client.force_login(manager)
    client.get(_url("child_achievements", pk=pupil.pk))
    (entry,) = AuditEntry.objects.filter(action="child.viewed")
    assert (entry.actor, entry.pupil, entry.summary) == (manager, pupil, "achievements")


# --- a draft's downloads say so -----------------------------------------------------------


def _file_name(response):
    return response["Content-Disposition"].removeprefix('attachment; filename="').rstrip('"')


def test_a_drafts_downloads_are_marked_draft(claimed, client, manager):
    client.force_login(manager)  # T3 is a draft
    xlsx = client.get(_url("claim_statement", code="EX-1", period="T3", payer="LA", fmt="xlsx"))
    assert _file_name(xlsx) == "claim-EX-1-T3-LA-DRAFT.xlsx"
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet["A1"].value == "DRAFT — not a claim" and sheet["A1"].font.b
    assert "DRAFT" in sheet.title and sheet.oddHeader.center.text == "DRAFT — not a claim"
    pdf = client.get(_url("claim_statement", code="EX-1", period="T3", payer="LA", fmt="pdf"))
    assert _file_name(pdf) == "claim-EX-1-T3-LA-DRAFT.pdf"
    assert "DRAFT — not a claim".encode("cp1252") in _pdf_text(pdf.content)
    evidence = client.get(_url("claim_evidence", code="EX-1", period="T3"))
    assert _file_name(evidence) == "evidence-EX-1-T3-DRAFT.csv"
    rows = list(csv.reader(io.StringIO(_streamed(evidence))))
    assert rows[0][0] == "Status" and {r[0] for r in rows[1:]} == {"DRAFT"}


def test_a_submitted_claims_downloads_are_not_marked_draft(claimed, client, manager):
    client.force_login(manager)
    xlsx = client.get(_url("claim_statement", code="EX-1", period="T1", payer="LA", fmt="xlsx"))
    assert _file_name(xlsx) == "claim-EX-1-T1-LA.xlsx"
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet["A1"].value == "Contract"
    pdf = client.get(_url("claim_statement", code="EX-1", period="T1", payer="LA", fmt="pdf"))
    assert _file_name(pdf) == "claim-EX-1-T1-LA.pdf" and b"DRAFT" not in _pdf_text(pdf.content)
    evidence = client.get(_url("claim_evidence", code="EX-1", period="T1"))
    assert _file_name(evidence) == "evidence-EX-1-T1.csv"


# --- adjustments: why, and the line reversed, the same everywhere --------------------------


def test_a_payer_is_told_why_a_line_is_reversed(claimed, client, manager, funder):
    submit_claim(actor=None, contract_code="EX-1", period_code="T3")
    client.force_login(funder)  # LA: the adjustment has a portion for LA
    response = client.get(_url("claim_detail", code="EX-1", period="T3"))
    (row,) = [r for r in response.context["statement"] if r["kind"] == "adjustment"]
    assert row["achieved_on"] is None
    assert str(row["reversal"]) == "T1 line 5, achieved 2024-12-31"
    assert row["reversal"].why == "engagement thresholds no longer met"
    page = response.content.decode()
    assert (
        "<td>T1 line 5, achieved 2024-12-31</td><td>engagement thresholds no longer met</td>"
        in (page)
    )
    # the evidence's details stay with the programme
    assert "sessions" not in page and "attended" not in page and "R201300024002" not in page
    rows = list(
        load_workbook(
            io.BytesIO(
                client.get(
                    _url("claim_statement", code="EX-1", period="T3", payer="LA", fmt="xlsx")
                ).content
            )
        ).active.iter_rows(values_only=True)
    )
    (adjustment,) = [r for r in rows if r[1] == "adjustment"]
    assert adjustment[5:] == (
        None,
        adjustment[6],
        adjustment[7],
        "T1 line 5",
        dt.datetime(2024, 12, 31),
        "engagement thresholds no longer met",
    )
    assert not any("sessions" in str(cell) for row in rows for cell in row)


def test_an_adjustment_is_presented_the_same_everywhere(claimed, client, manager):
    submit_claim(actor=None, contract_code="EX-1", period_code="T3")
    client.force_login(manager)
    response = client.get(_url("claim_detail", code="EX-1", period="T3"))
    ((line, reversal),) = [(ln, r) for ln, r in response.context["rows"] if ln.kind == "adjustment"]
    assert line.achieved_on is None
    assert (reversal.line, reversal.achieved_on, reversal.why) == (
        "T1 line 5",
        dt.date(2024, 12, 31),
        "engagement thresholds no longer met",
    )
    page = response.content.decode()
    assert "<td>—</td><td>T1 line 5, achieved 2024-12-31</td>" in page
    evidence = client.get(_url("claim_evidence", code="EX-1", period="T3"))
    rows = list(csv.reader(io.StringIO(_streamed(evidence))))
    columns = rows[0]
    (adjustment,) = [dict(zip(columns, r, strict=True)) for r in rows[1:] if r[2] == "adjustment"]
    assert (
        adjustment["Achieved on"],
        adjustment["Reverses"],
        adjustment["Reversed line achieved on"],
        adjustment["Why reversed"],
    ) == ("", "T1 line 5", "2024-12-31", "engagement thresholds no longer met")
    pdf = _pdf_text(
        client.get(
            _url("claim_statement", code="EX-1", period="T3", payer="FUND", fmt="pdf")
        ).content
    )
    assert b"(T1 line 5)" in pdf and b"(2024-12-31)" in pdf


def test_a_claim_page_with_adjustments_and_payments_has_bounded_queries(
    claimed, client, manager, django_assert_max_num_queries
):
    submit_claim(actor=None, contract_code="EX-1", period_code="T3")
    client.force_login(manager)
    client.post(_url("claim_paid", code="EX-1", period="T3"), _payment("LA", "100.00"))
    with django_assert_max_num_queries(16):
        page = client.get(_url("claim_detail", code="EX-1", period="T3"))
    assert "Part paid: £100.00 of £509.99" in page.content.decode()
