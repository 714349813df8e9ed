"""Who may open the contracts app's pages (read by the persona walk)."""

import datetime as dt

from linkwork.accounts.models import Role

READERS = {Role.MANAGER, Role.ADMIN, Role.FUNDER}
STAFF = {Role.MANAGER, Role.ADMIN}


def build(world):
    """A contract over the walk cohort: P1, ended yesterday (submitted, with a portion for
    LA), and P2, begun today (a draft)."""
    from linkwork.contracts.documents import parse_contract
    from linkwork.contracts.services import run_claim, store_contract, submit_claim

    start = world.today - dt.timedelta(days=365)
    end = world.today + dt.timedelta(days=365)
    yesterday = world.today - dt.timedelta(days=1)
    source = (
        f"code: WALK-C\nname: Walk contract\nstarts_on: {start}\nends_on: {end}\n"
        f"cohorts: [{world.cohort.code}]\n"
        f"periods:\n  - {{code: P1, starts_on: {start}, ends_on: {yesterday}}}\n"
        f"  - {{code: P2, starts_on: {world.today}, ends_on: {end}}}\n"
        "payers:\n  - {code: LA, name: Walk council}\n  - {code: FUND, name: Walk fund}\n"
        "triggers:\n  - {code: signup, kind: enrolment, price: 300.00, "
        "shares: {LA: 0.5, FUND: 0.5}}\n"
    )
    manager = world.users[Role.MANAGER]
    store_contract(
        actor=manager, document=parse_contract(source, filename="walk.yaml"), source=source
    )
    world.claim = submit_claim(actor=manager, contract_code="WALK-C", period_code="P1")
    world.draft = run_claim(actor=manager, contract_code="WALK-C", period_code="P2")


def _claim(world):
    return {"code": "WALK-C", "period": "P1"}


ACCESS = {
    "contracts:contract_list": {"allowed": READERS, "kwargs": None},
    "contracts:contract_upload": {"allowed": {Role.MANAGER}, "kwargs": None},
    "contracts:child_achievements": {
        "allowed": STAFF,
        "kwargs": lambda world: {"pk": world.pupil.pk},
    },
    # the walk funder pays as LA, a payer of this contract
    "contracts:contract_detail": {"allowed": READERS, "kwargs": lambda world: {"code": "WALK-C"}},
    "contracts:claim_detail": {"allowed": READERS, "kwargs": _claim},
    "contracts:claim_run": {"allowed": {Role.MANAGER}, "kwargs": _claim},  # POST only
    "contracts:claim_submit": {"allowed": {Role.MANAGER}, "kwargs": _claim},  # POST only
    "contracts:claim_paid": {"allowed": {Role.MANAGER}, "kwargs": _claim},  # POST only
    "contracts:claim_evidence": {"allowed": STAFF, "kwargs": _claim},
    "contracts:claim_statement": {
        "allowed": READERS,
        "kwargs": lambda world: {**_claim(world), "payer": "LA", "fmt": "pdf"},
    },
}
