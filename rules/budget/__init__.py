"""Budget rules: the dated standards of the commitment chain (tolerance of an over-run, request validity)."""

from rules.budget.commitments import (
    CommitmentStandards,
    CommitmentStandardsError,
    commitment_standards_on,
    parse_commitment_standards,
)

__all__ = ["CommitmentStandards", "CommitmentStandardsError", "commitment_standards_on",
           "parse_commitment_standards"]
