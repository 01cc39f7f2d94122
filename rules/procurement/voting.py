"""Counting the equipment committee's ballots (设备论证委员会表决).

A proposal passes when a quorum of the committee has voted (abstaining counts as present) and the
approvals are *more than* the majority share of the votes cast for or against; a vote to send the proposal
back for revision (退回修改, with a reason) counts against approval. A proposal that does not pass is sent
back to the proposer when the send-back votes are at least as many as the reject votes, else rejected.
``decided`` answers the question the engine asks after every ballot — can the remaining ballots still
change the outcome? — and is the same rule as the completion condition in ``procurement-evaluation.bpmn``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from enum import StrEnum


class Vote(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    ABSTAIN = "abstain"
    SEND_BACK = "sendBack"

    @classmethod
    def of(cls, value: object) -> Vote:
        """Anything other than approve, reject or send back is an abstention, as the counters in the model
        treat it."""
        text = str(value or "").strip().lower()
        return next((vote for vote in (cls.APPROVE, cls.REJECT, cls.SEND_BACK) if vote.lower() == text),
                    cls.ABSTAIN)


@dataclass(frozen=True)
class Ballot:
    """One member's vote with the reason they gave."""

    member: str
    vote: Vote
    comment: str = ""
    time: str = ""


@dataclass(frozen=True)
class VotingRule:
    """How many must vote (``quorum``, a head count) and the share of approvals needed (percent)."""

    members: int
    quorum: int
    majority_pct: Decimal

    def __post_init__(self) -> None:
        if self.members <= 0:
            raise ValueError("the committee has no members / 委员会没有成员")
        if not 1 <= self.quorum <= self.members:
            raise ValueError(f"quorum {self.quorum} must be between 1 and the {self.members} members / "
                             f"法定人数须在 1 与委员人数之间")
        if not Decimal(0) <= self.majority_pct < 100:
            raise ValueError(f"majority {self.majority_pct}% must be from 0 to below 100 / 多数比例无效")


def quorum_for(members: int, quorum_pct: Decimal) -> int:
    """Head count for a quorum given as a share of the committee, rounded up, at least one."""
    return max(1, int((Decimal(members) * quorum_pct / 100).to_integral_value(rounding=ROUND_CEILING)))


def _passes(approve: int, reject: int, majority_pct: Decimal) -> bool:
    return Decimal(approve * 100) > majority_pct * (approve + reject)


def decided(approve: int, reject: int, abstain: int, rule: VotingRule, send_back: int = 0) -> bool:
    """True when the outstanding ballots can no longer change the outcome (or none are outstanding).

    Approval is certain once the quorum is there and the approvals would still be a majority if every
    outstanding member voted against (reject or send back); approval is impossible when the approvals would
    fall short even if every outstanding member approved. An impossible approval is decided only once the
    outstanding members can no longer tip rejection into send-back or back: the rejects outnumber every
    possible send-back, or the send-backs reach the rejects whatever the outstanding members vote.
    """
    cast = approve + reject + abstain + send_back
    outstanding = rule.members - cast
    if outstanding <= 0:
        return True
    approval_certain = cast >= rule.quorum and _passes(approve, reject + send_back + outstanding, rule.majority_pct)
    approval_impossible = not _passes(approve + outstanding, reject + send_back, rule.majority_pct)
    rejected = reject > send_back + outstanding
    sent_back = send_back > 0 and send_back >= reject + outstanding
    return approval_certain or (approval_impossible and (rejected or sent_back))


