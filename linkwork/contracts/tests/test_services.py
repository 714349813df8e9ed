"""Storing contracts, running and submitting claims, and the database's guarantees."""

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, IntegrityError, transaction

from linkwork.audit.models import AuditEntry
from linkwork.contracts.documents import parse_contract
from linkwork.contracts.models import Claim, ClaimedAchievement, ClaimLine, Contract
from linkwork.contracts.services import (
    ClaimError,
    mark_claim_paid,
    run_claim,
    store_contract,
    submit_claim,
)

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
    with pytest.raises(ClaimError, match="submit the claims for T1 before T2"):
        submit_claim(actor=None, contract_code="EX-1", period_code="T2")
    assert not Claim.objects.exists()


def test_a_period_is_submitted_once(loaded):
    submit_claim(actor=None, contract_code="EX-1", period_code="T1")
    with pytest.raises(ClaimError, match="was submitted on"):
        submit_claim(actor=None, contract_code="EX-1", period_code="T1")
    with pytest.raises(ClaimError, match="was submitted on"):
        run_claim(actor=None, contract_code="EX-1", period_code="T1")


def test_unknown_contract_or_period(loaded):
    with pytest.raises(ClaimError, match="no contract with code 'NOPE'"):
        run_claim(actor=None, contract_code="NOPE", period_code="T1")
    with pytest.raises(ClaimError, match=r"has no period 'T9' \(periods: T1, T2, T3\)"):
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


def test_marking_paid_is_the_one_change_allowed(loaded):
    submit_claim(actor=None, contract_code="EX-1", period_code="T1")
    claim = mark_claim_paid(actor=None, contract_code="EX-1", period_code="T1")
    assert claim.status == "paid"
    _refused(lambda: Claim.objects.filter(pk=claim.pk).update(status="submitted"))


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
    with pytest.raises(CommandError, match="submit the claims for T1, T2 before T3"):
        call_command("claims", "submit", "EX-1", "T3")


def test_cli_exits_1_without_a_traceback(loaded, capsys):
    from linkwork.__main__ import main

    with pytest.raises(SystemExit) as exit_:
        main(["linkwork", "claims", "run", "NOPE", "T1"])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert "no contract with code 'NOPE'" in err and "Traceback" not in err
