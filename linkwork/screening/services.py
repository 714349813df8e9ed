"""Writes for screening: rules versions, rounds, and the review of a shortlist."""

import json
import uuid
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from linkwork.accounts.models import Role
from linkwork.audit.services import record
from linkwork.core.documents import DocumentError
from linkwork.core.problems import by_line
from linkwork.core.threads import owns_transaction, read_ahead
from linkwork.measures.queries import current_definitions
from linkwork.people.models import SEN, Pupil, Sex, StatutoryStatus, YearGroup
from linkwork.schools.models import School

from .documents import instrument_problems
from .explanations import STATUTORY_IN_WORDS
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
from .queries import (
    REVIEWED,
    latest_rules,
    may_review,
    open_enrolments,
    screening_batches,
    screening_data_for,
)
from .rules import KEPT, Rules, screen
from .uploads import UPLOADABLE, as_uploaded, more_not_listed, upload_problems, write_package

DECISION_STATUS = {
    Decision.ACCEPT: ProfileStatus.ACCEPTED,
    Decision.DECLINE: ProfileStatus.DECLINED,
    Decision.ADD: ProfileStatus.ADDED,
}


@transaction.atomic
def store_screening_rules(
    *, actor, document: dict, source: str, filename: str = "screening.yaml"
) -> ScreeningRules:
    """Store a checked rules document as the next version; the same document is a no-op.

    A score rule must name an instrument, scale and respondent known to Linkwork (shipped
    with it, or stored: a package's own instruments are stored before its screening
    rules): else DocumentError, located in `source`.
    """
    problems = instrument_problems(
        document, source, filename=filename, instruments=_known_instruments()
    )
    if problems:
        raise DocumentError(problems)
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


def _known_instruments() -> dict[str, dict]:
    """The latest definition of every instrument, by code: those stored, and those shipped
    with Linkwork (a migration stores them in every database; a database emptied by hand,
    as tests do, still knows them)."""
    from linkwork.measures.shipped import shipped_instruments

    shipped = {document["code"]: document for document, _ in shipped_instruments()}
    return {**shipped, **current_definitions()}


def run_screening(*, actor, school, on: date, rules: ScreeningRules | None = None):
    """Screen every pupil on roll at `school` on `on` and store the round.

    Uses the latest rules unless given; a date after today is refused, and so is a date
    the school was already screened on (open that round, or delete it). Stores a risk
    profile per pupil (with the explanation), the shortlist order, the rules version and
    the newest data date. The round comes back with its `result` (the engine's
    `ScreeningResult`).
    """
    (screening_round,) = _screen_schools(actor, [school], on, rules, keep_results=True)
    return screening_round


def run_screening_rounds(*, actor, schools, on: date, rules: ScreeningRules | None = None):
    """Screen every pupil on roll at each of `schools` on `on`: one round per school.

    The same rounds as `run_screening` school by school, in one transaction: the data is
    read one query per batch of schools (about `queries.BATCH` pupils) and each batch's
    profiles are written at once, so time grows with the number of pupils, not of
    schools, and memory stays that of a few batches. Each round is audited. Returns the
    rounds, in school order. A date after today is refused, and so is the whole call
    when any of the schools was already screened on that date: none is screened, and
    every such school is named.
    """
    return _screen_schools(actor, schools, on, rules)


def _check_screening_date(on: date) -> None:
    # A round dated ahead would screen tomorrow's data as if it were on record, and
    # would stand as the school's latest round until then.
    if on > timezone.localdate():
        message = (
            f"The screening date {on.isoformat()} is after today: a round screens data on record."
        )
        raise ValidationError({"on": message})


def _check_not_screened(schools, on: date) -> None:
    """Refuse, naming every one, schools already screened on `on`.

    A second round of a school on one date would stand as its latest round, with none
    of the decisions recorded on the first: the school's review would seem to start
    again. The schools are locked until the rounds are stored, so two runs at once
    cannot both pass.
    """
    # NO KEY UPDATE: new rows referring to the schools (pupils, services) still go in.
    schools = (
        School.objects.select_for_update(no_key=True)
        .filter(pk__in={school.pk for school in schools})
        .annotate(screened=Exists(ScreeningRound.objects.filter(school=OuterRef("pk"), on=on)))
        .order_by("pk")
    )
    screened = sorted((s for s in schools if s.screened), key=lambda s: (s.name, s.pk))
    if screened:
        raise ValidationError(
            [
                f"{school.name} was already screened on {on:%-d %b %Y}: open that round, "
                "or delete it first if nothing is decided."
                for school in screened
            ]
        )


