"""Loading and exporting zone data packages (see docs/packages.md)."""

import csv
import json
import time
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from django.db import DatabaseError, connection, transaction

from linkwork.audit.services import record
from linkwork.core.documents import DocumentError

from . import writers
from .documents import document_files, latest_documents, read_document, store_document
from .pipeline import Pipeline
from .resources import BY_FILENAME, BY_NAME, RESOURCES, Resource
from .validation import Checker, Problems, database_indexes


class PackageInvalid(Exception):
    """A package refused as a whole; `errors` are `file:line: column: message (value)`."""

    def __init__(self, errors: list[str], count: int | None = None):
        super().__init__("\n".join(errors))
        self.errors = errors
        self.count = len(errors) if count is None else count


@dataclass
class LoadReport:
    path: str
    dry_run: bool = False
    rows: dict[str, int] = field(default_factory=dict)  # data rows read, per file
    counts: dict[str, dict] = field(default_factory=dict)  # per resource: inserted/updated/…
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per phase
    # seconds spent checking rows, and on the database per resource (the two overlap)
    busy: dict[str, float] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(c["inserted"] or c["updated"] for c in self.counts.values())


@dataclass
class ExportReport:
    path: str
    rows: dict[str, int] = field(default_factory=dict)
    documents: list[str] = field(default_factory=list)


def load_package(*, actor, path, dry_run: bool = False, problem_limit: int = 1000) -> LoadReport:
    """Load a zone data package: check every row of every file, then upsert them all.

    Nothing is written unless the whole package is valid (else PackageInvalid lists
    every problem); rows are matched by their resource's key, unchanged rows are left
    alone and nothing is deleted. A dry run does everything, then rolls back. The files
    are checked and written at once (see `pipeline`), all in one transaction that is
    rolled back when any problem is found.
    """
    root = Path(path)
    if not root.is_dir():
        raise PackageInvalid([f"{root}: not a folder"])
    problems = Problems(limit=problem_limit)
    _check_file_names(root, problems)
    report = LoadReport(path=str(root), dry_run=dry_run)
    clock = time.perf_counter
    started = clock()
    try:
        with transaction.atomic():
            staging = writers.Staging(connection)
            staging.create()
            indexes = database_indexes()
            documents = []
            for kind, filename in document_files(root):
                document, errors = read_document(
                    root, kind, filename, instruments=indexes.instruments
                )
                for error in errors:
                    problems.add_text(filename, error)
                if document is not None:
                    documents.append(document)
                    if kind.name == "instruments":
                        indexes.instruments[document.document["code"]] = document.document
            present = {r.name for r in RESOURCES if (root / r.filename).is_file()}
            writers.begin_writes(connection)
            load = Pipeline(
                root,
                present,
                Checker(indexes, problems),
                staging,
                lambda resource: _write(staging, resource, present, report),
                report.rows,
                report.counts,
            )
            load.run()
            report.counts = _in_file_order(report.counts)
            checked = load.checked_at or clock()
            report.seconds["check"] = checked - started
            report.seconds["write"] = clock() - checked
            report.busy = {"checking": load.checking, **load.database}
            if problems:
                raise PackageInvalid(problems.lines(), len(problems))
            if "responses" in present:
                report.counts["scores_from_responses"] = _score_responses(staging, report)
            refused = []
            for document in documents:
                # A store checks what the parse could not (the instruments a document
                # names, once the package's own are stored): its refusals are the
                # package's problems, and nothing is kept.
                try:
                    stored = store_document(actor=actor, document=document)
                except DocumentError as exc:
                    refused.extend(exc.errors)
                    continue
                tally = report.counts.setdefault(
                    document.kind.name, {"inserted": 0, "updated": 0, "unchanged": 0}
                )
                tally["inserted" if stored else "unchanged"] += 1
            if refused:
                raise PackageInvalid(refused, len(refused))
            record(
                actor=actor,
                action="package.loaded",
                summary=f"Loaded package {root}" + (" (dry run)" if dry_run else ""),
                changes={"path": str(root), "counts": report.counts},
            )
            if dry_run:
                transaction.set_rollback(True)
            elif _changes_engagement(report.counts):
                _refresh_flags_after_commit()
            report.seconds["finish"] = clock() - started - sum(report.seconds.values())
        report.seconds["commit"] = clock() - started - sum(report.seconds.values())
    except DatabaseError as exc:
        # Validation should leave nothing for the database to refuse; if it does, the
        # load is still refused whole rather than ending in a traceback.
        raise PackageInvalid([f"{root}: the database refused the package: {exc}"]) from exc
    return report


