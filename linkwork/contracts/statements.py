"""Claim statements per payer (XLSX, PDF) and the evidence pack (CSV).

A payer's statement carries the claim's lines that have a portion for that payer. It
names no child: each is identified by a pseudonymous reference, stable for a child
within a contract (so an adjustment can be matched to the line it reverses), which only
the programme can map back to a UPN. The evidence pack, for the programme's managers and
the auditors they show it to, carries the UPN, the reference and every line's evidence.

Every line is presented the same way in every download and on the pages: an adjustment
has no date of its own (its `Achieved on` is blank); it names the line it reverses and
that line's date under `Reverses`, and why, in words a payer may read. A draft's files
say so: their names end in -DRAFT, the statements open with "DRAFT — not a claim", and
every row of the evidence pack has the status DRAFT in its first column.
"""

import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal

from django.db.models.fields.json import KT
from django.utils import timezone
from django.utils.crypto import salted_hmac

from linkwork.core.spreadsheets import safe_row

from .achievements import reason_in_words
from .models import Claim, ClaimLine, ClaimLineKind, ClaimStatus
from .queries import line_batches, reversed_lines
from .terms import terms_from_document

STATEMENT_COLUMNS = [
    "Line",
    "Kind",
    "Child reference",
    "Trigger",
    "Instance",
    "Achieved on",
    "Line amount",
    "Payer portion",
    "Reverses",
    "Reversed line achieved on",
    "Why reversed",
]
# Pounds with a thousands separator, negatives with a minus sign.
CURRENCY = '"£"#,##0.00;-"£"#,##0.00'
DATE = "yyyy-mm-dd"
DATETIME = "yyyy-mm-dd hh:mm"
ADJUSTMENT_NOTE = (
    "An adjustment reverses a line of an earlier claim: it has no date of its own. "
    "'Reverses' names the line reversed and gives that line's date; 'Why reversed' says why."
)
DRAFT_TITLE = "DRAFT — not a claim"
DRAFT_NOTE = (
    "A draft shows what the data supports today. It is not a claim: nothing is owed on it, "
    "and the claim submitted may differ."
)
# The evidence pack's first column: a spreadsheet keeps it with each row when the rows
# are sorted, filtered or copied, and its header stays the first row.
EVIDENCE_COLUMNS = [
    "Status",
    "Line",
    "Kind",
    "UPN",
    "Child reference",
    "Trigger",
    "Instance",
    "Achieved on",
    "Amount",
    "Portions",
    "Reverses",
    "Reversed line achieved on",
    "Why reversed",
    "Evidence",
]


@dataclass(frozen=True)
class Reversal:
    """What an adjustment reverses: the line (its claim's period and position; blank
    once the children were removed from the claims), that line's date, and why in
    words."""

    period: str
    position: int | None
    achieved_on: dt.date | None
    why: str

    @property
    def line(self) -> str:
        return f"{self.period} line {self.position}" if self.period else ""

    def __str__(self) -> str:
        """As the pages write it: 'T1 line 5, achieved 2024-12-31'."""
        if not self.period:
            return ""
        if self.achieved_on is None:
            return self.line
        return f"{self.line}, achieved {self.achieved_on.isoformat()}"


def is_draft(claim: Claim) -> bool:
    return claim.status == ClaimStatus.DRAFT


def file_name(claim: Claim, stem: str, ext: str) -> str:
    """A download's file name: a draft's ends in -DRAFT."""
    return f"{stem}{'-DRAFT' if is_draft(claim) else ''}.{ext}"


def reversals(claim: Claim, lines) -> dict[int, Reversal]:
    """{line id: Reversal} for the adjustments among `lines` (rows of `claim`): two
    queries when there are any, none otherwise. Only the first evidence item of each is
    read (why it was reversed), not the evidence it carries of the line reversed."""
    adjustments = [line for line in lines if line.kind == ClaimLineKind.ADJUSTMENT]
    if not adjustments:
        return {}
    keys = {(line.upn, line.trigger, line.instance) for line in adjustments if line.upn}
    found = reversed_lines(claim, keys) if keys else {}
    first_items = dict(
        ClaimLine.objects.filter(pk__in=[line.pk for line in adjustments])
        .annotate(why=KT("evidence__0"))
        .values_list("pk", "why")
    )
    out = {}
    for line in adjustments:
        period, position, achieved_on = found.get(
            (line.upn, line.trigger, line.instance), ("", None, None)
        )
        out[line.pk] = Reversal(
            period, position, achieved_on, reason_in_words(first_items.get(line.pk))
        )
    return out


def child_reference(contract_code: str, upn: str) -> str:
    """A pseudonymous reference for a child within a contract (keyed by the site secret)."""
    digest = salted_hmac("linkwork.contracts.child_reference", f"{contract_code}:{upn}")
    return "C-" + digest.hexdigest()[:10].upper()


