"""Which committee ballots count: the completing user, current membership, the proposer, one per member."""

from __future__ import annotations

from decimal import Decimal

from rules.procurement import CastBallot, Vote, VotingRule, admissible_ballots, tally

MEMBERS = ["he.ping", "wu.hao", "xu.jing"]


def cast(n: int, assignee: str | None, completed_by: str | None, vote: str = "approve") -> CastBallot:
    return CastBallot(f"t{n}", assignee, completed_by, Vote.of(vote), f"reason {n}", f"2026-03-01T10:00:0{n}")


def test_members_completing_their_own_ballots_count() -> None:
    counted, refused = admissible_ballots([cast(1, "wu.hao", "wu.hao"), cast(2, "xu.jing", None, "reject")], MEMBERS)
    assert [(b.member, b.vote) for b in counted] == [("wu.hao", Vote.APPROVE), ("xu.jing", Vote.REJECT)]
    assert refused == ()


def test_a_non_member_a_former_member_and_the_proposer_do_not_count() -> None:
    ballots = [cast(1, "wang.fang", "wang.fang"), cast(2, "he.ping", "he.ping"), cast(3, "wu.hao", "wu.hao")]
    counted, refused = admissible_ballots(ballots, ["wu.hao", "xu.jing"], excluded={"he.ping"})
    assert [b.member for b in counted] == ["wu.hao"]
    assert [(r.user, "not a current member" in r.reason or "may not vote" in r.reason) for r in refused] == [
        ("wang.fang", True), ("he.ping", True)]
    assert "proposed" in refused[1].reason
    former = admissible_ballots([cast(1, "xu.jing", "xu.jing")], ["wu.hao", "he.ping"])
    assert former[0] == () and "not a current member" in former[1][0].reason


def test_a_ballot_completed_by_someone_else_than_its_assignee_does_not_count() -> None:
    counted, refused = admissible_ballots([cast(1, "wu.hao", "smartfin-service"), cast(2, None, None)], MEMBERS)
    assert counted == ()
    assert "completed by smartfin-service for wu.hao" in refused[0].reason
    assert "without a known user" in refused[1].reason


def test_one_ballot_per_member_the_first() -> None:
    counted, refused = admissible_ballots([cast(2, "wu.hao", "wu.hao", "reject"), cast(1, "wu.hao", "wu.hao")],
                                          MEMBERS)
    assert [(b.member, b.vote) for b in counted] == [("wu.hao", Vote.APPROVE)]
    assert "already voted" in refused[0].reason and refused[0].vote is Vote.REJECT


def test_refused_ballots_change_the_outcome_as_they_should() -> None:
    rule = VotingRule(3, 3, Decimal(50))
    ballots = [cast(1, "wang.fang", "wang.fang"), cast(2, "xu.jing", "xu.jing"),
               cast(3, "he.ping", "he.ping", "reject")]
    counted, _ = admissible_ballots(ballots, MEMBERS)
    result = tally(counted, rule)
    assert (result.approve, result.reject, result.quorum_met, result.outcome) == (1, 1, False, "reject")
