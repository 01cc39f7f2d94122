"""The invoices the verification portal knows, the comparison it makes, and its daily check count.

A pre-2024 electronic invoice is identified by code + number and checked against issue date,
amount excluding tax and the last six digits of the check code; a digitalised invoice (数电票) by its
20-digit number, checked against issue date and total including tax. The platform limits checks to
five per invoice per day and refuses invoices issued today; both are answers bots must handle.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from portals.db import Database
from portals.money import parse_fen

TAX_SCHEMA = """
CREATE TABLE IF NOT EXISTS invoices (key TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS checks (key TEXT NOT NULL, day TEXT NOT NULL, count INTEGER NOT NULL,
                                   PRIMARY KEY (key, day));
CREATE TABLE IF NOT EXISTS captchas (cid TEXT PRIMARY KEY, sid TEXT NOT NULL, answer TEXT NOT NULL,
                                     created REAL NOT NULL);
"""

DAILY_CHECK_LIMIT = 5


@dataclass(frozen=True)
class RegisteredInvoice:
    """An invoice as the tax bureau holds it; amounts in fen, codes as strings (leading zeros)."""

    number: str
    issue_date: str
    amount_fen: int
    tax_fen: int
    seller_name: str
    seller_tax_id: str
    buyer_name: str
    buyer_tax_id: str
    code: str = ""
    check_code: str = ""
    kind: str = "电子发票（普通发票）"
    items: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        return invoice_key(self.code, self.number)

    @property
    def total_fen(self) -> int:
        return self.amount_fen + self.tax_fen

    @property
    def digital(self) -> bool:
        return not self.code


@dataclass(frozen=True)
class InvoiceQuery:
    """What the user typed into the verification form."""

    code: str
    number: str
    issue_date: date
    amount_fen: int
    check_last6: str

    @property
    def key(self) -> str:
        return invoice_key(self.code, self.number)

    @property
    def digital(self) -> bool:
        return len(self.number) == 20


def invoice_key(code: str, number: str) -> str:
    return number if len(number) == 20 else f"{code}-{number}"


def invoice_from_json(data: dict[str, Any]) -> RegisteredInvoice:
    """Build a registry entry from JSON with yuan strings ("1234.56"); raises ValueError when malformed."""
    amount, tax = parse_fen(str(data.get("amount", ""))), parse_fen(str(data.get("tax", "0")))
    number, code = str(data.get("number", "")), str(data.get("code", ""))
    if amount is None or tax is None:
        raise ValueError("amount/tax must be yuan amounts with at most two decimals")
    if not (re.fullmatch(r"\d{20}", number) and not code) and not (
        re.fullmatch(r"\d{12}", code) and re.fullmatch(r"\d{8}", number)
    ):
        raise ValueError("need a 20-digit number, or a 12-digit code with an 8-digit number")
    if code and not re.fullmatch(r"\d{20}", str(data.get("check_code", ""))):
        raise ValueError("invoices with a code need a 20-digit check_code")
    issue_date = date.fromisoformat(str(data.get("issue_date", ""))).isoformat()
    items = tuple((str(item.get("name", "")), str(item.get("amount", ""))) for item in data.get("items", []))
    return RegisteredInvoice(
        number=number,
        code=code,
        issue_date=issue_date,
        amount_fen=amount,
        tax_fen=tax,
        check_code=str(data.get("check_code", "")),
        seller_name=str(data.get("seller_name", "")),
        seller_tax_id=str(data.get("seller_tax_id", "")),
        buyer_name=str(data.get("buyer_name", "")),
        buyer_tax_id=str(data.get("buyer_tax_id", "")),
        kind=str(data.get("kind", "电子发票（普通发票）" if code else "电子发票（普通发票）（数电票）")),
        items=items,
    )


def register(db: Database, invoices: list[RegisteredInvoice]) -> None:
    with db.connection() as conn:
        for invoice in invoices:
            conn.execute(
                "INSERT OR REPLACE INTO invoices (key, body) VALUES (?, ?)",
                (invoice.key, json.dumps(asdict(invoice), ensure_ascii=False)),
            )


def registry_empty(db: Database) -> bool:
    with db.connection() as conn:
        return conn.execute("SELECT COUNT(*) FROM invoices").fetchone()[0] == 0


def find(db: Database, key: str) -> RegisteredInvoice | None:
    with db.connection() as conn:
        row = conn.execute("SELECT body FROM invoices WHERE key = ?", (key,)).fetchone()
    if row is None:
        return None
    body = json.loads(row["body"])
    body["items"] = tuple(tuple(item) for item in body["items"])
    return RegisteredInvoice(**body)


def matches(query: InvoiceQuery, invoice: RegisteredInvoice) -> bool:
    """The platform's comparison: date plus ex-tax amount and check code, or total for 数电票."""
    if query.issue_date.isoformat() != invoice.issue_date:
        return False
    if invoice.digital:
        return query.amount_fen == invoice.total_fen
    return query.amount_fen == invoice.amount_fen and invoice.check_code.endswith(query.check_last6)


def count_check(db: Database, key: str, day: date) -> int | None:
    """Record one check of an invoice today; None when the daily limit was already used up."""
    with db.transaction() as conn:
        row = conn.execute("SELECT count FROM checks WHERE key = ? AND day = ?", (key, day.isoformat())).fetchone()
        used = row["count"] if row else 0
        if used >= DAILY_CHECK_LIMIT:
            return None
        conn.execute(
            "INSERT OR REPLACE INTO checks (key, day, count) VALUES (?, ?, ?)", (key, day.isoformat(), used + 1)
        )
    return used + 1


def reset_checks(db: Database) -> None:
    with db.connection() as conn:
        conn.execute("DELETE FROM checks")


# Demo registry used when the launcher is given no invoice file; fictitious parties and numbers.
DEMO_INVOICES: list[dict[str, Any]] = [
    {
        "code": "033002300111",
        "number": "01234567",
        "issue_date": "2025-11-03",
        "amount": "8849.56",
        "tax": "1150.44",
        "check_code": "12345678901234567890",
        "seller_name": "示范市康达医疗器械有限公司",
        "seller_tax_id": "91330100MA2XXXXX1K",
        "buyer_name": "示范市第一人民医院",
        "buyer_tax_id": "12330100470000000X",
        "items": [{"name": "*医疗器械*一次性使用输液器", "amount": "8849.56"}],
    },
    {
        "number": "25332000000123456789",
        "issue_date": "2025-12-15",
        "amount": "1886.79",
        "tax": "113.21",
        "seller_name": "示范市会务服务有限公司",
        "seller_tax_id": "91330100MA2YYYYY2L",
        "buyer_name": "示范市第一人民医院",
        "buyer_tax_id": "12330100470000000X",
        "items": [{"name": "*现代服务*会议服务费", "amount": "1886.79"}],
    },
]