def _reference(contract_code: str, upn: str) -> str:
    """A line's child reference; none once the line's UPN was removed at the end of the
    contract's audit period."""
    return child_reference(contract_code, upn) if upn else ""


def _money(value) -> str:
    return f"{Decimal(value):.2f}"


def statement_lines(claim: Claim, payer: str, lines=None) -> list[dict]:
    """The lines of `claim` (or of `lines`, some of them) with a portion for `payer`, as a
    funder may see them: no UPN, no evidence. An adjustment has no `achieved_on`; its
    `reversal` names the line it reverses, that line's date and why."""
    rows = claim.lines.order_by("position") if lines is None else lines
    rows = [line for line in rows.defer("evidence") if payer in line.portions]
    reversed_ = reversals(claim, rows)
    return [
        {
            "position": line.position,
            "kind": line.kind,
            "reference": _reference(claim.contract_code, line.upn),
            "trigger": line.trigger,
            "instance": line.instance,
            "achieved_on": line.achieved_on,
            "amount": line.amount,
            "portion": Decimal(line.portions[payer]),
            "reversal": reversed_.get(line.pk),
        }
        for line in rows
    ]


def _reversal_cells(reversal: Reversal | None) -> list:
    """The Reverses, Reversed line achieved on and Why reversed cells of a line."""
    if reversal is None:
        return ["", None, ""]
    return [reversal.line, reversal.achieved_on, reversal.why]


def _heading(claim: Claim, payer: str) -> list[tuple]:
    """(label, value) rows above a statement's lines: values as data (dates, numbers)."""
    dates = terms_from_document(claim.contract.document).period(claim.period_code)
    submitted = None
    if claim.submitted_at:
        submitted = timezone.localtime(claim.submitted_at).replace(tzinfo=None, microsecond=0)
    return [
        ("Contract", f"{claim.contract_code} (version {claim.contract.version})"),
        ("Period", claim.period_code),
        ("Period starts", dates.starts_on),
        ("Period ends", dates.ends_on),
        ("Status", claim.status),
        ("Submitted", submitted if submitted else "not submitted"),
        ("Payer", payer),
        ("Total for payer", Decimal(claim.payer_totals.get(payer, "0"))),
    ]


