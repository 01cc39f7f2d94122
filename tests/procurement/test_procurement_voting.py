"""Committee voting: the count, the early stop, and the model's completion condition saying the same."""

from __future__ import annotations

import itertools
import re
from decimal import Decimal as D
from pathlib import Path

import pytest

from rules.procurement import Ballot, CastBallot, Vote, VotingRule, admissible_ballots, decided, quorum_for, tally

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


def _partial_votes(members: int) -> list[tuple[int, int, int, int]]:
    """(approve, reject, abstain, send back) counts that fit the committee."""
    return [(a, r, x, b) for a, r, x, b in itertools.product(range(members + 1), repeat=4)
            if a + r + x + b <= members]


def _cast(a: int, r: int, x: int, b: int, *extra: str) -> list[Ballot]:
    return ballots(*["approve"] * a, *["reject"] * r, *["abstain"] * x, *["sendBack"] * b, *extra)


def test_an_early_stop_never_contradicts_the_final_count() -> None:
    """Whenever ``decided`` stops the vote, every way the outstanding members could have voted gives the
    same outcome (approve, reject or send back) as counting the ballots already in."""
    for rule in _all_rules():
        for a, r, x, b in _partial_votes(rule.members):
            if not decided(a, r, x, rule, b):
                continue
            now = tally(_cast(a, r, x, b), rule).outcome
            outstanding = rule.members - a - r - x - b
            for extra in itertools.product(("approve", "reject", "abstain", "sendBack"), repeat=outstanding):
                assert tally(_cast(a, r, x, b, *extra), rule).outcome == now, (rule, a, r, x, b, extra)


def test_send_back_votes_count_against_approval_and_send_back_when_not_fewer_than_rejects() -> None:
    rule = VotingRule(3, 2, D(50))
    one_sends_back = tally(ballots("approve", "sendBack", "abstain"), rule)
    assert not one_sends_back.approved and one_sends_back.outcome == "sendBack"
    assert one_sends_back.send_back_reasons == ("m1: reason 1",)
    tie = tally(ballots("reject", "sendBack", "approve"), rule)
    assert tie.outcome == "sendBack" and [b.member for b in tie.dissent] == ["m0", "m2"]
    assert "退回修改 1" in tie.summary and "sent back for revision" in tie.summary
    assert tally(ballots("reject", "reject", "sendBack"), rule).outcome == "reject"
    assert tally(ballots("approve", "approve", "sendBack"), rule).outcome == "approve"
    assert tally(ballots("reject", "abstain", "abstain"), rule).outcome == "reject"
    assert Vote.of("sendBack") is Vote.SEND_BACK and Vote.of(" SENDBACK ") is Vote.SEND_BACK


def test_a_send_back_vote_without_a_reason_does_not_count() -> None:
    cast = [CastBallot("t1", "a", "a", Vote.SEND_BACK, "  ", "1"),
            CastBallot("t2", "b", "b", Vote.SEND_BACK, "缺参数", "2")]
    counted, refused = admissible_ballots(cast, ["a", "b"])
    assert [b.member for b in counted] == ["b"]
    assert [r.user for r in refused] == ["a"] and "without a reason" in refused[0].reason


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
        for a, r, x, b in _partial_votes(rule.members):
            done = a + r + x + b
            if done == 0 or done == rule.members:
                continue  # the engine asks only after a ballot, and ends by itself when all are in
            names = {"nrOfCompletedInstances": done, "nrOfInstances": rule.members,
                     "committeeQuorum": rule.quorum, "committeeMajorityPct": rule.majority_pct,
                     "approveVotes": a, "rejectVotes": r, "abstainVotes": x, "sendBackVotes": b}
            assert eval(condition, {}, names) == decided(a, r, x, rule, b), (rule, a, r, x, b)