@dataclass(frozen=True)
class Tally:
    """The committee's result, with the counts behind it and a bilingual line for the minutes."""

    approve: int
    reject: int
    abstain: int
    rule: VotingRule
    ballots: tuple[Ballot, ...]
    send_back: int = 0

    @property
    def present(self) -> int:
        return self.approve + self.reject + self.abstain + self.send_back

    @property
    def quorum_met(self) -> bool:
        return self.present >= self.rule.quorum

    @property
    def approved(self) -> bool:
        return self.quorum_met and _passes(self.approve, self.reject + self.send_back, self.rule.majority_pct)

    @property
    def sent_back(self) -> bool:
        """Not approved, and at least one member asked for a revision and no fewer did so than rejected."""
        return not self.approved and self.send_back > 0 and self.send_back >= self.reject

    @property
    def outcome(self) -> str:
        if self.approved:
            return Vote.APPROVE.value
        return Vote.SEND_BACK.value if self.sent_back else Vote.REJECT.value

    @property
    def dissent(self) -> tuple[Ballot, ...]:
        """Ballots against the outcome, kept with their reasons for the record."""
        against = {Vote.APPROVE: (Vote.REJECT, Vote.SEND_BACK), Vote.SEND_BACK: (Vote.APPROVE, Vote.REJECT),
                   Vote.REJECT: (Vote.APPROVE, Vote.SEND_BACK)}[Vote(self.outcome)]
        return tuple(b for b in self.ballots if b.vote in against)

    @property
    def send_back_reasons(self) -> tuple[str, ...]:
        """Each send-back vote's reason, ``member: reason``: what the proposer is told to revise."""
        return tuple(f"{b.member}: {b.comment.strip()}" for b in self.ballots if b.vote is Vote.SEND_BACK)

    @property
    def summary(self) -> str:
        if self.approved:
            verdict_zh, verdict_en = "通过", "approved"
        elif not self.quorum_met:
            verdict_zh, verdict_en = "未达法定人数，未通过", "no quorum, rejected"
        else:
            verdict_zh, verdict_en = "未通过", "rejected"
        if self.sent_back:
            verdict_zh, verdict_en = "未通过，退回修改", "not approved, sent back for revision"
        majority = f"{self.rule.majority_pct.normalize():f}%"
        return (f"设备论证委员会表决{verdict_zh}：同意 {self.approve}，反对 {self.reject}，弃权 {self.abstain}，"
                f"退回修改 {self.send_back}（委员 {self.rule.members} 人，法定人数 {self.rule.quorum}，"
                f"须超过 {majority}） / "
                f"Equipment committee {verdict_en}: {self.approve} for, {self.reject} against, {self.abstain} "
                f"abstaining, {self.send_back} for revision ({self.rule.members} members, "
                f"quorum {self.rule.quorum}, "
                f"more than {majority} of votes cast needed)")


def tally(ballots: Iterable[Ballot], rule: VotingRule) -> Tally:
    """Count the ballots; a member voting twice (a re-delivered completion) counts once, last vote wins."""
    latest: dict[str, Ballot] = {}
    for ballot in ballots:
        latest.pop(ballot.member, None)
        latest[ballot.member] = ballot
    if len(latest) > rule.members:
        raise ValueError(f"{len(latest)} ballots for a committee of {rule.members} / 票数多于委员人数")
    counted = tuple(latest.values())
    return Tally(
        approve=sum(1 for b in counted if b.vote is Vote.APPROVE),
        reject=sum(1 for b in counted if b.vote is Vote.REJECT),
        abstain=sum(1 for b in counted if b.vote is Vote.ABSTAIN),
        rule=rule,
        ballots=counted,
        send_back=sum(1 for b in counted if b.vote is Vote.SEND_BACK),
    )


@dataclass(frozen=True)
class CastBallot:
    """A completed vote task as the engine recorded it (its history), before eligibility is checked.

    ``assignee`` is the task's assignee when it was completed; ``completed_by`` the authenticated user
    the engine's operation log names for the completion (None when the engine recorded none).
    """

    task_id: str
    assignee: str | None
    completed_by: str | None
    vote: Vote
    comment: str = ""
    time: str = ""


@dataclass(frozen=True)
class RefusedBallot:
    """A completed vote task that does not count, with the reason (kept for the minutes and audit)."""

    task_id: str
    user: str
    vote: Vote
    reason: str


def admissible_ballots(cast: Iterable[CastBallot], members: Iterable[str],
                       excluded: Iterable[str] = ()) -> tuple[tuple[Ballot, ...], tuple[RefusedBallot, ...]]:
    """The ballots that count: one per current member, cast by that member, never by an excluded user.

    A ballot counts only when the user who completed the task is the task's assignee, is a member of the
    committee *now* (``members``, read when the votes are tallied) and is not excluded (the proposer).
    A member's first ballot counts (in ``time`` order); any later one is refused.
    """
    current = set(members)
    barred = {e for e in excluded if e}
    counted: dict[str, Ballot] = {}
    refused: list[RefusedBallot] = []
    for item in sorted(cast, key=lambda b: (b.time, b.task_id)):
        voter = item.completed_by or item.assignee or ""
        if not voter:
            reason = "无人签署 / completed without a known user"
        elif item.completed_by and item.assignee and item.completed_by != item.assignee:
            reason = (f"由 {item.completed_by} 代为完成 {item.assignee} 的表决 / completed by {item.completed_by} "
                      f"for {item.assignee}")
        elif voter in barred:
            reason = f"{voter} 为申请人，不得表决 / {voter} proposed this purchase and may not vote"
        elif voter not in current:
            reason = f"{voter} 不是委员会现任委员 / {voter} is not a current member of the committee"
        elif voter in counted:
            reason = f"{voter} 已投票 / {voter} has already voted"
        elif item.vote is Vote.SEND_BACK and not item.comment.strip():
            reason = f"{voter} 投退回修改未说明理由 / {voter} voted to send back without a reason"
        else:
            counted[voter] = Ballot(voter, item.vote, item.comment, item.time)
            continue
        refused.append(RefusedBallot(item.task_id, voter, item.vote, reason))
    return tuple(counted.values()), tuple(refused)