def _text(value) -> str:
    if isinstance(value, Decimal):
        return _money(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def statement_xlsx(claim: Claim, payer: str) -> bytes:
    """The statement as a spreadsheet: amounts as numbers in pounds, dates as dates, a
    total row under the lines; a draft's first row says it is not a claim."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "DRAFT statement" if is_draft(claim) else "Statement"
    if is_draft(claim):
        sheet.append([DRAFT_TITLE])
        sheet.cell(1, 1).font = Font(bold=True, size=16, color="C00000")
        sheet.append([DRAFT_NOTE])
        # and on every printed page
        sheet.oddHeader.center.text = DRAFT_TITLE
    formats = {Decimal: CURRENCY, dt.datetime: DATETIME, dt.date: DATE}
    for label, value in _heading(claim, payer):
        sheet.append(safe_row([label, value]))
        sheet.cell(sheet.max_row, 2).number_format = formats.get(type(value), "General")
    sheet.append([])
    sheet.append(safe_row(STATEMENT_COLUMNS))
    lines = statement_lines(claim, payer)
    for row in lines:
        sheet.append(
            safe_row(
                [
                    row["position"],
                    row["kind"],
                    row["reference"],
                    row["trigger"],
                    row["instance"],
                    row["achieved_on"],
                    row["amount"],
                    row["portion"],
                    *_reversal_cells(row["reversal"]),
                ]
            )
        )
        sheet.cell(sheet.max_row, 6).number_format = DATE
        sheet.cell(sheet.max_row, 7).number_format = CURRENCY
        sheet.cell(sheet.max_row, 8).number_format = CURRENCY
        sheet.cell(sheet.max_row, 10).number_format = DATE
    # The total is written as a number, not a formula: the statement is a record.
    total = sum((row["portion"] for row in lines), Decimal("0.00"))
    sheet.append(["Total", f"{len(lines)} lines", None, None, None, None, None, total])
    sheet.cell(sheet.max_row, 8).number_format = CURRENCY
    if any(row["kind"] == ClaimLineKind.ADJUSTMENT for row in lines):
        sheet.append([])
        sheet.append([ADJUSTMENT_NOTE])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _pdf_text(text: str) -> str:
    """Text for the PDF's core fonts, which are WinAnsi-encoded: characters of Windows-1252
    beyond Latin-1 (the em dash) are passed as their byte, anything else as '?'."""
    return text.encode("cp1252", "replace").decode("latin-1")


# The PDF's columns: widths (mm, 277 across landscape A4) and titles on two lines.
PDF_COLUMNS = [
    (11, ("Line", "")),
    (19, ("Kind", "")),
    (25, ("Child", "reference")),
    (22, ("Trigger", "")),
    (20, ("Instance", "")),
    (19, ("Achieved", "on")),
    (22, ("Line", "amount")),
    (22, ("Payer", "portion")),
    (28, ("Reverses", "")),
    (24, ("Reversed line", "achieved on")),
    (65, ("Why reversed", "")),
]


def statement_pdf(claim: Claim, payer: str) -> bytes:
    from fpdf import FPDF

    draft = is_draft(claim)

    class Statement(FPDF):
        def header(self):
            # A draft says so at the top of every page.
            if draft:
                self.set_font("helvetica", "B", 16)
                self.set_text_color(192, 0, 0)
                self.cell(0, 9, _pdf_text(DRAFT_TITLE), new_x="LMARGIN", new_y="NEXT")
                self.set_text_color(0, 0, 0)

    pdf = Statement(orientation="L", format="A4")
    pdf.set_title(
        f"{'DRAFT ' if draft else ''}Claim statement {claim.contract_code} "
        f"{claim.period_code} {payer}"
    )
    pdf.add_page()
    if draft:
        pdf.set_font("helvetica", size=10)
        pdf.multi_cell(0, 5, _pdf_text(DRAFT_NOTE), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    pdf.set_font("helvetica", "B", 14)
    pdf.cell(
        0,
        10,
        _pdf_text(f"Claim statement: {claim.contract_code} {claim.period_code} for {payer}"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("helvetica", size=10)
    for label, value in _heading(claim, payer):
        pdf.cell(0, 6, _pdf_text(f"{label}: {_text(value)}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    widths = [width for width, _ in PDF_COLUMNS]
    pdf.set_font("helvetica", "B", 8)
    for border, part in (("LTR", 0), ("LBR", 1)):
        for width, titles in PDF_COLUMNS:
            pdf.cell(width, 4, titles[part], border=border)
        pdf.ln()
    pdf.set_font("helvetica", size=8)
    lines = statement_lines(claim, payer)
    for row in lines:
        line, reversed_on, why = _reversal_cells(row["reversal"])
        values = [
            str(row["position"]),
            row["kind"],
            row["reference"],
            row["trigger"],
            row["instance"],
            row["achieved_on"].isoformat() if row["achieved_on"] else "",
            _money(row["amount"]),
            _money(row["portion"]),
            line,
            reversed_on.isoformat() if reversed_on else "",
            why,
        ]
        for index, (width, value) in enumerate(zip(widths, values, strict=True)):
            pdf.cell(width, 6, _pdf_text(value), border=1, align="R" if index in (6, 7) else "L")
        pdf.ln()
    pdf.set_font("helvetica", "B", 8)
    total = sum((row["portion"] for row in lines), Decimal("0.00"))
    pdf.cell(sum(widths[:7]), 7, f"Total ({len(lines)} lines)", border=1)
    pdf.cell(widths[7], 7, _money(total), border=1, align="R")
    pdf.ln()
    if any(row["kind"] == ClaimLineKind.ADJUSTMENT for row in lines):
        pdf.set_font("helvetica", size=9)
        pdf.ln(2)
        pdf.multi_cell(0, 5, _pdf_text(ADJUSTMENT_NOTE))
    return bytes(pdf.output())


def evidence_csv(claim: Claim) -> str:
    """Every line of the claim with the UPN, the reference and its evidence; the first
    column is the claim's status, DRAFT on every row of a draft's."""
    return "".join(evidence_csv_pieces(claim))


def evidence_csv_pieces(claim: Claim):
    """evidence_csv, in pieces of text: the heading, then 2,000 lines at a time, read as
    they are written, so a claim of any size is never held whole."""
    status = "DRAFT" if is_draft(claim) else claim.status
    reversed_ = reversals(
        claim, claim.lines.filter(kind=ClaimLineKind.ADJUSTMENT).defer("evidence")
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(safe_row(EVIDENCE_COLUMNS))
    for batch in line_batches(claim):
        for line in batch:
            line_reversed, reversed_on, why = _reversal_cells(reversed_.get(line.pk))
            writer.writerow(
                safe_row(
                    [
                        status,
                        line.position,
                        line.kind,
                        line.upn,
                        _reference(claim.contract_code, line.upn),
                        line.trigger,
                        line.instance,
                        line.achieved_on.isoformat() if line.achieved_on else "",
                        Decimal(line.amount),
                        "; ".join(f"{p} {v}" for p, v in line.portions.items()),
                        line_reversed,
                        reversed_on.isoformat() if reversed_on else "",
                        why,
                        " | ".join(line.evidence),
                    ]
                )
            )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():  # the heading of a claim with no lines
        yield buffer.getvalue()
