"""The end of a contract's audit period: the children leave its claims, the accounts'
record stays, and the database lets through that one change and no other."""

import datetime as dt

import pytest
from django.db import DatabaseError, transaction
from django.urls import reverse
from django.utils import timezone

from linkwork.audit.models import AuditEntry
from linkwork.contracts.models import Claim, ClaimedAchievement, ClaimLine
from linkwork.contracts.queries import evidence_past_keeping, evidence_removed_on
from linkwork.contracts.services import (
    ClaimError,
    remove_payment_evidence,
    run_claim,
    submit_claim,
)
from linkwork.contracts.statements import evidence_csv, statement_lines
from linkwork.people.services import apply_retention

from .loader import load

ENDS = dt.date(2025, 8, 31)  # the worked example's contract ends then
KEPT_UNTIL = dt.date(2031, 8, 31)  # and, with six years, its evidence is kept until then
AFTER = KEPT_UNTIL + dt.timedelta(days=1)


@pytest.fixture
def claimed(db, example_package, settings):
    """T1 and T2 submitted, T3 a draft."""
    settings.LINKWORK_PAYMENT_EVIDENCE_YEARS = 6
    load(example_package / "package")
    for period in ("T1", "T2"):
        submit_claim(actor=None, contract_code="EX-1", period_code=period)
    run_claim(actor=None, contract_code="EX-1", period_code="T3")
    return example_package


def _refused(action):
    with pytest.raises(DatabaseError), transaction.atomic():
        action()


def test_kept_until_the_end_of_the_audit_period(claimed):
    assert evidence_past_keeping(KEPT_UNTIL) == []
    with pytest.raises(ClaimError, match="is kept until 31 Aug 2031"):
        remove_payment_evidence(actor=None, contract_code="EX-1", today=KEPT_UNTIL)
    [kept] = evidence_past_keeping(AFTER)
    assert (kept.contract_code, kept.ends_on, kept.kept_until) == ("EX-1", ENDS, KEPT_UNTIL)
    assert kept.lines == ClaimLine.objects.exclude(claim__status="draft").count()


def test_removing_empties_the_lines_and_keeps_the_accounts(claimed):
    submitted = Claim.objects.exclude(status="draft").order_by("period_code")
    totals = [(c.period_code, c.total, c.payer_totals) for c in submitted]
    amounts = list(
        ClaimLine.objects.exclude(claim__status="draft")
        .order_by("claim__period_code", "position")
        .values_list(
            "claim__period_code", "position", "kind", "trigger", "instance", "amount", "portions"
        )
    )
    removed = remove_payment_evidence(actor=None, contract_code="EX-1", today=AFTER)
    assert removed == len(amounts)
    # The draft is gone; the submitted claims and their lines' accounts stay as they were.
    assert not Claim.objects.filter(status="draft").exists()
    assert [(c.period_code, c.total, c.payer_totals) for c in submitted] == totals
    assert (
        list(
            ClaimLine.objects.order_by("claim__period_code", "position").values_list(
                "claim__period_code",
                "position",
                "kind",
                "trigger",
                "instance",
                "amount",
                "portions",
            )
        )
        == amounts
    )
    assert set(ClaimLine.objects.values_list("upn", flat=True)) == {""}
    assert all(line.evidence == [] and line.evidence_removed_at for line in ClaimLine.objects.all())
    assert not ClaimedAchievement.objects.exists()
    entry = AuditEntry.objects.get(action="contract.evidence_removed")
    assert entry.changes == {"lines": removed, "kept_until": "2031-08-31"}
    assert evidence_past_keeping(AFTER) == []
    # Statements and the evidence pack name no child and carry no reference.
    claim = submitted.first()
    assert {row["reference"] for row in statement_lines(claim, "LA")} == {""}
    assert "F201300024003" not in evidence_csv(claim)
    # No claim is run or submitted again.
    with pytest.raises(ClaimError, match="was removed on"):
        run_claim(actor=None, contract_code="EX-1", period_code="T3")
    with pytest.raises(ClaimError, match="was removed on"):
        submit_claim(actor=None, contract_code="EX-1", period_code="T3")


def test_the_database_lets_through_only_the_removal(claimed):
    line = ClaimLine.objects.exclude(claim__status="draft").order_by("id").first()
    lines = ClaimLine.objects.filter(pk=line.pk)
    now = timezone.now()
    # Anything more or less than emptying the UPN and evidence with the date is refused.
    _refused(lambda: lines.update(upn="", evidence=[], evidence_removed_at=now, amount=1))
    _refused(lambda: lines.update(upn="", evidence_removed_at=now))
    _refused(lambda: lines.update(evidence=[], evidence_removed_at=now))
    _refused(lambda: lines.update(upn="", evidence=[]))
    _refused(lambda: ClaimedAchievement.objects.filter(line=line).delete())
    lines.update(upn="", evidence=[], evidence_removed_at=now)
    # Once: the date cannot move, nor the line change again.
    _refused(lambda: lines.update(evidence_removed_at=timezone.now()))
    _refused(lambda: lines.update(instance="X"))
    _refused(lambda: lines.delete())
    # The claimed achievement of an emptied line may now go.
    ClaimedAchievement.objects.filter(line=line).delete()


def test_the_retention_schedule_removes_it(claimed, client, admin_user):
    client.force_login(admin_user)
    report = apply_retention(actor=None, today=AFTER)
    assert report.contracts == ["EX-1"]
    assert evidence_removed_on("EX-1") is not None
    page = client.get(reverse("contracts:contract_detail", kwargs={"code": "EX-1"}))
    text = page.content.decode()
    assert "were removed from" in text and "Compute draft" not in text
    claim = client.get(
        reverse("contracts:claim_detail", kwargs={"code": "EX-1", "period": "T1"})
    ).content.decode()
    assert "F201300024003" not in claim and "removed" in claim


def test_the_command_lists_the_contract_then_removes_it(claimed):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("retention", "--date", AFTER.isoformat(), stdout=out)
    assert "contract EX-1:" in out.getvalue() and "evidence kept until 2031-08-31" in out.getvalue()
    assert evidence_removed_on("EX-1") is None
    out = StringIO()
    call_command("retention", "--apply", "--date", AFTER.isoformat(), stdout=out)
    assert "removed the payment evidence of 1 contracts" in out.getvalue()
    assert evidence_removed_on("EX-1") is not None
