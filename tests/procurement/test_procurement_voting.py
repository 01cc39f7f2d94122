"""Committee voting: the count, the early stop, and the model's completion condition saying the same."""

from __future__ import annotations

import itertools
import re
from decimal import Decimal as D
from pathlib import Path

import pytest

from rules.procurement import Ballot, Vote, VotingRule, decided, quorum_for, tally

BPMN = Path(__file__).resolve().parents[2] / "bpmn" / "procurement" / "procurement-evaluation.bpmn"


def ballots(*votes: str) -> list[Ballot]:
    return [Ballot(f"m{i}", Vote.of(v), f"reason {i}") for i, v in enumerate(votes)]


def test_dissent_is_outvoted_by_a_simple_majority() -> None:
    result = tally(ballots("approve", "reject", "approve"), VotingRule(3, 2, D(50)))
    assert result.approved and result.outcome == "approve"
    assert (result.approve, result.reject, result.abstain) == (2, 1, 0)
    assert [b.member for b in result.dissent] == ["m1"]
    assert "同意 2，反对 1，弃权 0" in result.summary and "2 for, 1 against" in result.summary


def test_a_tie_is_not_a_majority_and_abstentions_count_only_for_the_quorum() -> None:
    assert not tally(ballots("approve", "reject", "abstain"), VotingRule(3, 2, D(50))).approved
    assert tally(ballots("approve", "abstain", "abstain"), VotingRule(3, 3, D(50))).approved


def test_without_quorum_the_proposal_fails_however_the_present_voted() -> None:
    result = tally(ballots("approve"), VotingRule(5, 3, D(50)))
    assert not result.quorum_met and not result.approved
    assert "未达法定人数" in result.summary and "no quorum" in result.summary


def test_two_thirds_majority() -> None:
    rule = VotingRule(3, 3, D("66.66"))
    assert tally(ballots("approve", "approve", "reject"), rule).approved
    assert not tally(ballots("approve", "reject", "abstain"), rule).approved


def test_a_redelivered_ballot_counts_once_and_unknown_choices_abstain() -> None:
    twice = [Ballot("a", Vote.REJECT), Ballot("a", Vote.APPROVE), Ballot("b", Vote.of("maybe"))]
    result = tally(twice, VotingRule(2, 2, D(50)))
    assert (result.approve, result.reject, result.abstain) == (1, 0, 1)
    with pytest.raises(ValueError, match="票数多于委员人数"):
        tally(ballots("approve", "approve", "approve"), VotingRule(2, 1, D(50)))


@pytest.mark.parametrize("members, pct, expected", [(3, D(67), 3), (2, D(67), 2), (9, D(50), 5), (1, D(1), 1)])
def test_quorum_is_rounded_up(members: int, pct: D, expected: int) -> None:
    assert quorum_for(members, pct) == expected


@pytest.mark.parametrize("rule", [(0, 1, D(50)), (3, 4, D(50)), (3, 0, D(50)), (3, 2, D(100))])
def test_nonsensical_rules_are_refused(rule: tuple[int, int, D]) -> None:
    with pytest.raises(ValueError):
        VotingRule(*rule)


def _all_rules() -> list[VotingRule]:
    return [VotingRule(n, q, m) for n in range(1, 6) for q in range(1, n + 1) for m in (D(0), D(50), D("66.66"))]


def _partial_votes(members: int) -> list[tuple[int, int, int]]:
    return [(a, r, x) for a, r, x in itertools.product(range(members + 1), repeat=3) if a + r + x <= members]


def test_an_early_stop_never_contradicts_the_final_count() -> None:
    """Whenever ``decided`` stops the vote, every way the outstanding members could have voted gives the
    same outcome as counting the ballots already in."""
    for rule in _all_rules():
        for a, r, x in _partial_votes(rule.members):
            if not decided(a, r, x, rule):
                continue
            now = tally(ballots(*["approve"] * a, *["reject"] * r, *["abstain"] * x), rule).approved
            outstanding = rule.members - a - r - x
            for extra in itertools.product(("approve", "reject", "abstain"), repeat=outstanding):
                full = ballots(*["approve"] * a, *["reject"] * r, *["abstain"] * x, *extra)
                assert tally(full, rule).approved == now, (rule, a, r, x, extra)


def _completion_condition() -> str:
    text = BPMN.read_text(encoding="utf-8")
    expression = re.search(r"<bpmn:completionCondition[^>]*>\$\{(.*?)\}</bpmn:completionCondition>", text, re.S)
    assert expression is not None
    python = expression.group(1)
    for juel, py in ((" ge ", " >= "), (" gt ", " > "), (" le ", " <= "), (" lt ", " < ")):
        python = python.replace(juel, py)
    return python


def test_the_models_completion_condition_is_the_decided_rule() -> None:
    condition = _completion_condition()
    for rule in _all_rules():
        for a, r, x in _partial_votes(rule.members):
            done = a + r + x
            if done == 0 or done == rule.members:
                continue  # the engine asks only after a ballot, and ends by itself when all are in
            names = {"nrOfCompletedInstances": done, "nrOfInstances": rule.members,
                     "committeeQuorum": rule.quorum, "committeeMajorityPct": rule.majority_pct,
                     "approveVotes": a, "rejectVotes": r, "abstainVotes": x}
            assert eval(condition, {}, names) == decided(a, r, x, rule), (rule, a, r, x)
