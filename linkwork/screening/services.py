"""Writes for screening: rules versions, rounds, and the review of a shortlist."""

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from linkwork.audit.services import record
from linkwork.people.models import Pupil

from .models import (
    Decision,
    ProfileStatus,
    RiskProfile,
    ScreeningRound,
    ScreeningRules,
    ShortlistDecision,
)
from .queries import latest_rules, may_review, screening_data
from .rules import Rules, screen

DECISION_STATUS = {
    Decision.ACCEPT: ProfileStatus.ACCEPTED,
    Decision.DECLINE: ProfileStatus.DECLINED,
    Decision.ADD: ProfileStatus.ADDED,
}


@transaction.atomic
def store_screening_rules(*, actor, document: dict, source: str) -> ScreeningRules:
    """Store a checked rules document as the next version; the same document is a no-op."""
    latest = ScreeningRules.objects.select_for_update().order_by("-version").first()
    if latest is not None and latest.document == document:
        return latest
    rules = ScreeningRules.objects.create(
        version=(latest.version + 1) if latest else 1, document=document, source=source
    )
    record(actor=actor, action="screening_rules.stored", obj=rules,
           summary=f"Screening rules version {rules.version}",
           changes={"version": rules.version})
    return rules


@transaction.atomic
def run_screening(*, actor, school, on: date, rules: ScreeningRules | None = None):
    """Screen every pupil on roll at `school` on `on` and store the round.

    Uses the latest rules unless given. Stores a risk profile per pupil (with the
    explanation), the shortlist order, the rules version and the newest data date.
    """
    rules = rules or latest_rules()
    if rules is None:
        raise ValidationError("No screening rules are loaded yet: load a screening.yaml first.")
    engine_rules = Rules.from_document(rules.document)
    upns, pupils = screening_data(school, on, engine_rules)
    result = screen(engine_rules, pupils, on)
    screening_round = ScreeningRound.objects.create(
        school=school, on=on, rules=rules, data_date=result.data_date,
        run_by=actor if getattr(actor, "pk", None) else None, run_at=timezone.now(),
        pupils_screened=len(result.profiles), shortlisted=len(result.shortlist),
        excluded=len(result.excluded),
    )
    ids = {upn: pupil_id for pupil_id, upn in upns.items()}
    rank = {p.upn: n for n, p in enumerate(result.shortlist, start=1)}
    rows = []
    for profile in result.profiles:
        if profile.excluded_reason:
            status = ProfileStatus.EXCLUDED
        elif profile.shortlisted:
            status = ProfileStatus.SHORTLISTED
        else:
            status = ProfileStatus.SCREENED
        rows.append(
            RiskProfile(
                round=screening_round, pupil_id=ids[profile.upn],
                risk_areas=profile.risk_areas, priority_areas=profile.priority_areas,
                rank=rank.get(profile.upn), excluded_reason=profile.excluded_reason,
                explanation=profile.detailed_explanation(), status=status,
            )
        )
    RiskProfile.objects.bulk_create(rows, batch_size=2000)
    record(
        actor=actor, action="screening.run", obj=screening_round,
        summary=f"{school.urn} on {on}: {len(result.shortlist)} shortlisted of "
                f"{len(result.profiles)}, {len(result.excluded)} excluded",
        changes={"school": school.urn, "on": on, "rules_version": rules.version,
                 "data_date": result.data_date},
    )
    screening_round.result = result
    return screening_round


@transaction.atomic
def review_shortlist(*, actor, screening_round, pupil: Pupil, decision: str, reason: str):
    """Accept or decline a shortlisted pupil, or add one the rules missed, with a reason.

    School staff and Link Workers of the round's school, and managers, may review.
    Statutory cases cannot be added: statutory services own them.
    """
    if not may_review(actor, screening_round.school):
        raise PermissionDenied("Only this school's staff, its Link Workers or a manager review.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Give a reason for the decision."})
    if decision not in Decision.values:
        raise ValidationError({"decision": "Accept, decline or add."})
    if pupil.school_id != screening_round.school_id:
        raise ValidationError("This pupil is not on roll at the round's school.")
    profile = (
        RiskProfile.objects.select_for_update()
        .filter(round=screening_round, pupil=pupil).first()
    )
    if profile is None:
        # on roll since the round ran: no data was screened for them
        profile = RiskProfile(round=screening_round, pupil=pupil,
                              status=ProfileStatus.SCREENED)
    if profile.status == ProfileStatus.EXCLUDED:
        raise ValidationError(f"{pupil.upn} is excluded: {profile.excluded_reason}.")
    on_list = profile.rank is not None or ShortlistDecision.objects.filter(
        round=screening_round, pupil=pupil, decision=Decision.ADD
    ).exists()
    if decision == Decision.ADD and on_list:
        raise ValidationError(f"{pupil.upn} is already on the shortlist: accept or decline.")
    if decision != Decision.ADD and not on_list:
        raise ValidationError(f"{pupil.upn} is not on the shortlist: add them instead.")
    before = profile.status
    profile.status = DECISION_STATUS[decision]
    profile.save()
    made = ShortlistDecision.objects.create(
        round=screening_round, pupil=pupil, decision=decision, reason=reason,
        decided_by=actor, decided_at=timezone.now(),
    )
    record(
        actor=actor, action=f"shortlist.{decision}", obj=made, pupil=pupil,
        summary=f"{made.get_decision_display()}: {reason}",
        changes={"status": [before, profile.status], "round": screening_round.pk},
    )
    return made
