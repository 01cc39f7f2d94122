"""Approval tiers as finance wrote them in the routing decision table.

The split-request check needs the same amount thresholds the routing table uses; reading them from the
DMN file keeps one source of truth: when finance moves a tier, the split check moves with it.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from xml.etree import ElementTree

ROUTING_TABLE = Path(__file__).with_name("approval-routing.dmn")
DMN_NS = "{https://www.omg.org/spec/DMN/20191111/MODEL/}"
_COMPARISON = re.compile(r"^\s*(>=|>|<=|<)\s*([0-9]+(?:\.[0-9]+)?)\s*$")


@lru_cache(maxsize=4)
def tier_thresholds(path: Path = ROUTING_TABLE) -> tuple[Decimal, ...]:
    """Every amount at which the routing table adds or removes an approver, ascending."""
    table = ElementTree.parse(path).getroot().find(f".//{DMN_NS}decisionTable")
    if table is None:
        raise ValueError(f"{path}: no decision table")
    inputs = table.findall(f"{DMN_NS}input")
    amount_column = next((i for i, column in enumerate(inputs)
                          if "amount" in (column.findtext(f".//{DMN_NS}text") or "")), None)
    if amount_column is None:
        raise ValueError(f"{path}: no input column reads the amount")
    thresholds: set[Decimal] = set()
    for rule in table.findall(f"{DMN_NS}rule"):
        entry = rule.findall(f"{DMN_NS}inputEntry")[amount_column].findtext(f"{DMN_NS}text") or ""
        match = _COMPARISON.match(entry)
        if match:
            thresholds.add(Decimal(match.group(2)))
    return tuple(sorted(thresholds))
