"""Writing engagement rules and flags."""

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from linkwork.audit.services import record
from linkwork.people.models import Enrolment, Pupil
from linkwork.support.models import FollowUp

from .models import EngagementRules, Flag
from .queries import current_rules, engagement_inputs
from .rules import evaluate_flags, parse_rules, rules_as_document

CHUNK = 500


@transaction.atomic
def save_rules(*, actor, source: str) -> EngagementRules:
    """Save a new version of the engagement rules; a bad document raises DocumentError."""
    rules = parse_rules(source, filename="engagement.yaml")
    latest = EngagementRules.objects.aggregate(v=Max("version"))["v"] or 0
    saved = EngagementRules.objects.create(
        version=latest + 1,
        document=rules_as_document(rules),
        source=source,
        saved_at=timezone.now(),
        saved_by=actor if getattr(actor, "pk", None) else None,
    )
    record(
        actor=actor,
        action="engagement.rules_saved",
        obj=saved,
        summary=f"Engagement rules v{saved.version} ({len(rules.rules)} rules)",
    )
    return saved


@dataclass
class FlagChanges:
    raised: list[Flag] = field(default_factory=list)
    cleared: list[Flag] = field(default_factory=list)
    updated: list[Flag] = field(default_factory=list)


CLOSED_WITH_FLAG = "Closed when its flag cleared: the rule that raised it no longer holds."


def follow_up_due(today: dt.date) -> dt.date:
    """A flag's follow-up is due by the Friday of the week it is raised."""
    return today + dt.timedelta(days=(4 - today.weekday()) % 7)


def refresh_flags(*, actor, pupils, today: dt.date | None = None) -> FlagChanges:
    """Re-evaluate the engagement rules for these pupils and bring their flags up to date.

    A rule that newly holds raises a flag and opens a follow-up for the child's Link
    Worker; an open flag whose rule no longer holds (or whose child is no longer
    enrolled) is cleared and kept. Called inside the services that save a register or
    an interaction, so flags change in the same request.
    """
    ids = sorted({p.pk if isinstance(p, Pupil) else int(p) for p in pupils})
    today = today or timezone.localdate()
    changes = FlagChanges()
    if not ids:
        return changes
    version, rules, _ = current_rules()
    # No savepoint of its own: it runs inside the register's or interaction's transaction.
    with transaction.atomic(savepoint=False):
        for start in range(0, len(ids), CHUNK):
            _refresh_chunk(ids[start : start + CHUNK], rules, version, today, changes)
        if changes.raised or changes.cleared or changes.updated:
            only = Pupil(pk=ids[0]) if len(ids) == 1 else None
            record(
                actor=actor,
                action="engagement.flags_refreshed",
                pupil=only,
                summary=(
                    f"{len(changes.raised)} flags raised, {len(changes.cleared)} cleared "
                    f"for {len(ids)} children"
                ),
                changes={
                    "raised": [f"{f.pupil_id}:{f.rule_code}" for f in changes.raised[:200]],
                    "cleared": [f"{f.pupil_id}:{f.rule_code}" for f in changes.cleared[:200]],
                },
            )
    return changes


def _refresh_chunk(ids, rules, version, today, changes: FlagChanges) -> None:
    now = timezone.now()
    inputs = engagement_inputs(ids, today=today, sessions=rules.sessions_needed)
    open_flags = {
        (f.pupil_id, f.rule_code): f
        for f in Flag.objects.select_for_update()
        .filter(pupil_id__in=ids, cleared_at__isnull=True)
        .order_by()
    }
    new: list[tuple[Flag, int | None]] = []
    holding: set[tuple[int, str]] = set()
    for pid in ids:
        child = inputs.get(pid)
        if child is None:
            continue
        for result in evaluate_flags(rules, child.engagement, today):
            key = (pid, result.code)
            holding.add(key)
            flag = open_flags.get(key)
            if flag is None:
                flag = Flag(
                    pupil_id=pid,
                    rule_code=result.code,
                    level=result.level,
                    reason=result.reason[:300],
                    raised_at=now,
                    rules_version=version,
                )
                new.append((flag, child.link_worker_id))
            elif flag.reason != result.reason or flag.level != result.level:
                flag.reason, flag.level = result.reason[:300], result.level
                changes.updated.append(flag)
    cleared = [flag for key, flag in open_flags.items() if key not in holding]
    if cleared:
        Flag.objects.filter(pk__in=[f.pk for f in cleared]).update(cleared_at=now)
        for flag in cleared:
            flag.cleared_at = now
        changes.cleared.extend(cleared)
        # The follow-ups these flags opened have nothing left to follow up; one already
        # completed keeps what its Link Worker wrote.
        FollowUp.objects.filter(
            pk__in=[f.follow_up_id for f in cleared if f.follow_up_id], completed_at__isnull=True
        ).update(completed_at=now, outcome=CLOSED_WITH_FLAG)
    if changes.updated:
        Flag.objects.bulk_update(changes.updated, ["reason", "level"])
    if new:
        follow_ups = FollowUp.objects.bulk_create(
            [
                FollowUp(
                    pupil_id=flag.pupil_id,
                    assigned_to_id=link_worker_id,
                    reason=f"Flag: {flag.reason}"[:300],
                    due_on=follow_up_due(today),
                    opened_at=now,
                )
                for flag, link_worker_id in new
            ]
        )
        flags = [flag for flag, _ in new]
        for flag, follow_up in zip(flags, follow_ups, strict=True):
            flag.follow_up_id = follow_up.pk
        Flag.objects.bulk_create(flags)
        changes.raised.extend(flags)


def refresh_all_flags(*, actor, today: dt.date | None = None) -> FlagChanges:
    """Re-evaluate every enrolled child (and clear flags of children no longer enrolled)."""
    today = today or timezone.localdate()
    enrolled = set(
        Enrolment.objects.filter(enrolled_on__lte=today).values_list("pupil_id", flat=True)
    )
    flagged = set(Flag.objects.filter(cleared_at__isnull=True).values_list("pupil_id", flat=True))
    return refresh_flags(actor=actor, pupils=enrolled | flagged, today=today)


@dataclass
class DigestReport:
    sent: int = 0
    skipped: int = 0


def send_daily_digests(
    *, actor, today: dt.date | None = None, refresh: bool = True
) -> DigestReport:
    """Email each Link Worker their children's open flags and their follow-ups due.

    Flags are refreshed first so rules that hold by the passing of time (no contact,
    review overdue) are current. A Link Worker with nothing to report gets no email.
    """
    from django.conf import settings
    from django.core.mail import EmailMessage, get_connection
    from django.template.loader import render_to_string

    from linkwork.accounts.models import Role, User

    from .queries import digest_for

    today = today or timezone.localdate()
    if refresh:
        refresh_all_flags(actor=actor, today=today)
    report = DigestReport()
    messages = []
    for worker in User.objects.filter(role=Role.LINK_WORKER, is_active=True).order_by("email"):
        digest = digest_for(worker, today)
        if not digest["flags"] and not digest["follow_ups"]:
            report.skipped += 1
            continue
        body = render_to_string("engagement/digest.txt", {"worker": worker, **digest})
        subject = (
            f"Linkwork {today:%a %d %b}: {len(digest['flags'])} open flags, "
            f"{len(digest['follow_ups'])} follow-ups due"
        )
        messages.append(EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [worker.email]))
    if messages:
        get_connection().send_messages(messages)
    report.sent = len(messages)
    record(
        actor=actor,
        action="engagement.digests_sent",
        summary=f"Daily digests for {today}: {report.sent} sent, {report.skipped} with nothing",
    )
    return report
