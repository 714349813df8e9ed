"""Claim statements per payer (XLSX, PDF) and the evidence pack (CSV).

A payer's statement carries the claim's lines that have a portion for that payer. It
names no child: each is identified by a pseudonymous reference, stable for a child
within a contract (so an adjustment can be matched to the line it reverses), which only
the programme can map back to a UPN. The evidence pack, for the programme's managers and
the auditors they show it to, carries the UPN, the reference and every line's evidence.
"""

import csv
import io
from decimal import Decimal

from django.utils import timezone
from django.utils.crypto import salted_hmac

from linkwork.core.spreadsheets import safe_row

from .models import Claim

STATEMENT_COLUMNS = [
    "Line",
    "Kind",
    "Child reference",
    "Trigger",
    "Instance",
    "Achieved on",
    "Line amount",
    "Payer portion",
]
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
    funder may see them: no UPN, no evidence."""
    out = []
    rows = claim.lines.order_by("position") if lines is None else lines
    for line in rows.defer("evidence"):
        if payer not in line.portions:
            continue
        out.append(
            {
                "position": line.position,
                "kind": line.kind,
                "reference": _reference(claim.contract_code, line.upn),
                "trigger": line.trigger,
                "instance": line.instance,
                "achieved_on": line.achieved_on,
                "amount": line.amount,
                "portion": Decimal(line.portions[payer]),
            }
        )
    return out


def _heading(claim: Claim, payer: str) -> list[tuple[str, str]]:
    submitted = ""
    if claim.submitted_at:
        submitted = timezone.localtime(claim.submitted_at).strftime("%Y-%m-%d %H:%M")
    return [
        ("Contract", f"{claim.contract_code} (version {claim.contract.version})"),
        ("Period", claim.period_code),
        ("Status", claim.status),
        ("Submitted", submitted),
        ("Payer", payer),
        ("Total for payer", _money(claim.payer_totals.get(payer, "0"))),
    ]


def statement_xlsx(claim: Claim, payer: str) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Statement"
    for label, value in _heading(claim, payer):
        sheet.append(safe_row([label, value]))
    sheet.append([])
    sheet.append(safe_row(STATEMENT_COLUMNS))
    for row in statement_lines(claim, payer):
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
                ]
            )
        )
        sheet.cell(sheet.max_row, 7).number_format = "0.00"
        sheet.cell(sheet.max_row, 8).number_format = "0.00"
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
        pdf.cell(0, 6, f"{label}: {value}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    widths = [14, 24, 40, 30, 24, 28, 30, 30]
    pdf.set_font("helvetica", "B", 9)
    for width, title in zip(widths, STATEMENT_COLUMNS, strict=True):
        pdf.cell(width, 7, title, border=1)
    pdf.ln()
    pdf.set_font("helvetica", size=9)
    for row in statement_lines(claim, payer):
        values = [
            str(row["position"]),
            row["kind"],
            row["reference"],
            row["trigger"],
            row["instance"],
            row["achieved_on"].isoformat() if row["achieved_on"] else "",
            _money(row["amount"]),
            _money(row["portion"]),
        ]
        for index, (width, value) in enumerate(zip(widths, values, strict=True)):
            pdf.cell(width, 6, value, border=1, align="R" if index >= 6 else "L")
        pdf.ln()
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
