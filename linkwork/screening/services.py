"""Writes for screening: rules versions, rounds, and the review of a shortlist."""

import json
import uuid
from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
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
    Upload,
    UploadStatus,
)
from .queries import latest_rules, may_review, screening_data_by_school
from .rules import Rules, screen
from .uploads import UPLOADABLE, write_package

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
    record(
        actor=actor,
        action="screening_rules.stored",
        obj=rules,
        summary=f"Screening rules version {rules.version}",
        changes={"version": rules.version},
    )
    return rules


@transaction.atomic
def run_screening(*, actor, school, on: date, rules: ScreeningRules | None = None):
    """Screen every pupil on roll at `school` on `on` and store the round.

    Uses the latest rules unless given. Stores a risk profile per pupil (with the
    explanation), the shortlist order, the rules version and the newest data date.
    The round comes back with its `result` (the engine's `ScreeningResult`).
    """
    rules = _rules_or_latest(rules)
    engine_rules = Rules.from_document(rules.document)
    with _ProfileWriter() as writer:
        for _, upns, pupils in screening_data_by_school([school], on, engine_rules):
            result = screen(engine_rules, pupils, on)
            screening_round = _store_round(actor, school, on, rules, upns, result, writer)
    screening_round.result = result
    return screening_round


@transaction.atomic
def run_screening_rounds(*, actor, schools, on: date, rules: ScreeningRules | None = None):
    """Screen every pupil on roll at each of `schools` on `on`: one round per school.

    The same rounds as `run_screening` school by school, in one transaction: the data of
    all the schools is read in four streamed queries and the profiles are written in
    large batches, so time grows with the number of pupils, not of schools, and memory
    stays that of one school. Each round is audited. Returns the rounds, in school order.
    """
    rules = _rules_or_latest(rules)
    engine_rules = Rules.from_document(rules.document)
    rounds = []
    with _ProfileWriter() as writer:
        for school, upns, pupils in screening_data_by_school(schools, on, engine_rules):
            result = screen(engine_rules, pupils, on)
            rounds.append(_store_round(actor, school, on, rules, upns, result, writer))
    return rounds


def _rules_or_latest(rules: ScreeningRules | None) -> ScreeningRules:
    rules = rules or latest_rules()
    if rules is None:
        raise ValidationError("No screening rules are loaded yet: load a screening.yaml first.")
    return rules


def _store_round(actor, school, on, rules, upns, result, writer) -> ScreeningRound:
    """Store one school's round, its profiles (through `writer`) and its audit entry."""
    screening_round = ScreeningRound.objects.create(
        school=school,
        on=on,
        rules=rules,
        data_date=result.data_date,
        run_by=actor if getattr(actor, "pk", None) else None,
        run_at=timezone.now(),
        pupils_screened=len(result.profiles),
        shortlisted=len(result.shortlist),
        excluded=len(result.excluded),
    )
    ids = {upn: pupil_id for pupil_id, upn in upns.items()}
    rank = {p.upn: n for n, p in enumerate(result.shortlist, start=1)}
    for profile in result.profiles:
        if profile.excluded_reason:
            status = ProfileStatus.EXCLUDED
        elif profile.shortlisted:
            status = ProfileStatus.SHORTLISTED
        else:
            status = ProfileStatus.SCREENED
        writer.add(screening_round.pk, ids[profile.upn], profile, rank.get(profile.upn), status)
    record(
        actor=actor,
        action="screening.run",
        obj=screening_round,
        summary=f"{school.urn} on {on}: {len(result.shortlist)} shortlisted of "
        f"{len(result.profiles)}, {len(result.excluded)} excluded",
        changes={
            "school": school.urn,
            "on": on,
            "rules_version": rules.version,
            "data_date": result.data_date,
        },
    )
    return screening_round


PROFILE_COLUMNS = (
    "round_id",
    "pupil_id",
    "risk_areas",
    "priority_areas",
    "rank",
    "excluded_reason",
    "explanation",
    "status",
)