def _screen_schools(actor, schools, on, rules, *, keep_results=False) -> list[ScreeningRound]:
    """Read, screen and store the schools batch by batch, in one transaction.

    Outside a caller's transaction, on PostgreSQL, threads read and screen the next
    batches, each on a connection of its own, while this one stores a batch; and each
    batch's foreign keys are checked as it is stored rather than all at commit. Inside a
    caller's transaction its own rows are visible only to this connection, so batches
    are read and screened here in turn.
    """
    _check_screening_date(on)
    owned = owns_transaction()
    with transaction.atomic():
        _check_not_screened(schools, on)
        rules = _rules_or_latest(rules)
        engine_rules = Rules.from_document(rules.document)
        batches = screening_batches(schools)
        writer = _RoundWriter(
            actor=actor, on=on, rules=rules, schools=[s for b in batches for s in b]
        )
        if owned:
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        shared: dict = {}

        def screen_batch(batch) -> list[_Screened]:
            screened = []
            for school, upns, pupils in screening_data_for(batch, on, engine_rules, shared):
                result = screen(engine_rules, pupils, on)
                screened.append(writer.prepare(school, upns, result, keep_result=keep_results))
            return screened

        if owned and len(batches) > 1:
            screened_batches = read_ahead(screen_batch, batches, name="screening read-ahead")
        else:
            screened_batches = (screen_batch(batch) for batch in batches)
        with closing(screened_batches):
            for screened in screened_batches:
                writer.write(screened)
    return writer.rounds


@transaction.atomic
def delete_screening_round(*, actor, screening_round: ScreeningRound) -> None:
    """Delete a round run by mistake (a wrong date or school), with its profiles.

    Managers only, and only while nothing has been decided on it: once a pupil is
    accepted, declined or added, the round is the record of the school's review.
    """
    if getattr(actor, "role", None) != Role.MANAGER:
        raise PermissionDenied("Only a manager deletes a screening round.")
    screening_round = (
        ScreeningRound.objects.select_for_update()
        .select_related("school", "rules")
        .get(pk=screening_round.pk)
    )
    if (
        screening_round.decisions.exists()
        or screening_round.profiles.filter(status__in=REVIEWED).exists()
    ):
        raise ValidationError(
            "Decisions are recorded on this round: it is the record of the school's review "
            "and is kept."
        )
    record(
        actor=actor,
        action="screening.deleted",
        obj=screening_round,
        summary=f"{screening_round.school.urn} on {screening_round.on}: round deleted, "
        f"{screening_round.pupils_screened} profiles with it",
        changes={
            "school": screening_round.school.urn,
            "on": screening_round.on,
            "rules_version": screening_round.rules.version,
            "run_at": screening_round.run_at,
            "pupils_screened": screening_round.pupils_screened,
            "shortlisted": screening_round.shortlisted,
        },
    )
    screening_round.delete()


def _rules_or_latest(rules: ScreeningRules | None) -> ScreeningRules:
    rules = rules or latest_rules()
    if rules is None:
        raise ValidationError("No screening rules are loaded yet: load a screening.yaml first.")
    return rules


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


@dataclass
class _Screened:
    """One school's round, ready to store: the round (not saved) and its profiles, as
    COPY text on PostgreSQL, else as unsaved RiskProfile rows."""

    round: ScreeningRound
    profiles: str | list[RiskProfile]


