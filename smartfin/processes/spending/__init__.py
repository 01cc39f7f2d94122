"""Spending requests (事前申请): intake, budget pre-encumbrance, approval routing."""
