"""Claims after a child's data is erased: the submitted lines stand as payment evidence,
and draft claims holding the child are discarded."""

import datetime as dt

import pytest

from linkwork.contracts.models import Claim, ClaimLine
from linkwork.contracts.services import run_claim, submit_claim
from linkwork.people.erasure import plan_erasure
from linkwork.people.models import Pupil
from linkwork.people.services import erase_child

from .loader import load

BEN = "R201300024002"  # signed up and engaged in T1 in the worked example


@pytest.fixture
def loaded(db, example_package):
    load(example_package / "package")
    return example_package


def test_submitted_lines_are_kept_and_never_reversed(loaded, admin_user, settings):
    settings.LINKWORK_PAYMENT_EVIDENCE_YEARS = 6
    run_claim(actor=None, contract_code="EX-1", period_code="T1")
    submit_claim(actor=None, contract_code="EX-1", period_code="T1")
    kept = list(ClaimLine.objects.filter(upn=BEN).values_list("trigger", "instance", "amount"))
    assert len(kept) == 2

    plan = plan_erasure(Pupil.objects.get(upn=BEN))
    assert plan.claim_lines == 2 and plan.contracts == ["EX-1"]
    assert plan.evidence_kept_until == dt.date(2031, 8, 31)  # the contract ends 2025-08-31
    erasure = erase_child(actor=admin_user, pupil=plan.pupil, reference="SAR-3")
    assert erasure.evidence_kept_until == dt.date(2031, 8, 31)

    claim = run_claim(actor=None, contract_code="EX-1", period_code="T2")
    assert not claim.lines.filter(upn=BEN).exists()  # no adjustment, no new line
    assert [(line.kind, line.upn, line.trigger) for line in claim.lines.all()] == [
        ("claim", "F201300024003", "engaged")
    ]
    assert (
        list(ClaimLine.objects.filter(upn=BEN).values_list("trigger", "instance", "amount")) == kept
    )


def test_a_draft_holding_the_child_is_discarded(loaded, admin_user):
    draft = run_claim(actor=None, contract_code="EX-1", period_code="T1")
    assert draft.lines.filter(upn=BEN).exists()
    plan = plan_erasure(Pupil.objects.get(upn=BEN))
    assert plan.drafts == [draft] and plan.claim_lines == 0
    erasure = erase_child(actor=admin_user, pupil=plan.pupil, reference="SAR-4")
    assert erasure.evidence_kept_until is None
    assert not Claim.objects.filter(pk=draft.pk).exists()
    again = run_claim(actor=None, contract_code="EX-1", period_code="T1")
    assert again.lines.count() == 3 and not again.lines.filter(upn=BEN).exists()


def test_erasing_two_children_of_one_draft_discards_it_once(loaded, admin_user):
    from linkwork.people.services import erase_children

    draft = run_claim(actor=None, contract_code="EX-1", period_code="T1")
    pupils = list(Pupil.objects.filter(upn__in=[BEN, "F201300024003"]))
    erasures = erase_children(actor=admin_user, references={p.pk: "SAR-5" for p in pupils})
    assert len(erasures) == 2 and not Claim.objects.filter(pk=draft.pk).exists()
    again = run_claim(actor=None, contract_code="EX-1", period_code="T1")
    assert set(again.lines.values_list("upn", flat=True)) == {"C201300024001"}