# A load that changes any of these may raise or clear engagement flags.
ENGAGEMENT_INPUTS = ("enrolments", "allocations", "registers", "interactions")


def _changes_engagement(counts: dict) -> bool:
    return any(
        counts.get(name, {}).get("inserted", 0) or counts.get(name, {}).get("updated", 0)
        for name in ENGAGEMENT_INPUTS
    )


def _refresh_flags_after_commit() -> None:
    """Once the load commits, every enrolled child's flags are brought up to date in the
    background: registers and interactions that came in a package count as if recorded
    one by one."""
    from linkwork.engagement.tasks import refresh_all_flags_task

    transaction.on_commit(refresh_all_flags_task.enqueue)


def _check_file_names(root: Path, problems: Problems) -> None:
    for entry in sorted(root.iterdir()):
        if entry.is_file() and entry.suffix.lower() in (".csv", ".yaml", ".yml"):
            if entry.name not in BY_FILENAME and entry.name != "screening.yaml":
                problems.add(entry.name, 1, None, "not a file of a zone data package")
        elif entry.is_dir() and entry.name in ("instruments", "contracts"):
            for inner in sorted(entry.iterdir()):
                if inner.suffix != ".yaml" and not inner.name.startswith("."):
                    problems.add(
                        f"{entry.name}/{inner.name}", 1, None, "only .yaml files belong here"
                    )


def _write(staging, resource: Resource, present: set[str], report: LoadReport) -> None:
    """Write one checked resource from its staging table (in file order)."""
    counts, rows = report.counts, report.rows
    name = resource.name
    if name == "link_workers":
        counts["link_workers"] = _write_link_workers(staging.rows(resource))
        return
    if name in ("scores", "responses"):
        # Scores and responses hang off administrations made from both files: written
        # together once both are staged.
        if name == "scores" and "responses" in present:
            return
        if name == "scores" and writers.first_scores_apply(connection, rows[resource.filename]):
            administrations, scores = writers.first_scores(connection, rows[resource.filename])
            counts["administrations"] = administrations.as_dict()
            counts["scores"] = scores.as_dict()
            return
        both = [BY_NAME[n] for n in ("scores", "responses") if n in present]
        _analyze_staged(both, rows)
        counts["administrations"] = writers.upsert(
            connection,
            writers.ADMINISTRATIONS,
            source_rows=sum(rows.get(r.filename, 0) for r in both),
        ).as_dict()
        _analyze_changed(writers.ADMINISTRATIONS, counts)
        for each in both:
            _upsert_all(each, rows, counts, staged_analyzed=True)
        return
    _upsert_all(resource, rows, counts)
    if name == "pupils":
        writers.stamp_received(connection)


def _in_file_order(counts: dict) -> dict:
    """The counts per resource in the order of the files (they are written in another)."""
    order = []
    for resource in RESOURCES:
        if resource.name == "link_workers":
            order.append("link_workers")
        if resource.name in ("scores", "responses") and "administrations" not in order:
            order.append("administrations")
        order.extend(spec.name for spec in writers.UPSERTS.get(resource.name, ()))
    return {name: counts[name] for name in order if name in counts}


def _upsert_all(resource: Resource, rows: dict, counts: dict, staged_analyzed=False) -> None:
    if not staged_analyzed:
        _analyze_staged([resource], rows)
    for spec in writers.UPSERTS[resource.name]:
        staged = None if spec.distinct else rows[resource.filename]  # areas, cohorts: few
        counts[spec.name] = writers.upsert(connection, spec, staged).as_dict()
        _analyze_changed(spec, counts)