class _RoundWriter:
    """Stores rounds, their profiles and their audit entries, a batch at a time.

    `prepare` needs no database (the reading threads call it); `write` stores what it
    prepared. On PostgreSQL the rounds' ids are taken from their sequence first, so the
    profiles can be made ready as COPY text, and go out by one COPY per batch.
    """

    def __init__(self, *, actor, on: date, rules: ScreeningRules, schools):
        self.actor, self.on, self.rules = actor, on, rules
        self.run_by = actor if getattr(actor, "pk", None) else None
        self.rounds: list[ScreeningRound] = []
        self.copy = connection.vendor == "postgresql"
        self.ids = {}
        if self.copy:
            self.ids = dict(
                zip((s.pk for s in schools), _reserve_round_ids(len(schools)), strict=True)
            )
        self.explained = _Explanations(_copy_text)

    def prepare(self, school, upns: dict[int, str], result, *, keep_result=False) -> _Screened:
        screening_round = ScreeningRound(
            pk=self.ids.get(school.pk),
            school=school,
            on=self.on,
            rules=self.rules,
            data_date=result.data_date,
            run_by=self.run_by,
            run_at=timezone.now(),
            pupils_screened=len(result.profiles),
            shortlisted=len(result.shortlist),
            excluded=len(result.excluded),
        )
        if keep_result:
            screening_round.result = result
        ids = {upn: pupil_id for pupil_id, upn in upns.items()}
        rank = {p.upn: n for n, p in enumerate(result.shortlist, start=1)}
        if not self.copy:
            return _Screened(
                screening_round,
                [
                    RiskProfile(
                        round=screening_round,
                        pupil_id=ids[p.upn],
                        risk_areas=p.risk_areas,
                        priority_areas=p.priority_areas,
                        rank=rank.get(p.upn),
                        excluded_reason=p.excluded_reason,
                        explanation=p.detailed_explanation(),
                        status=_status(p),
                    )
                    for p in result.profiles
                ],
            )
        round_id = screening_round.pk
        lines = [
            f"{round_id}\t{ids[p.upn]}\t{p.risk_areas}\t{p.priority_areas}\t"
            f"{rank.get(p.upn, NULL)}\t{_copy_text(p.excluded_reason)}\t"
            f"{self.explained(p)}\t{_status(p)}\n"
            for p in result.profiles
        ]
        return _Screened(screening_round, "".join(lines))

    def write(self, screened: list[_Screened]) -> None:
        """Store a batch: its rounds, their audit entries, then their profiles."""
        rounds = [s.round for s in screened]
        if self.copy:
            ScreeningRound.objects.bulk_create(rounds)
        else:
            for screening_round in rounds:
                screening_round.save()
        for screening_round in rounds:
            self._audit(screening_round)
        self.rounds += rounds
        if not self.copy:
            RiskProfile.objects.bulk_create(
                [p for s in screened for p in s.profiles], batch_size=1000
            )
            return
        table = RiskProfile._meta.db_table
        with connection.cursor() as cursor:
            copy_sql = f"COPY {table} ({', '.join(PROFILE_COLUMNS)}) FROM STDIN"
            with cursor.cursor.copy(copy_sql) as copy:
                for s in screened:
                    copy.write(s.profiles)

    def _audit(self, screening_round: ScreeningRound) -> None:
        record(
            actor=self.actor,
            action="screening.run",
            obj=screening_round,
            summary=f"{screening_round.school.urn} on {self.on}: "
            f"{screening_round.shortlisted} shortlisted of {screening_round.pupils_screened}, "
            f"{screening_round.excluded} excluded",
            changes={
                "school": screening_round.school.urn,
                "on": self.on,
                "rules_version": self.rules.version,
                "data_date": screening_round.data_date,
            },
        )


_EXCLUDED, _SHORTLISTED, _SCREENED = (
    ProfileStatus.EXCLUDED.value,
    ProfileStatus.SHORTLISTED.value,
    ProfileStatus.SCREENED.value,
)


def _status(profile) -> str:
    if profile.excluded_reason:
        return _EXCLUDED
    return _SHORTLISTED if profile.shortlisted else _SCREENED


NULL = "\\N"  # COPY's text for NULL
COMPACT = (",", ":")  # JSON without spaces: less for PostgreSQL to read


