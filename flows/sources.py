"""Where a day's reconciliation inputs are found.

Drop-folder layout (under ``SMARTFIN_RECONCILIATION_DIR``, default ``var/reconciliation/``)::

    bank/<account>/<YYYY-MM-DD>/statement*.csv|xlsx|xml|sta|ofx   the bank's statement of that day
    bank/<account>/<YYYY-MM-DD>/ledger.csv                         bank journal (银行存款日记账) export
    three-way/<hospital>/<YYYY-MM-DD>/his.csv                      HIS payment records of the day
    three-way/<hospital>/<YYYY-MM-DD>/<channel>*.csv|xlsx          channel bills (wechat, alipay, unionpay)
    three-way/<hospital>/<YYYY-MM-DD>/cash.csv                     cash handed in per cashier
    three-way/<hospital>/<YYYY-MM-DD>/prepayment-balances.csv      patient prepayment accounts (optional)
    three-way/<hospital>/<YYYY-MM-DD>/prepayment-movements.csv

Bank statements and channel bills are read by :mod:`extractors.statements`; the HIS, ledger, cash and
prepayment exports are the hospital's own and are read by :mod:`extractors.exports.reconciliation`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

STATEMENT_SUFFIXES = (".csv", ".xlsx", ".xlsm", ".xml", ".sta", ".mt940", ".940", ".ofx", ".qfx")
CHANNELS = ("wechat", "alipay", "unionpay")


def bank_day_dir(root: Path, account: str, day: date) -> Path:
    return root / "bank" / account / day.isoformat()


def three_way_day_dir(root: Path, hospital: str, day: date) -> Path:
    return root / "three-way" / hospital / day.isoformat()


def statement_files(folder: Path) -> list[Path]:
    """Statement files of a day folder, in name order (the ledger export is not one of them)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower().startswith("statement")
                  and p.suffix.lower() in STATEMENT_SUFFIXES)


def channel_files(folder: Path) -> dict[str, list[Path]]:
    """Channel bill files of a three-way day folder, by channel (the file name starts with it)."""
    found: dict[str, list[Path]] = {}
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            for channel in CHANNELS:
                if path.is_file() and path.name.lower().startswith(channel) and path.suffix.lower() in (
                        ".csv", ".xlsx"):
                    found.setdefault(channel, []).append(path)
    return found