def _analyze_staged(resources, rows: dict) -> None:
    """Statistics for staging tables big enough for a bad plan to cost."""
    tables = [
        writers.stage_table(r) for r in resources if rows.get(r.filename, 0) >= writers.ANALYZE_ROWS
    ]
    writers.analyze(connection, *tables)


def _analyze_changed(spec, counts: dict) -> None:
    """Statistics again for a table the files after it may join, once it has changed."""
    written = counts[spec.name]
    if written["inserted"] + written["updated"] >= writers.ANALYZE_ROWS:
        writers.analyze(connection, spec.table)


def _score_responses(staging, report: LoadReport) -> dict:
    """Score each administration the package gave responses for, from all its responses,
    by its instrument's latest definition; scales given in scores.csv keep that score."""
    from itertools import groupby

    from linkwork.measures import scoring
    from linkwork.measures.models import Instrument

    definitions = {}
    for code, definition in Instrument.objects.order_by("code", "version").values_list(
        "code", "definition"
    ):
        definitions[code] = definition
    unknown = set()
    rows = writers.responses_to_score(connection)
    with staging.computed_scores_writer() as stage:
        for (administration, code), answers in groupby(rows, key=lambda row: row[:2]):
            definition = definitions.get(code)
            if definition is None:
                unknown.add(code)
                continue
            responses = {item: value for _, _, item, value in answers}
            for scale, score in scoring.score_response(definition, responses).items():
                if score is not None:
                    stage((administration, scale, str(score)))
    if unknown:
        report.notes.append(
            "responses.csv: not scored, no instrument definition for " + ", ".join(sorted(unknown))
        )
    writers.drop_given_scores(connection)
    return writers.upsert(connection, writers.SCORES_FROM_RESPONSES).as_dict()


def _write_link_workers(rows) -> dict:
    """Link Workers are users: created with no usable password, scoped to their schools.

    A handful of statements whatever the number of Link Workers: the users and their
    school links are read, created and changed in bulk.
    """
    from linkwork.accounts.models import Role, User
    from linkwork.schools.models import School

    Link = User.schools.through
    tally = writers.Counts()
    wanted = {}  # email -> (name, school ids), in file order
    school_ids = dict(School.objects.values_list("urn", "pk"))
    for email, name, school_urns in rows:
        urns = json.loads(school_urns) if isinstance(school_urns, str) else school_urns
        wanted[email] = (name, {school_ids[urn] for urn in urns})
    users = {user.email: user for user in User.objects.filter(email__in=list(wanted))}
    current: dict[int, set] = {user.pk: set() for user in users.values()}
    for user_id, school_id in Link.objects.filter(user_id__in=list(current)).values_list(
        "user_id", "school_id"
    ):
        current[user_id].add(school_id)
    created, renamed, unlinked, links = [], [], [], []
    for email, (name, schools) in wanted.items():
        user = users.get(email)
        if user is None:
            user = User(email=email, name=name, role=Role.LINK_WORKER)
            user.set_unusable_password()
            created.append((user, schools))
            tally.inserted += 1
            continue
        if user.name == name and current[user.pk] == schools:
            tally.unchanged += 1
            continue
        if user.name != name:
            user.name = name
            renamed.append(user)
        if current[user.pk] != schools:
            unlinked.append(user.pk)
            links.extend(Link(user_id=user.pk, school_id=school) for school in schools)
        tally.updated += 1
    User.objects.bulk_create([user for user, _ in created])
    for user, schools in created:
        links.extend(Link(user_id=user.pk, school_id=school) for school in schools)
    if renamed:
        User.objects.bulk_update(renamed, ["name"])
    if unlinked:
        Link.objects.filter(user_id__in=unlinked).delete()
    Link.objects.bulk_create(links)
    return tally.as_dict()


