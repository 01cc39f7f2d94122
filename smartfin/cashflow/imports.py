"""Importing what the forecast learns from: daily history, insurance receivables (aging) and supplier payables.

Each file is read with the kernel's import reader (CSV in UTF-8 or GBK, or xlsx; English or Chinese headers) and
taken whole or not at all: every problem is reported with its row and column, and one bad row refuses the file.
The same file twice is refused by its fingerprint.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from smartfin.cashflow.tables import CashHistory, CashImport, CashPayable, CashReceivable
from smartfin.kernel.import_files import (
    ImportFormat,
    ImportIssue,
    cell_amount,
    cell_date,
    cell_text,
    file_bytes,
    read_import_table,
)
from smartfin.kernel.money import to_fen
from smartfin.store.audit import record_audit

HISTORY_KINDS = ("patient-receipt", "insurance-collection", "payroll")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

HISTORY = ImportFormat(
    name="cash history", columns=("kind", "date", "amount", "insurance_type", "service_month"),
    required=("kind", "date", "amount"),
    aliases={"类别": "kind", "日期": "date", "金额": "amount", "险种": "insurance_type", "结算月份": "service_month",
             "day": "date"})
RECEIVABLES = ImportFormat(
    name="insurance receivables", columns=("as_of", "insurance_type", "service_month", "outstanding", "billed"),
    required=("as_of", "insurance_type", "service_month", "outstanding"),
    aliases={"截止日": "as_of", "险种": "insurance_type", "结算月份": "service_month", "未回款": "outstanding",
             "应收": "billed"})
PAYABLES = ImportFormat(
    name="supplier payables", columns=("reference", "supplier", "category", "accepted_on", "amount", "due_on",
                                       "paid_on"),
    required=("reference", "supplier", "category", "accepted_on", "amount"),
    aliases={"发票号": "reference", "供应商": "supplier", "类别": "category", "验收日期": "accepted_on",
             "金额": "amount", "到期日": "due_on", "付款日期": "paid_on"})
FORMATS = {"history": HISTORY, "receivables": RECEIVABLES, "payables": PAYABLES}


class CashImportRefused(ValueError):
    """A file refused as a whole; ``issues`` say where (row, column) and why."""

    def __init__(self, source: str, issues: list[ImportIssue]) -> None:
        self.source, self.issues = source, issues
        shown = "\n".join(f"  {source} {issue}" for issue in issues[:50])
        more = f"\n  … and {len(issues) - 50} more" if len(issues) > 50 else ""
        super().__init__(f"{source}: 文件未导入 / file refused, nothing imported ({len(issues)} problem(s)):\n"
                         f"{shown}{more}")


@dataclass(frozen=True)
class ImportResult:
    """What one import took in."""

    kind: str
    source: str
    rows: int
    import_id: int


def _month(value: Any, column: str, fail: Any, *, required: bool) -> str | None:
    text = cell_text(value)
    if not text:
        if required:
            fail(column, "is required")
        return None
    if not _MONTH.match(text):
        fail(column, f"must be a month written YYYY-MM (got {text!r})")
        return None
    return text


def _rows(kind: str, table: list[tuple[int, dict[str, Any]]], issues: list[ImportIssue]) -> list[dict[str, Any]]:
    out = []
    seen: dict[Any, int] = {}
    for row, cells in table:
        def fail(column: str, reason: str, row: int = row) -> None:
            issues.append(ImportIssue(row, column, reason))

        def need_date(column: str, cells: dict[str, Any] = cells) -> date | None:
            value = cell_date(cells.get(column), column, fail)
            if value is None and not cell_text(cells.get(column)):
                fail(column, "is required")
            return value

        if kind == "history":
            what = cell_text(cells.get("kind"))
            if what not in HISTORY_KINDS:
                fail("kind", f"must be one of {', '.join(HISTORY_KINDS)} (got {what!r})")
            day = need_date("date")
            amount = cell_amount(cells.get("amount"), "amount", fail, required=True)
            insured = what == "insurance-collection"
            insurance_type = cell_text(cells.get("insurance_type")) or None
            if insured and not insurance_type:
                fail("insurance_type", "is required for an insurance collection")
            month = _month(cells.get("service_month"), "service_month", fail, required=insured)
            out.append({"kind": what, "day": day, "amount": amount, "insurance_type": insurance_type,
                        "service_month": month})
        elif kind == "receivables":
            as_of = need_date("as_of")
            insurance_type = cell_text(cells.get("insurance_type"))
            if not insurance_type:
                fail("insurance_type", "is required")
            month = _month(cells.get("service_month"), "service_month", fail, required=True)
            outstanding = cell_amount(cells.get("outstanding"), "outstanding", fail, required=True)
            billed = cell_amount(cells.get("billed"), "billed", fail)
            if outstanding is not None and billed is not None and outstanding > billed:
                fail("outstanding", f"{outstanding} is more than the billed {billed}")
            key = (as_of, insurance_type, month)
            if key in seen:
                fail("service_month", f"{insurance_type} {month} as of {as_of} is also on row {seen[key]}")
            seen[key] = row
            out.append({"as_of": as_of, "insurance_type": insurance_type, "service_month": month,
                        "outstanding": outstanding, "billed": billed})
        else:
            reference = cell_text(cells.get("reference"))
            if not reference:
                fail("reference", "is required")
            elif reference in seen:
                fail("reference", f"{reference} is also on row {seen[reference]}")
            seen[reference] = row
            supplier, category = cell_text(cells.get("supplier")), cell_text(cells.get("category"))
            if not supplier:
                fail("supplier", "is required")
            if not category:
                fail("category", "is required")
            accepted = need_date("accepted_on")
            amount = cell_amount(cells.get("amount"), "amount", fail, required=True)
            if amount is not None and amount == 0:
                fail("amount", "must be greater than zero")
            due = cell_date(cells.get("due_on"), "due_on", fail)
            paid = cell_date(cells.get("paid_on"), "paid_on", fail)
            if accepted and due and due < accepted:
                fail("due_on", f"{due} is before the acceptance {accepted}")
            if accepted and paid and paid < accepted:
                fail("paid_on", f"{paid} is before the acceptance {accepted}")
            out.append({"reference": reference, "supplier": supplier, "category": category, "accepted_on": accepted,
                        "amount": amount, "due_on": due, "paid_on": paid})
    return out


def import_cash_file(session: Session, kind: str, source: str | Path | bytes, *, actor: str,
                     filename: str | None = None) -> ImportResult:
    """Import one file of ``kind`` (history, receivables, payables) in the caller's transaction, whole or not
    at all; ``CashImportRefused`` names every row and column that is wrong."""
    if kind not in FORMATS:
        raise ValueError(f"unknown cash import kind {kind!r}: one of {', '.join(FORMATS)}")
    data, name = file_bytes(source, filename)
    table, issues = read_import_table(data, name, FORMATS[kind])
    if table is None:
        raise CashImportRefused(name, issues)
    rows = _rows(kind, table, issues)
    if not rows and not issues:
        issues.append(ImportIssue(1, "key", "the file has no data rows"))
    fingerprint = hashlib.sha256(data).hexdigest()
    earlier = session.exec(select(CashImport).where(CashImport.fingerprint == fingerprint)).first()
    if earlier is not None:
        issues.append(ImportIssue(1, "key", f"the same file was imported before as {earlier.source} "
                                            f"(import #{earlier.id}, {earlier.imported_at:%Y-%m-%d})"))
    if kind == "payables" and rows:
        references = [r["reference"] for r in rows if r["reference"]]
        known = set(session.exec(select(CashPayable.reference).where(
            CashPayable.reference.in_(references))).all())  # type: ignore[attr-defined]
        issues += [ImportIssue(row, "reference", f"{r['reference']} was imported before")
                   for (row, _), r in zip(table, rows, strict=True) if r["reference"] in known]
    if kind == "receivables" and rows:
        for (row, _), r in zip(table, rows, strict=True):
            if r["as_of"] and session.exec(select(CashReceivable.id).where(
                    CashReceivable.as_of == r["as_of"], CashReceivable.insurance_type == r["insurance_type"],
                    CashReceivable.service_month == r["service_month"])).first() is not None:
                issues.append(ImportIssue(row, "service_month", f"{r['insurance_type']} {r['service_month']} as of "
                                                                f"{r['as_of']} was imported before"))
    if issues:
        FORMATS[kind].sort(issues)
        raise CashImportRefused(name, issues)
    batch = CashImport(kind=kind, fingerprint=fingerprint, source=name[:255], row_count=len(rows), imported_by=actor)
    session.add(batch)
    session.flush()
    assert batch.id is not None
    for r in rows:
        if kind == "history":
            session.add(CashHistory(import_id=batch.id, kind=r["kind"], day=r["day"], amount_fen=to_fen(r["amount"]),
                                    insurance_type=r["insurance_type"], service_month=r["service_month"]))
        elif kind == "receivables":
            session.add(CashReceivable(import_id=batch.id, as_of=r["as_of"], insurance_type=r["insurance_type"],
                                       service_month=r["service_month"], outstanding_fen=to_fen(r["outstanding"]),
                                       billed_fen=to_fen(r["billed"]) if r["billed"] is not None else None))
        else:
            session.add(CashPayable(import_id=batch.id, reference=r["reference"], supplier=r["supplier"],
                                    category=r["category"], accepted_on=r["accepted_on"],
                                    amount_fen=to_fen(r["amount"]), due_on=r["due_on"], paid_on=r["paid_on"]))
    record_audit(session, actor=actor, action="cash-import", subject_type="cash-import", subject_id=batch.id,
                 details={"kind": kind, "source": name, "rows": len(rows)})
    session.flush()
    return ImportResult(kind, name, len(rows), batch.id)
