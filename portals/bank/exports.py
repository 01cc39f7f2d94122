"""Statement files the way Chinese online banking hands them out: GBK CSV with a preamble, an Excel
sheet with title rows, and ISO 20022 camt.053 XML for systems that speak the standard.

The preamble rows and the GBK encoding are deliberate: real bank exports have them, and the
statement importers must cope.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from xml.etree import ElementTree as ET

from openpyxl import Workbook
from openpyxl.styles import Font

from portals.bank.statements import Statement, Transaction
from portals.money import fen_to_decimal

CSV_HEADERS = (
    "交易日期",
    "交易时间",
    "摘要",
    "借方发生额",
    "贷方发生额",
    "余额",
    "对方户名",
    "对方账号",
    "对方开户行",
    "交易流水号",
    "用途",
)
CAMT_NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"


def _amount(fen: int) -> str:
    return str(fen_to_decimal(fen)) if fen else ""


def _row(txn: Transaction) -> list[str]:
    return [
        txn.booked_at.strftime("%Y-%m-%d"),
        txn.booked_at.strftime("%H:%M:%S"),
        txn.summary,
        _amount(txn.debit_fen),
        _amount(txn.credit_fen),
        str(fen_to_decimal(txn.balance_fen)),
        txn.counterparty_name,
        txn.counterparty_account,
        txn.counterparty_bank,
        txn.txn_id,
        txn.purpose,
    ]


def _preamble(statement: Statement) -> list[list[str]]:
    account = statement.account
    return [
        ["账户明细查询"],
        ["账号", account.number, "户名", account.holder],
        ["起始日期", statement.start.isoformat(), "终止日期", statement.end.isoformat(), "币种", "人民币"],
        [
            "期初余额",
            str(fen_to_decimal(statement.opening_balance_fen)),
            "期末余额",
            str(fen_to_decimal(statement.closing_balance_fen)),
        ],
    ]


def statement_csv(statement: Statement) -> bytes:
    """GBK-encoded CSV: four preamble rows, a blank row, the header row, then one row per transaction."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(_preamble(statement))
    writer.writerow([])
    writer.writerow(CSV_HEADERS)
    writer.writerows(_row(txn) for txn in statement.transactions)
    return buffer.getvalue().encode("gbk")


def statement_xlsx(statement: Statement) -> bytes:
    """One sheet, same layout as the CSV; amounts as numbers so Excel sums them."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "账户明细"
    for row in _preamble(statement):
        sheet.append(row)
    sheet.append([])
    sheet.append(list(CSV_HEADERS))
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for txn in statement.transactions:
        values: list[object] = _row(txn)
        for column in (3, 4, 5):
            values[column] = float(values[column]) if values[column] else None  # type: ignore[arg-type]
        sheet.append(values)
    for letter, width in zip("ABCDEFGHIJK", (12, 10, 16, 14, 14, 16, 30, 22, 16, 18, 30), strict=True):
        sheet.column_dimensions[letter].width = width
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrib)
    if text is not None:
        element.text = text
    return element


def _balance(stmt: ET.Element, code: str, fen: int, on: str) -> None:
    bal = _sub(stmt, "Bal")
    _sub(_sub(_sub(bal, "Tp"), "CdOrPrtry"), "Cd", code)
    _sub(bal, "Amt", str(fen_to_decimal(abs(fen))), Ccy="CNY")
    _sub(bal, "CdtDbtInd", "CRDT" if fen >= 0 else "DBIT")
    _sub(_sub(bal, "Dt"), "Dt", on)


def statement_camt053(statement: Statement, created: datetime | None = None) -> bytes:
    """camt.053.001.02 bank-to-customer statement, elements in schema order."""
    created = created or datetime.now().replace(microsecond=0)
    account = statement.account
    document = ET.Element("Document", xmlns=CAMT_NS)
    root = _sub(document, "BkToCstmrStmt")
    header = _sub(root, "GrpHdr")
    message_id = f"STMT{account.index:02d}{statement.start:%Y%m%d}{statement.end:%Y%m%d}"
    _sub(header, "MsgId", message_id)
    _sub(header, "CreDtTm", created.isoformat())
    stmt = _sub(root, "Stmt")
    _sub(stmt, "Id", message_id)
    _sub(stmt, "CreDtTm", created.isoformat())
    period = _sub(stmt, "FrToDt")
    _sub(period, "FrDtTm", f"{statement.start.isoformat()}T00:00:00")
    _sub(period, "ToDtTm", f"{statement.end.isoformat()}T23:59:59")
    acct = _sub(stmt, "Acct")
    _sub(_sub(_sub(acct, "Id"), "Othr"), "Id", account.number)
    _sub(acct, "Ccy", "CNY")
    _sub(acct, "Nm", account.kind)
    _sub(_sub(acct, "Ownr"), "Nm", account.holder)
    _sub(_sub(_sub(acct, "Svcr"), "FinInstnId"), "BIC", account.bic)
    _balance(stmt, "OPBD", statement.opening_balance_fen, statement.start.isoformat())
    _balance(stmt, "CLBD", statement.closing_balance_fen, statement.end.isoformat())
    credits = [t for t in statement.transactions if t.credit_fen]
    debits = [t for t in statement.transactions if t.debit_fen]
    summary = _sub(stmt, "TxsSummry")
    for tag, items, field in (("TtlCdtNtries", credits, "credit_fen"), ("TtlDbtNtries", debits, "debit_fen")):
        totals = _sub(summary, tag)
        _sub(totals, "NbOfNtries", str(len(items)))
        _sub(totals, "Sum", str(fen_to_decimal(sum(getattr(t, field) for t in items))))
    for txn in statement.transactions:
        incoming = bool(txn.credit_fen)
        entry = _sub(stmt, "Ntry")
        _sub(entry, "NtryRef", txn.txn_id)
        _sub(entry, "Amt", str(fen_to_decimal(txn.credit_fen or txn.debit_fen)), Ccy="CNY")
        _sub(entry, "CdtDbtInd", "CRDT" if incoming else "DBIT")
        _sub(entry, "Sts", "BOOK")
        _sub(_sub(entry, "BookgDt"), "DtTm", txn.booked_at.isoformat())
        _sub(_sub(entry, "ValDt"), "Dt", txn.booked_at.date().isoformat())
        _sub(entry, "AcctSvcrRef", txn.txn_id)
        code = _sub(_sub(entry, "BkTxCd"), "Prtry")
        _sub(code, "Cd", txn.summary)
        _sub(code, "Issr", "SFCB")
        details = _sub(_sub(entry, "NtryDtls"), "TxDtls")
        _sub(_sub(details, "Refs"), "AcctSvcrRef", txn.txn_id)
        parties = _sub(details, "RltdPties")
        role = "Dbtr" if incoming else "Cdtr"
        _sub(_sub(parties, role), "Nm", txn.counterparty_name)
        _sub(_sub(_sub(_sub(parties, f"{role}Acct"), "Id"), "Othr"), "Id", txn.counterparty_account)
        _sub(_sub(details, "RmtInf"), "Ustrd", txn.purpose)
        _sub(entry, "AddtlNtryInf", txn.summary)
    ET.indent(document)
    return ET.tostring(document, encoding="utf-8", xml_declaration=True)