def _copy_text(value: str) -> str:
    """A text value as COPY's text format writes it."""
    if not value:
        return value
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def _reserve_round_ids(count: int) -> list[int]:
    """`count` new ids from the rounds' sequence (PostgreSQL), in order."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [ScreeningRound._meta.db_table, count],
        )
        return sorted(row[0] for row in cursor.fetchall())


class _Explanations:
    """A profile's stored explanation as JSON text (passed through `escape`), from each
    area's text.

    Pupils with equal data share verdicts (the engine keeps them), so each verdict's text
    is kept by the verdict itself: a bounded number, held with the verdict so its id
    stays its own. Safe to share between threads (at worst a text is made twice).
    """

    def __init__(self, escape=str):
        self.escape = escape
        self.texts: dict[int, tuple] = {}

    def __call__(self, profile) -> str:
        texts = self.texts
        parts = []
        for verdict in profile.areas:
            known = texts.get(id(verdict))
            if known is None or known[0] is not verdict:
                if len(texts) >= KEPT:
                    texts.clear()
                area_text = json.dumps(
                    {verdict.area: verdict.as_detailed_json()}, separators=COMPACT
                )[1:-1]
                known = texts[id(verdict)] = (verdict, self.escape(area_text))
            parts.append(known[1])
        return "{" + ",".join(parts) + "}"


@transaction.atomic
def review_shortlist(*, actor, screening_round, pupil: Pupil, decision: str, reason: str):
    """Accept or decline a shortlisted pupil, or add one the rules missed, with a reason.

    School staff and Link Workers of the round's school, and managers, may review.
    Statutory cases cannot be added or accepted: statutory services own them. A child
    already enrolled (an enrolment not ended) has nothing left to decide.
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
    if decision != Decision.DECLINE and pupil.statutory_status != StatutoryStatus.NONE:
        # on a round stored before every statutory status was excluded, or since given one
        raise ValidationError(
            f"{pupil.upn} is excluded: statutory status {pupil.statutory_status}."
        )
    if open_enrolments(timezone.localdate()).filter(pupil=pupil).exists():
        raise ValidationError(f"{pupil.name} is already enrolled: there is nothing to decide.")
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
    """Dry-run the package loader over an upload, then the upload's own rules (no dates
    after the day of the upload, a date of birth of a school child, some rows), and keep
    every problem either reports, in line order."""
    from linkwork.packages.resources import BY_NAME
    from linkwork.packages.services import PackageInvalid, load_package

    upload = Upload.objects.select_related("uploaded_by").get(pk=upload_id)
    filename = BY_NAME[upload.resource].filename
    errors, count, report = [], 0, None
    try:
        report = load_package(actor=upload.uploaded_by, path=upload.folder, dry_run=True)
    except PackageInvalid as exc:
        errors, count = exc.errors, exc.count
    own, own_count = upload_problems(
        Path(upload.folder), filename, today=timezone.localdate(upload.uploaded_at)
    )
    if report is None or own:
        listed = _in_line_order(filename, [*errors, *own], count + own_count)
        _finish(
            upload,
            UploadStatus.INVALID,
            errors=as_uploaded(listed, filename, upload.original_name),
            error_count=count + own_count,
        )
    else:
        _finish(
            upload,
            UploadStatus.CHECKED,
            rows=sum(report.rows.values()),
            counts=report.counts,
            finished=False,
        )
    return upload


def _in_line_order(filename: str, errors: list[str], count: int) -> list[str]:
    """Problems from both checks as one list: `file:line: …` by line (those on one line
    in the order found), then any without a line, then how many are not listed."""
    not_listed = (" more problems not listed", " more problem not listed")
    listed = by_line(e for e in errors if not e.endswith(not_listed))
    if count > len(listed):
        listed.append(f"{filename}: {more_not_listed(count - len(listed))}")
    return listed


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


# What a pupils upload may change about a pupil, as each child's history records it.
PUPIL_FIELDS = (
    "school_id",
    "given_name",
    "family_name",
    "date_of_birth",
    "year_group",
    "sex",
    "fsm",
    "sen",
    "eal",
    "statutory_status",
)


def _pupils_in(folder: str) -> dict[str, dict]:
    """{UPN: fields} of the pupils a one-file pupils package names, as stored now."""
    import csv

    path = Path(folder) / "pupils.csv"
    with path.open(encoding="utf-8-sig", newline="") as file:
        upns = {(row.get("upn") or "").strip() for row in csv.DictReader(file)}
    return {
        row["upn"]: row
        for row in Pupil.objects.filter(upn__in=upns).values("upn", "pk", *PUPIL_FIELDS)
    }


