"""Claim statements per payer (XLSX, PDF) and the evidence pack (CSV).

A payer's statement carries the claim's lines that have a portion for that payer. It
names no child: each is identified by a pseudonymous reference, stable for a child
within a contract (so an adjustment can be matched to the line it reverses), which only
the programme can map back to a UPN. The evidence pack, for the programme's managers and
the auditors they show it to, carries the UPN, the reference and every line's evidence.
"""

import csv
import datetime as dt
import io
from decimal import Decimal

from django.utils import timezone
from django.utils.crypto import salted_hmac

from linkwork.core.spreadsheets import safe_row

from .models import Claim, ClaimLineKind
from .queries import reversed_lines
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
]
# Pounds with a thousands separator, negatives with a minus sign.
CURRENCY = '"£"#,##0.00;-"£"#,##0.00'
DATE = "yyyy-mm-dd"
DATETIME = "yyyy-mm-dd hh:mm"
ADJUSTMENT_NOTE = (
    "An adjustment reverses a line of an earlier claim: its 'Achieved on' is the date of "
    "that line, named under 'Reverses'."
)
EVIDENCE_COLUMNS = [
    "Line",
    "Kind",
    "UPN",
    "Child reference",
    "Trigger",
    "Instance",
    "Achieved on",
    "Amount",
    "Portions",
    "Evidence",
]


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
    funder may see them: no UPN, no evidence. An adjustment carries the line it reverses
    (`reverses`: period code and line) and that line's date as its `achieved_on`."""
    rows = claim.lines.order_by("position") if lines is None else lines
    rows = [line for line in rows.defer("evidence") if payer in line.portions]
    adjusted = {
        (line.upn, line.trigger, line.instance)
        for line in rows
        if line.kind == ClaimLineKind.ADJUSTMENT and line.upn
    }
    reversed_ = reversed_lines(claim, adjusted) if adjusted else {}
    out = []
    for line in rows:
        achieved_on, reverses = line.achieved_on, ""
        if line.kind == ClaimLineKind.ADJUSTMENT:
            found = reversed_.get((line.upn, line.trigger, line.instance))
            if found is not None:
                period, position, achieved_on = found
                reverses = f"{period} line {position}"
        out.append(
            {
                "position": line.position,
                "kind": line.kind,
                "reference": _reference(claim.contract_code, line.upn),
                "trigger": line.trigger,
                "instance": line.instance,
                "achieved_on": achieved_on,
                "amount": line.amount,
                "portion": Decimal(line.portions[payer]),
                "reverses": reverses,
            }
        )
    return out


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
    total row under the lines."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Statement"
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
                    row["reverses"],
                ]
            )
        )
        sheet.cell(sheet.max_row, 6).number_format = DATE
        sheet.cell(sheet.max_row, 7).number_format = CURRENCY
        sheet.cell(sheet.max_row, 8).number_format = CURRENCY
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


def statement_pdf(claim: Claim, payer: str) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(orientation="L", format="A4")
    pdf.set_title(f"Claim statement {claim.contract_code} {claim.period_code} {payer}")
    pdf.add_page()
    pdf.set_font("helvetica", "B", 14)
    pdf.cell(
        0,
        10,
        f"Claim statement: {claim.contract_code} {claim.period_code} for {payer}",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("helvetica", size=10)
    for label, value in _heading(claim, payer):
        pdf.cell(0, 6, f"{label}: {_text(value)}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    widths = [14, 24, 36, 28, 22, 26, 28, 28, 30]
    pdf.set_font("helvetica", "B", 9)
    for width, title in zip(widths, STATEMENT_COLUMNS, strict=True):
        pdf.cell(width, 7, title, border=1)
    pdf.ln()
    pdf.set_font("helvetica", size=9)
    lines = statement_lines(claim, payer)
    for row in lines:
        values = [
            str(row["position"]),
            row["kind"],
            row["reference"],
            row["trigger"],
            row["instance"],
            row["achieved_on"].isoformat() if row["achieved_on"] else "-",
            _money(row["amount"]),
            _money(row["portion"]),
            row["reverses"],
        ]
        for index, (width, value) in enumerate(zip(widths, values, strict=True)):
            pdf.cell(width, 6, value, border=1, align="R" if index in (6, 7) else "L")
        pdf.ln()
    pdf.set_font("helvetica", "B", 9)
    total = sum((row["portion"] for row in lines), Decimal("0.00"))
    pdf.cell(sum(widths[:7]), 7, f"Total ({len(lines)} lines)", border=1)
    pdf.cell(widths[7], 7, _money(total), border=1, align="R")
    pdf.ln()
    if any(row["kind"] == ClaimLineKind.ADJUSTMENT for row in lines):
        pdf.set_font("helvetica", size=9)
        pdf.ln(2)
        pdf.multi_cell(0, 5, ADJUSTMENT_NOTE)
    return bytes(pdf.output())


def evidence_csv(claim: Claim) -> str:
    """Every line of the claim with the UPN, the reference and its evidence."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(safe_row(EVIDENCE_COLUMNS))
    for line in claim.lines.order_by("position"):
        writer.writerow(
            safe_row(
                [
                    line.position,
                    line.kind,
                    line.upn,
                    _reference(claim.contract_code, line.upn),
                    line.trigger,
                    line.instance,
                    line.achieved_on.isoformat() if line.achieved_on else "",
                    Decimal(line.amount),
                    "; ".join(f"{p} {v}" for p, v in line.portions.items()),
                    " | ".join(line.evidence),
                ]
            )
        )
    return buffer.getvalue()