# Export ---------------------------------------------------------------------------------

_FRICTIONLESS_TYPES = {
    "text": {"type": "string"},
    "date": {"type": "date"},
    "bool": {"type": "boolean", "trueValues": ["Y"], "falseValues": ["N"]},
    "int": {"type": "integer"},
    "decimal": {"type": "number"},
    "json": {"type": "string"},
}


def export_package(*, actor, path, chunk_size: int = 5000) -> ExportReport:
    """Write every resource and the latest version of every document as a package.

    Rows are sorted by key and streamed in chunks; every resource file is written, with
    only its header when empty, so exporting the same data always gives the same bytes.
    """
    root = Path(path)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise PackageInvalid([f"{root}: not an empty folder; export writes a new package"])
    root.mkdir(parents=True, exist_ok=True)
    report = ExportReport(path=str(root))
    with transaction.atomic():
        for resource in RESOURCES:
            report.rows[resource.name] = _export_resource(root, resource, chunk_size)
        for filename, source in sorted(latest_documents()):
            target = root / filename
            target.parent.mkdir(exist_ok=True)
            with target.open("w", encoding="utf-8", newline="") as handle:
                handle.write(source)
            report.documents.append(filename)
        _write_descriptor(root, report.documents)
        record(
            actor=actor,
            action="package.exported",
            summary=f"Exported package {root}",
            changes={"path": str(root), "rows": report.rows, "documents": report.documents},
        )
    return report


def _export_resource(root: Path, resource: Resource, chunk_size: int) -> int:
    if resource.name == "link_workers":
        rows = _link_worker_rows()
    else:
        rows = writers.export_rows(connection, resource.name, chunk_size)
    formats = [_FORMATS[column.kind] for column in resource.columns]
    count = 0
    with (root / resource.filename).open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(resource.column_names)
        for row in rows:
            out.writerow([fmt(value) for fmt, value in zip(formats, row, strict=True)])
            count += 1
    return count


def _link_worker_rows():
    from linkwork.accounts.models import Role, User

    users = User.objects.filter(role=Role.LINK_WORKER).prefetch_related("schools")
    for user in sorted(users, key=lambda u: u.email):
        urns = sorted(school.urn for school in user.schools.all())
        yield user.email, user.name, urns


def _text(value) -> str:
    return "" if value is None else str(value)


def _date(value) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, date) else str(value)


def _bool(value) -> str:
    return "" if value is None else ("Y" if value else "N")


def _int(value) -> str:
    return "" if value is None else str(int(value))


def _decimal(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):  # SQLite hands back numeric columns as float
        value = Decimal(repr(value))
    number = Decimal(value).normalize()
    return format(number, "f") if number else "0"


def _list(value) -> str:
    if value is None:
        return ""
    items = json.loads(value) if isinstance(value, str) else value
    return ";".join(items)


_FORMATS = {
    "text": _text,
    "date": _date,
    "bool": _bool,
    "int": _int,
    "decimal": _decimal,
    "json": _list,
}


def _write_descriptor(root: Path, documents: list[str]) -> None:
    resources = []
    for resource in RESOURCES:
        resources.append(
            {
                "name": resource.name.replace("_", "-"),
                "path": resource.filename,
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": {
                    "fields": [
                        {"name": column.name, **_FRICTIONLESS_TYPES[column.kind]}
                        for column in resource.columns
                    ],
                    "missingValues": [""],
                    "primaryKey": list(resource.key),
                },
            }
        )
    for filename in documents:
        name = filename.removesuffix(".yaml").replace("/", "-").replace("_", "-").lower()
        resources.append(
            {"name": name, "path": filename, "format": "yaml", "mediatype": "application/yaml"}
        )
    descriptor = {
        "profile": "data-package",
        "name": "linkwork-zone",
        "title": "Linkwork zone data package",
        "resources": resources,
    }
    text = json.dumps(descriptor, indent=2, ensure_ascii=False) + "\n"
    (root / "datapackage.json").write_text(text, encoding="utf-8")
