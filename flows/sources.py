"""Where a day's reconciliation inputs are found.

Drop-folder layout (under ``SMARTFIN_RECONCILIATION_DIR``, default ``var/reconciliation/``)::

    bank/<account>/<YYYY-MM-DD>/statement*.csv|xlsx|xml|sta|ofx   the bank's statement of that day
    bank/<account>/<YYYY-MM-DD>/ledger.csv                         bank journal (银行存款日记账) export
    three-way/<hospital>/<YYYY-MM-DD>/his.csv                      HIS payment records of the day
    three-way/<hospital>/<YYYY-MM-DD>/<channel>*.csv|xlsx          channel bills (wechat, alipay, unionpay)
    three-way/<hospital>/<YYYY-MM-DD>/cash.csv                     cash handed in per cashier
    three-way/<hospital>/<YYYY-MM-DD>/prepayment-balances.csv      patient prepayment accounts (optional)
    three-way/<hospital>/<YYYY-MM-DD>/prepayment-movements.csv
    insurance/<hospital>/<YYYY-MM-DD>/his*.csv|xlsx                HIS settlement records of the day (医保结算)
    insurance/<hospital>/<YYYY-MM-DD>/platform*.csv|xlsx           the insurance platform's detail of the day
    insurance/<hospital>/<YYYY-MM-DD>/platform-total*.csv|xlsx     the platform's daily totals
    insurance/<hospital>/<YYYY-MM>/clearing*.csv|xlsx              the fund's monthly clearing statement
    insurance/<hospital>/<YYYY-MM>/clearing-items*.csv|xlsx        its refused and deducted items
    insurance/<hospital>/<YYYY-MM>/group*.csv|xlsx                 DRG/DIP group settlements per case

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


#: file-name prefixes of the insurance inputs, longest first (``platform-total`` before ``platform``)
INSURANCE_PREFIXES = (("platform-total", "platform_total"), ("platform", "platform"), ("his", "his"),
                      ("clearing-items", "clearing_items"), ("clearing", "clearing"), ("group", "group"))


def insurance_dir(root: Path, hospital: str, period: str) -> Path:
    """A day's (``YYYY-MM-DD``) or a month's (``YYYY-MM``) insurance folder."""
    return root / "insurance" / hospital / period


def insurance_files(folder: Path) -> dict[str, list[Path]]:
    """The insurance input files of a folder by kind (the file name starts with the kind)."""
    found: dict[str, list[Path]] = {}
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if not path.is_file() or path.suffix.lower() not in (".csv", ".xlsx"):
                continue
            for prefix, kind in INSURANCE_PREFIXES:
                if path.name.lower().startswith(prefix):
                    found.setdefault(kind, []).append(path)
                    break
    return found