class _ProfileWriter:
    """Stores risk profiles in large batches: COPY on PostgreSQL, where a borough is tens
    of thousands of rows, else bulk_create. Used as a context manager, which writes the
    last batch."""

    BATCH = 5000

    def __init__(self):
        self.rows = []
        self.copy = connection.vendor == "postgresql"

    def __enter__(self):
        return self

    def __exit__(self, kind, error, trace):
        if kind is None:
            self.flush()

    def add(self, round_id: int, pupil_id: int, profile, rank: int | None, status) -> None:
        explanation = profile.detailed_explanation()
        self.rows.append(
            (
                round_id,
                pupil_id,
                profile.risk_areas,
                profile.priority_areas,
                rank,
                profile.excluded_reason,
                json.dumps(explanation) if self.copy else explanation,
                status.value,
            )
        )
        if len(self.rows) >= self.BATCH:
            self.flush()

    def flush(self) -> None:
        rows, self.rows = self.rows, []
        if not rows:
            return
        if not self.copy:
            RiskProfile.objects.bulk_create(
                [RiskProfile(**dict(zip(PROFILE_COLUMNS, row, strict=True))) for row in rows],
                batch_size=1000,
            )
            return
        table = RiskProfile._meta.db_table
        with connection.cursor() as cursor:
            copy_sql = f"COPY {table} ({', '.join(PROFILE_COLUMNS)}) FROM STDIN"
            with cursor.cursor.copy(copy_sql) as copy:
                for row in rows:
                    copy.write_row(row)


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
        RiskProfile.objects.select_for_update().filter(round=screening_round, pupil=pupil).first()
    )
    if profile is None:
        # on roll since the round ran: no data was screened for them
        profile = RiskProfile(round=screening_round, pupil=pupil, status=ProfileStatus.SCREENED)
    if profile.status == ProfileStatus.EXCLUDED:
        raise ValidationError(f"{pupil.upn} is excluded: {profile.excluded_reason}.")
    on_list = (
        profile.rank is not None
        or ShortlistDecision.objects.filter(
            round=screening_round, pupil=pupil, decision=Decision.ADD
        ).exists()
    )
    if decision == Decision.ADD and on_list:
        raise ValidationError(f"{pupil.upn} is already on the shortlist: accept or decline.")
    if decision != Decision.ADD and not on_list:
        raise ValidationError(f"{pupil.upn} is not on the shortlist: add them instead.")
    before = profile.status
    profile.status = DECISION_STATUS[decision]
    profile.save()
    made = ShortlistDecision.objects.create(
        round=screening_round,
        pupil=pupil,
        decision=decision,
        reason=reason,
        decided_by=actor,
        decided_at=timezone.now(),
    )
    record(
        actor=actor,
        action=f"shortlist.{decision}",
        obj=made,
        pupil=pupil,
        summary=f"{made.get_decision_display()}: {reason}",
        changes={"status": [before, profile.status], "round": screening_round.pk},
    )
    return made


def _upload_folder() -> Path:
    return Path(settings.MEDIA_ROOT) / "uploads" / uuid.uuid4().hex


@transaction.atomic
def receive_upload(*, actor, resource: str, original_name: str, data: bytes) -> Upload:
    """Keep an uploaded CSV or XLSX file as a one-file package and queue its check.

    Raises UploadError for a file that is neither; nothing is stored then.
    """
    from linkwork.packages.resources import RESOURCES

    filenames = {r.name: r.filename for r in RESOURCES}
    if resource not in UPLOADABLE or resource not in filenames:
        raise ValidationError({"resource": f"Not a file that can be uploaded: {resource}."})
    folder = _upload_folder()
    write_package(
        folder, resource_filename=filenames[resource], original_name=original_name, data=data
    )
    upload = Upload.objects.create(
        resource=resource,
        original_name=original_name[:255],
        folder=str(folder),
        uploaded_by=actor,
        uploaded_at=timezone.now(),
        status=UploadStatus.CHECKING,
    )
    record(
        actor=actor,
        action="upload.received",
        obj=upload,
        summary=f"{original_name} as {filenames[resource]}",
    )
    from .tasks import check_upload_task

    transaction.on_commit(lambda: check_upload_task.enqueue(upload.pk))
    return upload


def check_upload(*, upload_id: int) -> Upload:
    """Dry-run the package loader over an upload and keep every problem it reports."""
    from linkwork.packages.services import PackageInvalid, load_package

    upload = Upload.objects.select_related("uploaded_by").get(pk=upload_id)
    try:
        report = load_package(actor=upload.uploaded_by, path=upload.folder, dry_run=True)
    except PackageInvalid as exc:
        _finish(upload, UploadStatus.INVALID, errors=exc.errors, error_count=exc.count)
    else:
        _finish(
            upload,
            UploadStatus.CHECKED,
            rows=sum(report.rows.values()),
            counts=report.counts,
            finished=False,
        )
    return upload


@transaction.atomic
def start_upload_load(*, actor, upload: Upload) -> Upload:
    """Queue the load of an upload whose check found no problem."""
    upload = Upload.objects.select_for_update().get(pk=upload.pk)
    if upload.status != UploadStatus.CHECKED:
        raise ValidationError(f"This upload cannot be loaded now ({upload.get_status_display()}).")
    upload.status = UploadStatus.LOADING
    upload.save(update_fields=["status"])
    record(actor=actor, action="upload.load_started", obj=upload, summary=upload.original_name)
    from .tasks import load_upload_task

    transaction.on_commit(lambda: load_upload_task.enqueue(upload.pk))
    return upload


def load_upload(*, upload_id: int) -> Upload:
    """Load an upload for real (one transaction, by the package loader)."""
    from linkwork.packages.services import PackageInvalid, load_package

    upload = Upload.objects.select_related("uploaded_by").get(pk=upload_id)
    try:
        report = load_package(actor=upload.uploaded_by, path=upload.folder)
    except PackageInvalid as exc:
        # the data changed since the check: nothing was written
        _finish(upload, UploadStatus.FAILED, errors=exc.errors, error_count=exc.count)
    else:
        _finish(upload, UploadStatus.LOADED, rows=sum(report.rows.values()), counts=report.counts)
    return upload


@transaction.atomic
def _finish(upload, status, *, errors=(), error_count=0, rows=None, counts=None, finished=True):
    upload.status = status
    upload.errors = list(errors)
    upload.error_count = error_count
    if rows is not None:
        upload.rows = rows
    if counts is not None:
        upload.counts = counts
    upload.finished_at = timezone.now() if finished else None
    upload.save()
    record(
        actor=upload.uploaded_by,
        action=f"upload.{status}",
        obj=upload,
        summary=f"{upload.original_name}: {upload.get_status_display()}"
        + (f", {error_count} problems" if error_count else ""),
    )
