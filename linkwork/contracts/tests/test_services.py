"""Storing contracts, running and submitting claims, and the database's guarantees."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from linkwork.audit.models import AuditEntry
from linkwork.contracts.documents import parse_contract
from linkwork.contracts.models import Claim, ClaimedAchievement, ClaimLine, Contract, Payment
from linkwork.contracts.queries import out_of_date
from linkwork.contracts.services import (
    ClaimError,
    export_evidence,
    export_statement,
    record_payment,
    run_claim,
    store_contract,
    submit_claim,
)
from linkwork.core.documents import DocumentError

from .loader import load


@pytest.fixture
def loaded(db, example_package):
    load(example_package / "package")
    return example_package


def _source(base):
    return (base / "package" / "contracts" / "EX-1.yaml").read_text()


def test_storing_the_same_document_twice_changes_nothing(loaded, manager):
    source = _source(loaded)
    document = parse_contract(source, filename="EX-1.yaml")
    before = AuditEntry.objects.filter(action="contract.stored").count()
    again = store_contract(actor=manager, document=document, source=source)
    assert again.version == 1
    assert Contract.objects.filter(code="EX-1").count() == 1
    assert AuditEntry.objects.filter(action="contract.stored").count() == before


def test_a_changed_document_is_a_new_version_and_claims_record_it(loaded, manager):
    run_claim(actor=manager, contract_code="EX-1", period_code="T1")
    source = _source(loaded).replace("price: 300.00", "price: 350.00")
    document = parse_contract(source, filename="EX-1.yaml")
    contract = store_contract(actor=manager, document=document, source=source)
    assert contract.version == 2
    claim = run_claim(actor=manager, contract_code="EX-1", period_code="T1")
    assert claim.contract == contract
    assert claim.lines.filter(trigger="signup").first().amount == 350


def test_rerunning_a_draft_gives_the_same_lines(loaded):
    first = run_claim(actor=None, contract_code="EX-1", period_code="T1")
    lines = list(
        first.lines.values_list(
            "kind", "upn", "trigger", "instance", "amount", "portions", "evidence"
        )
    )
    second = run_claim(actor=None, contract_code="EX-1", period_code="T1")
    assert second.pk == first.pk
    assert (
        list(
            second.lines.values_list(
                "kind", "upn", "trigger", "instance", "amount", "portions", "evidence"
            )
        )
        == lines
    )


def test_periods_are_submitted_in_order(loaded):
    with pytest.raises(ClaimError, match=r"^Submit T1 first: periods are claimed in order\.$"):
        submit_claim(actor=None, contract_code="EX-1", period_code="T2")
    assert not Claim.objects.exists()


def test_a_period_is_submitted_once(loaded):
    submit_claim(actor=None, contract_code="EX-1", period_code="T1")
    submitted = r"^The claim for (EX-1 )?T1 was submitted on \d+ \w{3} \d{4} at \d\d:\d\d: a "
    with pytest.raises(ClaimError, match=submitted):
        submit_claim(actor=None, contract_code="EX-1", period_code="T1")
    with pytest.raises(ClaimError, match=submitted):
        run_claim(actor=None, contract_code="EX-1", period_code="T1")


def test_unknown_contract_or_period(loaded):
    with pytest.raises(ClaimError, match="no contract with code 'NOPE'"):
        run_claim(actor=None, contract_code="NOPE", period_code="T1")
    with pytest.raises(ClaimError, match=r"has no period 'T9' \(periods: T1, T2, T3\)\.$"):
        run_claim(actor=None, contract_code="EX-1", period_code="T9")


def test_submit_records_claimed_achievements_and_audits(loaded, manager):
    claim = submit_claim(actor=manager, contract_code="EX-1", period_code="T1")
    assert ClaimedAchievement.objects.filter(released_by__isnull=True).count() == 5
    entry = AuditEntry.objects.filter(action="claim.submitted").get()
    assert entry.actor == manager and entry.object_id == str(claim.pk)


def _refused(action):
    with pytest.raises(DatabaseError), transaction.atomic():
        action()


def test_the_database_refuses_changes_to_a_submitted_claim(loaded):
    claim = submit_claim(actor=None, contract_code="EX-1", period_code="T1")
    line = claim.lines.first()
    _refused(lambda: Claim.objects.filter(pk=claim.pk).update(total=0))
    _refused(lambda: Claim.objects.filter(pk=claim.pk).update(status="draft"))
    _refused(lambda: Claim.objects.filter(pk=claim.pk).delete())
    _refused(lambda: ClaimLine.objects.filter(pk=line.pk).update(amount=1))
    _refused(lambda: ClaimLine.objects.filter(pk=line.pk).delete())
    _refused(
        lambda: ClaimLine.objects.create(
            claim=claim,
            position=99,
            kind="claim",
            upn="X",
            trigger="signup",
            instance="1",
            achieved_on="2024-09-10",
            amount=1,
            portions={"LA": "1.00"},
        )
    )
    _refused(lambda: ClaimedAchievement.objects.filter(line=line).delete())
    claim.refresh_from_db()
    assert claim.status == "submitted" and f"{claim.total:.2f}" == "1100.02"


def test_the_database_refuses_a_statement_of_many_lines_touching_a_submitted_claim(loaded):
    """Lines are checked per statement over the rows it changed: one line for a submitted
    claim among a draft's refuses the whole statement; a draft's lines go freely."""
    submitted = submit_claim(actor=None, contract_code="EX-1", period_code="T1")
    draft = run_claim(actor=None, contract_code="EX-1", period_code="T2")
    fields = {
        "kind": "claim",
        "upn": "X",
        "trigger": "signup",
        "instance": "1",
        "achieved_on": "2024-09-10",
        "amount": 1,
        "portions": {"LA": "1.00"},
    }
    mixed = [ClaimLine(claim=draft, position=100 + n, **fields) for n in range(3)]
    mixed.append(ClaimLine(claim=submitted, position=99, **fields))
    _refused(lambda: ClaimLine.objects.bulk_create(mixed))
    _refused(lambda: ClaimLine.objects.filter(claim__in=[draft, submitted]).delete())
    ClaimLine.objects.bulk_create(mixed[:3])
    assert ClaimLine.objects.filter(claim=draft, position__gte=100).delete()[0] == 3
    assert submitted.lines.count() == 5


def _pay(payer, amount, period="T1", actor=None, paid_on="2025-02-03"):
    return record_payment(
        actor=actor,
        contract_code="EX-1",
        period_code=period,
        payer=payer,
        amount=Decimal(amount),
        paid_on=dt.date.fromisoformat(paid_on),
        reference=f"REM-{payer}",
    )


@pytest.fixture
def t1_submitted(loaded, time_machine):
    """T1 (due: LA 550.00, FUND 370.02, PHIL 180.00) submitted on 5 Jan 2025; today is
    10 Feb 2025."""
    _on(time_machine, "2025-01-05")
    claim = submit_claim(actor=None, contract_code="EX-1", period_code="T1")
    _on(time_machine, "2025-02-10")
    return claim


def test_payers_pay_in_parts_and_the_claim_is_paid_when_all_is_received(t1_submitted, manager):
    with pytest.raises(ClaimError, match="There is no submitted claim for EX-1 T2"):
        _pay("LA", "50.00", period="T2")
    payment = _pay("LA", "300.00", actor=manager)
    assert (payment.payer_code, payment.recorded_by, str(payment.amount)) == (
        "LA",
        manager,
        "300.00",
    )
    _pay("FUND", "370.02")
    _pay("PHIL", "180.00")
    t1_submitted.refresh_from_db()
    assert t1_submitted.status == "submitted"  # every payer paid something, LA only part
    with pytest.raises(ClaimError, match=r"£250\.01 is more than the £250\.00 LA still owes"):
        _pay("LA", "250.01")
    _pay("LA", "250.00", paid_on="2025-02-10")
    t1_submitted.refresh_from_db()
    assert t1_submitted.status == "paid"
    with pytest.raises(ClaimError, match=r"LA has paid all of its £550\.00 for EX-1 T1"):
        _pay("LA", "1.00")
    entries = AuditEntry.objects.filter(action="claim.payment_recorded").order_by("pk")
    assert [
        (e.changes["payer"], e.changes["amount"], e.changes["due"], e.changes["received"])
        for e in entries
    ] == [
        ("LA", "300.00", "550.00", "300.00"),
        ("FUND", "370.02", "370.02", "370.02"),
        ("PHIL", "180.00", "180.00", "180.00"),
        ("LA", "250.00", "550.00", "550.00"),
    ]
    assert entries[0].summary.endswith("part paid, £300.00 of £550.00")
    assert entries[1].summary.endswith("FUND has paid in full")
    assert entries.last().summary.endswith("every payer has paid in full")
    # paid is the one change allowed; the claim's figures stay
    _refused(lambda: Claim.objects.filter(pk=t1_submitted.pk).update(status="submitted"))
    assert f"{t1_submitted.total:.2f}" == "1100.02"


PAYMENT_REFUSALS = [
    # (payer, amount, paid on, the message)
    ("FUND", "26500.00", "2025-02-03", r"^£26,500\.00 is more than the £370\.02 FUND still owes"),
    ("LA", "-10.00", "2025-02-03", r"^The amount must be more than £0\.00: LA still owes £550"),
    ("LA", "0.00", "2025-02-03", r"^The amount must be more than £0\.00"),
    (
        "LA",
        "550.00",
        "2025-02-11",
        r"^The day paid, 11 Feb 2025, is after today \(10 Feb 2025\)\.$",
    ),
    (
        "LA",
        "550.00",
        "2025-01-04",
        r"^The day paid, 4 Jan 2025, is before the claim was submitted \(5 Jan 2025\)\.$",
    ),
    ("BANK", "1.00", "2025-02-03", r"^The claim for EX-1 T1 has nothing for BANK\.$"),
]


@pytest.mark.parametrize(
    ("payer", "amount", "paid_on", "message"),
    PAYMENT_REFUSALS,
    ids=["over the due", "negative", "zero", "in the future", "before submission", "no portion"],
)
def test_a_payment_is_refused(t1_submitted, payer, amount, paid_on, message):
    with pytest.raises(ClaimError, match=message):
        _pay(payer, amount, paid_on=paid_on)
    assert not Payment.objects.exists()
    t1_submitted.refresh_from_db()
    assert t1_submitted.status == "submitted"


def test_a_payment_on_the_day_of_submission_or_today_is_taken(t1_submitted):
    _pay("LA", "550.00", paid_on="2025-01-05")
    _pay("FUND", "370.02", paid_on="2025-02-10")
    assert Payment.objects.count() == 2


def test_a_credit_is_settled_as_a_negative_amount(loaded):
    """T3 of the worked example owes FUND a credit of 50.01 (the adjustment)."""
    for period in ("T1", "T2"):
        submit_claim(actor=None, contract_code="EX-1", period_code=period)
    load(loaded / "corrected")
    submit_claim(actor=None, contract_code="EX-1", period_code="T3")
    today = timezone.localdate().isoformat()
    with pytest.raises(ClaimError, match=r"owes FUND a credit of £50\.01: record .* negative"):
        _pay("FUND", "50.01", period="T3", paid_on=today)
    with pytest.raises(ClaimError, match=r"£60\.00 is more than the credit of £50\.01"):
        _pay("FUND", "-60.00", period="T3", paid_on=today)
    _pay("FUND", "-50.01", period="T3", paid_on=today)
    _pay("LA", "509.99", period="T3", paid_on=today)
    _pay("PHIL", "40.00", period="T3", paid_on=today)
    assert Claim.objects.get(period_code="T3").status == "paid"


def test_the_database_refuses_a_payment_of_nothing(t1_submitted):
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.create(
            claim=t1_submitted,
            payer_code="LA",
            amount=Decimal("0.00"),
            paid_on=dt.date(2025, 2, 3),
            recorded_at=t1_submitted.submitted_at,
        )


def test_nothing_is_claimed_twice_in_the_database(loaded):
    claim = submit_claim(actor=None, contract_code="EX-1", period_code="T1")
    draft = run_claim(actor=None, contract_code="EX-1", period_code="T2")
    line = claim.lines.get(upn="F201300024003", trigger="signup")
    copy = ClaimLine.objects.create(
        claim=draft,
        position=99,
        kind="claim",
        upn=line.upn,
        trigger="signup",
        instance="1",
        achieved_on=line.achieved_on,
        amount=line.amount,
        portions=line.portions,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        ClaimedAchievement.objects.create(
            contract_code="EX-1", upn=line.upn, trigger="signup", instance="1", line=copy
        )


def test_an_adjustment_releases_the_achievement(loaded):
    for period in ("T1", "T2"):
        submit_claim(actor=None, contract_code="EX-1", period_code=period)
    load(loaded / "corrected")
    submit_claim(actor=None, contract_code="EX-1", period_code="T3")
    released = ClaimedAchievement.objects.get(upn="R201300024002", trigger="engaged")
    assert released.released_by.kind == "adjustment"
    assert released.released_by.claim.period_code == "T3"


def test_cli_errors_are_messages(loaded):
    with pytest.raises(CommandError, match="Submit T1 and T2 first"):
        call_command("claims", "submit", "EX-1", "T3")


def test_cli_exits_1_without_a_traceback(loaded, capsys):
    from linkwork.__main__ import main

    with pytest.raises(SystemExit) as exit_:
        main(["linkwork", "claims", "run", "NOPE", "T1"])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert "no contract with code 'NOPE'" in err and "Traceback" not in err


# --- a period is submitted once it has ended -----------------------------------------


def _on(time_machine, day):
    time_machine.move_to(dt.datetime.fromisoformat(f"{day}T12:00:00+00:00"), tick=False)


def test_a_period_is_not_submitted_before_its_last_day(loaded, time_machine):
    _on(time_machine, "2024-11-22")  # T1 runs to 2024-12-31
    with pytest.raises(ClaimError, match=r"^Can be submitted from 31 Dec 2024, the last day of T1"):
        submit_claim(actor=None, contract_code="EX-1", period_code="T1")
    assert not Claim.objects.exists()
    # a draft can still be computed, and the command refuses the submit just the same
    assert run_claim(actor=None, contract_code="EX-1", period_code="T1").status == "draft"
    with pytest.raises(CommandError, match="Can be submitted from 31 Dec 2024"):
        call_command("claims", "submit", "EX-1", "T1")
    _on(time_machine, "2024-12-31")
    assert submit_claim(actor=None, contract_code="EX-1", period_code="T1").status == "submitted"
    # a period that has not started is refused for its dates, not only for the order
    with pytest.raises(ClaimError, match="Can be submitted from 30 Apr 2025"):
        submit_claim(actor=None, contract_code="EX-1", period_code="T2")


def test_no_draft_is_computed_for_a_period_not_started(loaded, time_machine):
    _on(time_machine, "2024-12-31")  # T2 starts on 1 Jan 2025
    message = r"^Period T2 starts on 1 Jan 2025: no claim can be computed for it before then\.$"
    with pytest.raises(ClaimError, match=message):
        run_claim(actor=None, contract_code="EX-1", period_code="T2")
    with pytest.raises(CommandError, match="Period T2 starts on 1 Jan 2025"):
        call_command("claims", "run", "EX-1", "T2")
    assert not Claim.objects.exists()
    assert not AuditEntry.objects.filter(action="claim.computed").exists()
    _on(time_machine, "2025-01-01")
    assert run_claim(actor=None, contract_code="EX-1", period_code="T2").status == "draft"


def test_a_draft_computed_before_its_period_started_is_out_of_date(loaded, time_machine):
    """Left from before such drafts were refused: it counts for nothing, and is not
    downloaded, until it is computed again once the period has started."""
    _on(time_machine, "2025-01-10")
    draft = run_claim(actor=None, contract_code="EX-1", period_code="T2")
    Claim.objects.filter(pk=draft.pk).update(
        computed_at=dt.datetime(2024, 12, 20, 12, tzinfo=dt.UTC)
    )
    draft.refresh_from_db()
    assert out_of_date(draft) == "computed on 20 Dec 2024, before its period started on 1 Jan 2025"
    with pytest.raises(ClaimError, match="out of date"):
        export_statement(actor=None, claim=draft, payer="LA", fmt="pdf")
    assert out_of_date(run_claim(actor=None, contract_code="EX-1", period_code="T2")) is None


# --- drafts computed before a submit or a new version are out of date ------------------


def test_a_draft_computed_before_an_earlier_period_was_submitted_is_out_of_date(loaded):
    draft = run_claim(actor=None, contract_code="EX-1", period_code="T2")
    assert draft.lines.count() == 6  # T1's five lines, and F's engagement in T2
    assert out_of_date(draft) is None
    submit_claim(actor=None, contract_code="EX-1", period_code="T1")
    draft.refresh_from_db()
    assert out_of_date(draft).startswith("computed before the claim for T1 was submitted on ")
    with pytest.raises(ClaimError, match="out of date .* compute it again"):
        export_statement(actor=None, claim=draft, payer="LA", fmt="xlsx")
    with pytest.raises(ClaimError, match="out of date"):
        export_evidence(actor=None, claim=draft)
    assert not AuditEntry.objects.filter(action__endswith="_exported").exists()
    # submitting recomputes it: T1's lines are not claimed again
    claim = submit_claim(actor=None, contract_code="EX-1", period_code="T2")
    assert f"{claim.total:.2f}" == "79.98" and claim.lines.count() == 1
    assert out_of_date(claim) is None
    again = run_claim(actor=None, contract_code="EX-1", period_code="T3")
    assert out_of_date(again) is None


def test_a_draft_computed_with_an_earlier_version_is_out_of_date(loaded, manager):
    draft = run_claim(actor=manager, contract_code="EX-1", period_code="T1")
    source = _source(loaded).replace("price: 300.00", "price: 350.00")
    store_contract(
        actor=manager, document=parse_contract(source, filename="EX-1.yaml"), source=source
    )
    draft.refresh_from_db()
    assert out_of_date(draft) == (
        "computed with version 1 of the contract, which is now at version 2"
    )
    assert out_of_date(run_claim(actor=manager, contract_code="EX-1", period_code="T1")) is None


# --- who did it -----------------------------------------------------------------------


def test_the_recompute_at_submit_is_the_submitters(loaded, manager):
    call_command("claims", "run", "EX-1", "T1", stdout=io.StringIO())  # by the system
    computed = AuditEntry.objects.get(action="claim.computed")
    claim = submit_claim(actor=manager, contract_code="EX-1", period_code="T1")
    entries = AuditEntry.objects.filter(pk__gt=computed.pk)
    assert [(e.action, e.actor) for e in entries] == [("claim.submitted", manager)]
    (entry,) = entries
    assert entry.summary.startswith("Claim EX-1 T1 recomputed and submitted")
    assert entry.changes["lines"] == 5 and entry.changes["total"] == "1100.02"
    assert entry.changes["draft_total"] == "1100.02"
    assert entry.changes["computed_at"] == claim.computed_at.isoformat()
    assert entry.changes["computed_at"] > entry.changes["draft_computed_at"]


def test_downloads_are_audited(loaded, manager, funder):
    claim = submit_claim(actor=manager, contract_code="EX-1", period_code="T1")
    assert export_statement(actor=funder, claim=claim, payer="LA", fmt="pdf").startswith(b"%PDF")
    assert "C201300024001" in "".join(export_evidence(actor=manager, claim=claim))
    statement, evidence = AuditEntry.objects.filter(action__endswith="_exported").order_by("pk")
    assert (statement.action, statement.actor, statement.object_id) == (
        "claim.statement_exported",
        funder,
        str(claim.pk),
    )
    assert statement.changes == {"payer": "LA", "format": "pdf", "status": "submitted"}
    assert (evidence.action, evidence.actor) == ("claim.evidence_exported", manager)
    assert "with UPNs" in evidence.summary


# --- adjustments say why -------------------------------------------------------------


def test_an_adjustment_after_consent_is_withdrawn_says_so(loaded, manager):
    from linkwork.people.models import Consent
    from linkwork.people.services import withdraw_consent

    submit_claim(actor=manager, contract_code="EX-1", period_code="T1")
    consent = Consent.objects.get(pupil__upn="F201300024003", purpose="evidence")
    withdraw_consent(actor=manager, consent=consent, withdrawn_on=consent.given_on)
    claim = submit_claim(actor=manager, contract_code="EX-1", period_code="T2")
    (adjustment,) = claim.lines.filter(kind="adjustment")
    assert (adjustment.upn, adjustment.trigger, f"{adjustment.amount:.2f}") == (
        "F201300024003",
        "signup",
        "-300.00",
    )
    assert adjustment.evidence[0] == (
        "no longer supported: no evidence consent holds on the day it would be achieved "
        f"(consents: consent #{consent.pk} evidence given 2024-09-10, withdrawn 2024-09-10)"
    )
    assert adjustment.evidence[1] == "reverses the line claimed with"


# --- contracts name instruments that exist -------------------------------------------


def test_a_contract_naming_an_unknown_instrument_or_scale_is_not_stored(loaded, manager):
    source = (
        _source(loaded)
        .replace("score: SDQ/emotional", "score: NOPE/xyz")
        .replace("name: Worked example contract", "name: Changed")
    )
    document = parse_contract(source, filename="EX-1.yaml")  # the instruments not given
    with pytest.raises(DocumentError) as refused:
        store_contract(actor=manager, document=document, source=source)
    assert refused.value.errors == [
        "contracts/EX-1.yaml:31: triggers[3].score: no instrument NOPE is defined "
        "(instruments: SCWBS, SDQ) (NOPE)"
    ]
    assert Contract.objects.filter(code="EX-1").count() == 1


def test_a_package_may_define_the_instrument_its_contract_uses(db, example_package):
    """A package's instruments are read before its contracts, so its contract may use a
    scale it defines; an unknown one is one of the package's located problems, nothing
    stored."""
    from linkwork.measures.shipped import FOLDER
    from linkwork.packages.services import PackageInvalid

    package = example_package / "package"
    contract = package / "contracts" / "EX-1.yaml"
    source = contract.read_text()
    contract.write_text(source.replace("score: SDQ/emotional", "score: ZONE_WB/total"))
    with pytest.raises(PackageInvalid) as refused:
        load(package)
    assert refused.value.errors == [
        "contracts/EX-1.yaml:31: triggers[3].score: no instrument ZONE_WB is defined "
        "(instruments: SCWBS, SDQ) (ZONE_WB)"
    ]
    assert not Contract.objects.exists()
    (package / "instruments").mkdir()
    own = (FOLDER / "scwbs.yaml").read_text().replace("code: SCWBS", "code: ZONE_WB")
    (package / "instruments" / "zone-wb.yaml").write_text(own)
    load(package)
    assert Contract.objects.get(code="EX-1").document["triggers"][2]["score"] == "ZONE_WB/total"
