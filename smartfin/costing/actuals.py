"""The ledger's actuals of a month as direct costs: posted vouchers per department and economic code.

The budget journal's ``actual`` bucket holds what was spent, per budget line (department × economic code);
entries whose ``effective_on`` falls in the month are summed, reversals included (a reversal is an entry of
the opposite amount, so the sum is what stands). Economic codes become cost items through
``rules/cost/economic_codes.yaml`` (longest prefix wins; an unlisted code counts as ``other`` and is named in
the run's notes; capital codes are left out, their cost arrives as depreciation).

Not counting twice: for each cost item a month has ONE source. When any import of the month supplies a cost
item (payroll → personnel, materials issued → materials and drugs, depreciation → depreciation and
amortisation, a direct file → the items it lists), the ledger's actuals mapped to that item are left out, and
the run's notes say how much: the import is the finer record (per centre as paid or issued, where the ledger
books to the budget's department), and the ledger is what remains for every item no file covers.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml
from sqlalchemy import func
from sqlmodel import Session, select

import rules
from smartfin.costing.model import DIRECT_COLUMNS, CostItem
from smartfin.kernel.clock import month_days
from smartfin.kernel.money import format_yuan, from_fen
from smartfin.ledger.keys import Bucket
from smartfin.ledger.models import BudgetLine, JournalEntry

ECONOMIC_CODES_FILE = Path(rules.__file__).resolve().parent / "cost" / "economic_codes.yaml"
LEDGER_SOURCE = "ledger"


@dataclass(frozen=True)
class EconomicCodeMap:
    """Economic code prefixes → cost items, and the prefixes that are not costs of the month."""

    items: dict[str, CostItem]
    excluded: tuple[str, ...]

    def item_of(self, code: str) -> CostItem | None:
        """The cost item of ``code`` by its longest listed prefix; None when no prefix is listed."""
        for length in range(len(code), 0, -1):
            found = self.items.get(code[:length])
            if found is not None:
                return found
        return None

    def is_excluded(self, code: str) -> bool:
        return any(code.startswith(prefix) for prefix in self.excluded)


@lru_cache(maxsize=4)
def economic_code_map(path: Path = ECONOMIC_CODES_FILE) -> EconomicCodeMap:
    """The mapping finance maintains in ``rules/cost/economic_codes.yaml``; an unknown cost item there is an
    error naming the code, so a typo cannot quietly turn personnel into ``other``."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    items: dict[str, CostItem] = {}
    for code, item in (data.get("items") or {}).items():
        try:
            items[str(code)] = CostItem(str(item))
        except ValueError:
            raise ValueError(f"{path.name}: economic code {code}: unknown cost item {item!r} (use "
                             f"{', '.join(CostItem)})") from None
    return EconomicCodeMap(items, tuple(str(code) for code in data.get("excluded") or ()))


def ledger_actuals(session: Session, month: str) -> pd.DataFrame:
    """The month's actuals per department and economic code (fen, reversals netted), non-zero sums only."""
    first, last = month_days(month)
    rows = session.exec(
        select(BudgetLine.department, BudgetLine.economic_code, func.sum(JournalEntry.amount_fen))
        .join(BudgetLine, JournalEntry.line_id == BudgetLine.id)  # type: ignore[arg-type]
        .where(JournalEntry.bucket == Bucket.ACTUAL.value, JournalEntry.effective_on >= first,
               JournalEntry.effective_on <= last)
        .group_by(BudgetLine.department, BudgetLine.economic_code)
        .order_by(BudgetLine.department, BudgetLine.economic_code)).all()
    frame = pd.DataFrame([(d, c, int(a)) for d, c, a in rows if a],
                         columns=["department", "economic_code", "amount_fen"])
    return frame.astype({"amount_fen": "int64"})


def actual_direct_costs(session: Session, month: str, *, imported_items: set[CostItem],
                        codes: EconomicCodeMap | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The month's ledger actuals as direct cost rows (``DIRECT_COLUMNS``, source ``ledger``), and notes.

    Items in ``imported_items`` come from the month's imports and are left out here (see the module
    docstring); the notes name every code that was unmapped, excluded or left out, with its amount.
    """
    codes = codes or economic_code_map()
    notes: list[str] = []
    rows: list[tuple[str, str, int, str]] = []
    for department, code, amount_fen in ledger_actuals(session, month).itertuples(index=False, name=None):
        where = f"ledger actuals {department}/{code} ¥{format_yuan(from_fen(amount_fen))}"
        if codes.is_excluded(code):
            notes.append(f"{where}: capital spending, not a cost of the month (left out)")
            continue
        item = codes.item_of(code)
        if item is None:
            item = CostItem.OTHER
            notes.append(f"{where}: economic code not in economic_codes.yaml, counted as other")
        if item in imported_items:
            notes.append(f"{where}: {item} comes from the month's imports (left out)")
            continue
        rows.append((department, item.value, int(amount_fen), LEDGER_SOURCE))
    frame = pd.DataFrame(rows, columns=list(DIRECT_COLUMNS)).astype({"amount_fen": "int64"})
    if not frame.empty:
        frame = (frame.groupby(["centre", "cost_item", "source"], as_index=False, sort=True)["amount_fen"].sum()
                 [list(DIRECT_COLUMNS)])
    return frame, notes
