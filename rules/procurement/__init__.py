"""Procurement evaluation standards and committee voting: versioned thresholds and the vote count.

``standards`` reads the dated table of thresholds, tolerances and voting parameters (``standards.csv``);
``voting`` counts a committee's ballots. Both are plain Python, shared by the workers, the command line
and the tests; the BPMN's completion condition mirrors ``voting.decided``.
"""

from rules.procurement.standards import (
    ProcurementStandards,
    StandardsError,
    load_standards,
    standards_on,
)
from rules.procurement.voting import (
    Ballot,
    CastBallot,
    RefusedBallot,
    Tally,
    Vote,
    VotingRule,
    admissible_ballots,
    decided,
    quorum_for,
    tally,
)

__all__ = [
    "Ballot",
    "CastBallot",
    "ProcurementStandards",
    "RefusedBallot",
    "StandardsError",
    "Tally",
    "Vote",
    "VotingRule",
    "admissible_ballots",
    "decided",
    "load_standards",
    "quorum_for",
    "standards_on",
    "tally",
]
