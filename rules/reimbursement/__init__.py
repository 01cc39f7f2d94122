"""Reimbursement rules: audit functions, versioned standards tables, duplicate keys and near matches.

Approval routing of claims reuses the spending table (``rules/spending/approval-routing.dmn``, decision
``spending-approval-routing``): one authority table for every payment the hospital approves.
"""

from rules.reimbursement.audit import (
    Allowances,
    ClaimFacts,
    InvoiceFacts,
    TravelFacts,
    audit_claim,
    audit_sampled,
    invoice_total,
    needs_review,
    travel_allowances,
)
from rules.reimbursement.duplicates import InvoiceSighting, invoice_key, near_matches, sighting
from rules.reimbursement.standards import Standards, StandardsError, standards_on
from rules.reimbursement.trips import TripLeg, legs_from_stored

__all__ = [
    "Allowances",
    "ClaimFacts",
    "InvoiceFacts",
    "InvoiceSighting",
    "Standards",
    "StandardsError",
    "TravelFacts",
    "TripLeg",
    "audit_claim",
    "audit_sampled",
    "invoice_key",
    "invoice_total",
    "legs_from_stored",
    "near_matches",
    "needs_review",
    "sighting",
    "standards_on",
    "travel_allowances",
]
