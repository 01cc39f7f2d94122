"""Spending-request rules: expense categories, approval tiers (read from the routing table), split detection."""
