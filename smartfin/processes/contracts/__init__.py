"""Contracts (合同): a signed contract citing an approved request takes over its reservation as encumbrance."""