def _record_pupil_changes(actor, upload, before: dict, after: dict) -> None:
    """One entry in each child's history for what the upload changed about them (their
    name, year group, flags…), in words with the old and new values, or that it added
    them; unchanged pupils get none."""
    from linkwork.audit.services import changes_between, record_each

    entries = []
    for upn, now in after.items():
        was = before.get(upn)
        fields = {name: now[name] for name in PUPIL_FIELDS}
        old = None if was is None else {name: was[name] for name in PUPIL_FIELDS}
        changes = changes_between(old, fields)
        if was is not None and not changes:
            continue
        entries.append((now["pk"], was, now, changes))
    moved = {
        school
        for _, was, now, changes in entries
        if was is not None and "school_id" in changes
        for school in (was["school_id"], now["school_id"])
    }
    schools = dict(School.objects.filter(pk__in=moved).values_list("pk", "name"))
    by_upload = f" by the upload {upload.original_name}"
    written = []
    for pupil_id, was, now, changes in entries:
        if was is None:
            action, summary = "pupil.added", "Added"
        else:
            action, summary = "pupil.changed", _pupil_changes_in_words(was, now, schools)
            summary = _shortened(summary, AUDIT_SUMMARY - len(by_upload))
        written.append(
            {
                "action": action,
                "pupil": Pupil(pk=pupil_id),
                "summary": f"{summary}{by_upload}",
                "changes": changes,
            }
        )
    record_each(actor=actor, entries=written)


AUDIT_SUMMARY = 300  # the longest summary an audit entry keeps


def _shortened(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


FLAG_LABELS = {
    "fsm": "free school meals",
    "eal": "English as an additional language",
}


def _pupil_changes_in_words(was: dict, now: dict, schools: dict[int, str]) -> str:
    """What changed about a pupil, in words, old → new: "Name changed from Amara Example
    to Amira Example; year group 5 → 6; free school meals: No → Yes"."""
    parts = []

    def changed(name):
        return was[name] != now[name]

    if changed("given_name") or changed("family_name"):
        parts.append(
            f"name changed from {was['given_name']} {was['family_name']} "
            f"to {now['given_name']} {now['family_name']}"
        )
    if changed("school_id"):
        old, new = schools[was["school_id"]], schools[now["school_id"]]
        parts.append(f"school {old} → {new}")
    if changed("date_of_birth"):
        old, new = _day(was["date_of_birth"]), _day(now["date_of_birth"])
        parts.append(f"date of birth {old} → {new}")
    if changed("year_group"):
        old, new = _year_group(was["year_group"]), _year_group(now["year_group"])
        parts.append(f"year group {old} → {new}")
    if changed("sex"):
        old, new = _choice(Sex, was["sex"]), _choice(Sex, now["sex"])
        parts.append(f"sex: {old} → {new}")
    for flag in ("fsm", "eal"):
        if changed(flag):
            old, new = _yes_no(was[flag]), _yes_no(now[flag])
            parts.append(f"{FLAG_LABELS[flag]}: {old} → {new}")
    if changed("sen"):
        old, new = _choice(SEN, was["sen"]), _choice(SEN, now["sen"])
        parts.append(f"special educational needs: {old} → {new}")
    if changed("statutory_status"):
        old, new = _statutory(was["statutory_status"]), _statutory(now["statutory_status"])
        parts.append(f"statutory status: {old} → {new}")
    text = "; ".join(parts)
    return text[:1].upper() + text[1:]


def _day(value) -> str:
    return f"{value:%-d %b %Y}" if value else "not recorded"


def _year_group(value: str) -> str:
    return _choice(YearGroup, value).removeprefix("Year ")


def _choice(choices, value: str) -> str:
    if not value:
        return "not recorded"
    return choices(value).label if value in choices.values else value


def _yes_no(value) -> str:
    return "not recorded" if value is None else ("Yes" if value else "No")


def _statutory(value: str) -> str:
    return STATUTORY_IN_WORDS.get(value, "none")


def load_upload(*, upload_id: int) -> Upload:
    """Load an upload for real (one transaction, by the package loader). A pupils file
    also records, in each child's history, what it changed about them."""
    from linkwork.packages.resources import BY_NAME
    from linkwork.packages.services import PackageInvalid, load_package

    upload = Upload.objects.select_related("uploaded_by").get(pk=upload_id)
    pupils = (Path(upload.folder) / "pupils.csv").is_file()
    try:
        with transaction.atomic():
            before = _pupils_in(upload.folder) if pupils else {}
            report = load_package(actor=upload.uploaded_by, path=upload.folder)
            if pupils:
                after = _pupils_in(upload.folder)
                _record_pupil_changes(upload.uploaded_by, upload, before, after)
    except PackageInvalid as exc:
        # the data changed since the check: nothing was written
        filename = BY_NAME[upload.resource].filename
        errors = as_uploaded(exc.errors, filename, upload.original_name)
        _finish(upload, UploadStatus.FAILED, errors=errors, error_count=exc.count)
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
        + (f", {error_count} problem{'' if error_count == 1 else 's'}" if error_count else ""),
    )
