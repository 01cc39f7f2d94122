"""The commitment chain (预算占用链): a later document consumes what an earlier one holds on the same line.

A spending request, once approved, holds a pre-encumbrance. A contract that cites it, or a claim, takes
that holding over instead of reserving the money a second time: in ONE transaction, under the line lock,
the cited document's holding is released by the consumed amount, the citing document's bucket is posted
(encumbrance for a contract, the claim's reservation for a claim) and a ``DocumentLink`` records who moved
how much and when. When the later document is final and cost less, ``release_saving`` gives the unused
part back to the line (audited as a saving); what it costs beyond the holding is new money, checked
against the budget, and beyond the dated tolerance (``rules.budget``) it needs a new approval.

The ledger knows documents only by ``(document_type, document_no)``: an approved request is simply one
that holds a pre-encumbrance. Processes never import each other; they meet here.

A citing document that will never be paid (a rejected claim, a cancelled contract) gives what it took over
back to the cited document (``give_back``), which holds it again and stays citable.

Reservations also lapse by rule (``lapse``): a request's reservation after its validity, and any request
reservation left on a line whose fiscal year has ended. Each release is audited with the rule that applied.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import Session, select

from rules.budget import CommitmentStandards, commitment_standards_on
from smartfin.kernel.clock import hospital_today
from smartfin.kernel.money import format_yuan, from_fen, parse_amount, to_fen
from smartfin.ledger.control import evaluate, line_balances
from smartfin.ledger.errors import BudgetError
from smartfin.ledger.journal import (
    _already_posted,
    _document_entries,
    _enforce,
    _held,
    _id,
    _latest_original,
    _lock_line_by_id,
    _post,
    _y,
    release,
)
from smartfin.ledger.keys import Bucket, BudgetLineKey, LineStatus
from smartfin.ledger.models import BudgetLine, DocumentLink, JournalEntry
from smartfin.store.audit import record_audit

HOLDING_BUCKETS = (Bucket.PRE_ENCUMBRANCE, Bucket.ENCUMBRANCE)


class CitationRefused(BudgetError):
    """The cited document cannot be consumed by this one; ``reason`` says which rule refused it.

    Reasons: ``not-approved`` (it never held a reservation), ``other-department``, ``other-line``,
    ``closed`` (its reservation was released: rejected, withdrawn, lapsed), ``expired`` (past its validity),
    ``consumed`` (already fully taken by other documents), ``overrun`` (costs more than it holds beyond the
    tolerance, and no approval for the over-run was given).
    """

    code = "REFERENCE_REFUSED"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Citation:
    """What consuming ``cited`` for ``amount`` would do, judged before anything is posted."""

    cited_type: str
    cited_no: str
    line_id: int
    bucket: Bucket                 # the bucket the cited document holds its money in
    held: Decimal                  # what it holds now
    amount: Decimal                # what the citing document posts
    standards: CommitmentStandards

    @property
    def consumed(self) -> Decimal:
        return min(self.amount, self.held)

    @property
    def excess(self) -> Decimal:
        """New money beyond the holding (checked against the budget)."""
        return max(Decimal("0.00"), self.amount - self.held)

    @property
    def tolerance(self) -> Decimal:
        return self.standards.overrun_allowed(self.held)

    @property
    def within_tolerance(self) -> bool:
        """An over-run within the dated tolerance needs no new approval; beyond it, it does."""
        return self.excess <= self.tolerance

    def overrun_message(self) -> str:
        return (f"超出引用单据 {self.cited_no} 预占 {_y(self.excess)}（持有 {_y(self.held)}，"
                f"容差 {_y(self.tolerance)}），须审批 / costs {format_yuan(self.excess)} more than "
                f"{self.cited_no} holds "
                f"({format_yuan(self.held)}; tolerance {format_yuan(self.tolerance)} by the standard of "
                f"{self.standards.effective_from}): the over-run needs approval")


@dataclass(frozen=True)
class Consumption:
    """The outcome of ``consume``: the link (new or found again) and the citing document's entry."""

    link: DocumentLink
    entry: JournalEntry
    citation: Citation | None      # None when a redelivery found the link already made


def expires_on(approved_on: date, standards: CommitmentStandards) -> date:
    """The last day an approved request's reservation may be consumed."""
    return approved_on + timedelta(days=standards.request_validity_days)


def _refuse(reason: str, cn: str, en: str) -> CitationRefused:
    return CitationRefused(reason, f"{cn} / {en}")


def _judge(session: Session, line: BudgetLine, entries: Sequence[JournalEntry], *, cited_type: str,
           cited_no: str, key: BudgetLineKey, amount: Decimal, on: date, expiring: bool) -> Citation:
    """Every refusal rule, on entries read under the line lock; the citation when none applies."""
    if line.key.department != key.department:
        raise _refuse("other-department", f"引用单据 {cited_no} 属于科室 {line.key.department}，不是 {key.department}",
                      f"{cited_no} belongs to department {line.key.department}, not {key.department}")
    if line.key != key:
        raise _refuse("other-line", f"引用单据 {cited_no} 属于预算行 {line.key}，不是 {key}",
                      f"{cited_no} is on budget line {line.key}, not {key}")
    bucket = next((b for b in HOLDING_BUCKETS if any(e.bucket == b for e in entries)), None)
    if bucket is None:
        raise _refuse("not-approved", f"引用单据 {cited_no} 未获批准（无预占）",
                      f"{cited_no} holds no reservation: it was never approved")
    standards = commitment_standards_on(on)
    held = from_fen(_held(entries, bucket))
    original = _latest_original(entries, bucket)
    if held <= 0:
        takers = session.exec(select(DocumentLink).where(DocumentLink.cited_type == cited_type,
                                                         DocumentLink.cited_no == cited_no)).all()
        if takers:
            names = ", ".join(f"{t.citing_no}" for t in takers)
            raise _refuse("consumed", f"引用单据 {cited_no} 的预占已被 {names} 全部使用",
                          f"{cited_no} is already fully consumed by {names}")
        last = entries[-1]
        raise _refuse("closed", f"引用单据 {cited_no} 的预占已释放（{last.reason}）",
                      f"{cited_no} is closed: its reservation was released ({last.reason})")
    if expiring and bucket == Bucket.PRE_ENCUMBRANCE and original is not None:
        last_day = expires_on(original.effective_on, standards)
        if on > last_day:
            raise _refuse("expired", f"引用单据 {cited_no} 已过有效期（{original.effective_on} 批准，有效期 "
                                     f"{standards.request_validity_days} 天，至 {last_day}）",
                          f"{cited_no} has expired: approved on {original.effective_on}, valid "
                          f"{standards.request_validity_days} days until {last_day}")
    return Citation(cited_type, cited_no, _id(line), bucket, held, amount, standards)


def assess_citation(session: Session, *, cited_type: str, cited_no: str, key: BudgetLineKey,
                    amount: Decimal | str, on: date | None = None, expiring: bool = True) -> Citation:
    """Judge a citation without posting (no lock): for a form, or to route an over-run for approval.

    Raises ``CitationRefused`` for every rule ``consume`` would refuse on; ``consume`` judges again under
    the line lock, so this answer may be stale but never lets anything through.
    """
    value = parse_amount(amount)
    entries = _document_entries(session, cited_type, cited_no)
    if not entries:
        raise _refuse("not-approved", f"引用单据 {cited_no} 未获批准（无预占）",
                      f"{cited_no} holds no reservation: it was never approved")
    line = session.get(BudgetLine, entries[0].line_id)
    assert line is not None  # the foreign key holds
    return _judge(session, line, entries, cited_type=cited_type, cited_no=cited_no, key=key, amount=value,
                  on=on or hospital_today(), expiring=expiring)


def consume(session: Session, *, cited_type: str, cited_no: str, citing_type: str, citing_no: str,
            key: BudgetLineKey, amount: Decimal | str, bucket: Bucket, actor: str, reference: str | None = None,
            overrun_approved: bool = False, on: date | None = None, expiring: bool = True) -> Consumption:
    """Carry ``cited``'s holding into ``citing``'s ``bucket`` for ``amount``, in the caller's transaction.

    Under the line lock: the cited document's holding is released by ``min(amount, held)``, the citing
    document posts ``amount`` to ``bucket``, the link is recorded and audited. Anything above the holding
    is new money: checked against the budget (``BudgetExceeded`` and friends), and beyond the tolerance
    refused (``CitationRefused('overrun')``) unless ``overrun_approved`` — a caller that routes the
    over-run to an approval chain says so. Two documents citing one holding at once queue on the line;
    the second sees what the first left. A redelivery returns the link already made and posts nothing.
    """
    if bucket not in (Bucket.PRE_ENCUMBRANCE, Bucket.ENCUMBRANCE, Bucket.ACTUAL):
        raise ValueError(f"a citing document posts to a commitment bucket, not {bucket}")
    value = parse_amount(amount)
    day = on or hospital_today()
    cited_entries = _document_entries(session, cited_type, cited_no)
    if not cited_entries:
        raise _refuse("not-approved", f"引用单据 {cited_no} 未获批准（无预占）",
                      f"{cited_no} holds no reservation: it was never approved")
    line = _lock_line_by_id(session, cited_entries[0].line_id)
    found = session.exec(select(DocumentLink).where(
        DocumentLink.cited_type == cited_type, DocumentLink.cited_no == cited_no,
        DocumentLink.citing_type == citing_type, DocumentLink.citing_no == citing_no)).first()
    citing_entries = _document_entries(session, citing_type, citing_no)
    if found is not None:
        entry = _already_posted(session, citing_entries, bucket, line, value)
        if entry is not None:
            return Consumption(found, entry, None)
    cited_entries = _document_entries(session, cited_type, cited_no)  # re-read under the lock
    citation = _judge(session, line, cited_entries, cited_type=cited_type, cited_no=cited_no, key=key,
                      amount=value, on=day, expiring=expiring)
    if _already_posted(session, citing_entries, bucket, line, value) is not None or \
            any(_held(citing_entries, b) for b in (*HOLDING_BUCKETS, Bucket.ACTUAL)):
        raise _refuse("citing-holds", f"单据 {citing_no} 已有预算占用，不能再引用 {cited_no}",
                      f"{citing_no} already holds money on its own; it cannot take over {cited_no} as well")
    if citation.excess > 0 and not citation.within_tolerance and not overrun_approved:
        raise CitationRefused("overrun", citation.overrun_message())
    check = None
    if citation.excess > 0:
        # only new money is checked; what the cited document held was checked when it was reserved
        check = evaluate(line, line_balances(session, _id(line), on=day), key, citation.excess, on=day)
        _enforce(check, None)
    original = _latest_original(cited_entries, citation.bucket)
    _post(session, line, citation.bucket, -to_fen(citation.consumed), cited_type, cited_no, actor,
          reason=f"consumed by {citing_type} {citing_no}", reverses=original.id if original else None,
          reference=citing_no)
    entry = _post(session, line, bucket, to_fen(value), citing_type, citing_no, actor,
                  reason=f"takes over {cited_type} {cited_no}", reference=reference or cited_no, check=check)
    link = DocumentLink(cited_type=cited_type, cited_no=cited_no, citing_type=citing_type, citing_no=citing_no,
                        line_id=_id(line), from_bucket=citation.bucket.value, to_bucket=bucket.value,
                        consumed_fen=to_fen(citation.consumed), posted_fen=to_fen(value),
                        excess_fen=to_fen(citation.excess), within_tolerance=citation.within_tolerance, actor=actor)
    session.add(link)
    session.flush()
    record_audit(session, actor=actor, action="budget.consumed", subject_type=cited_type, subject_id=cited_no,
                 details={"citing_type": citing_type, "citing_no": citing_no, "line": str(line.key),
                          "held": citation.held, "consumed": citation.consumed, "posted": value,
                          "bucket": bucket, "excess": citation.excess, "tolerance": citation.tolerance,
                          "within_tolerance": citation.within_tolerance, "overrun_approved": overrun_approved,
                          "standard": citation.standards.effective_from, "link": link.id})
    return Consumption(link, entry, citation)


def release_saving(session: Session, *, cited_type: str, cited_no: str, citing_type: str, citing_no: str,
                   actor: str) -> Decimal:
    """The later document is final and cost less: give back what ``cited`` still holds (a saving, 节余).

    Only a document that ``citing`` consumed is released, so a saving cannot be claimed for a document it
    never took over. Returns the amount given back (zero when nothing remained: repeated calls are harmless).
    """
    link = session.exec(select(DocumentLink).where(
        DocumentLink.cited_type == cited_type, DocumentLink.cited_no == cited_no,
        DocumentLink.citing_type == citing_type, DocumentLink.citing_no == citing_no)).first()
    if link is None:
        raise _refuse("not-cited", f"单据 {citing_no} 未引用 {cited_no}，不能释放节余",
                      f"{citing_no} did not take over {cited_no}: no saving to release")
    entry = release(session, document_type=cited_type, document_no=cited_no, bucket=Bucket(link.from_bucket),
                    actor=actor, reason=f"saving: {citing_type} {citing_no} is final and cost less")
    if entry is None:
        return Decimal("0.00")
    saved = -entry.amount
    record_audit(session, actor=actor, action="budget.saving_released", subject_type=cited_type,
                 subject_id=cited_no, details={"citing_type": citing_type, "citing_no": citing_no,
                                               "released": saved, "entry": entry.id, "link": link.id})
    return saved


@dataclass(frozen=True)
class GivenBack:
    """What ``give_back`` returned for one link: to the cited document, and to the line (new money)."""

    cited_type: str
    cited_no: str
    to_cited: Decimal
    to_line: Decimal


def give_back(session: Session, *, citing_type: str, citing_no: str, actor: str, reason: str) -> list[GivenBack]:
    """A citing document that will never be paid (claim rejected or withdrawn, contract cancelled) returns
    what it took over TO THE DOCUMENT IT CITED, which holds it again and can be cited again; only the new
    money it posted beyond that holding goes back to the line.

    Under the line lock, in the caller's transaction: the citing document's holding is reversed, and the
    cited document gets back at most what was consumed from it (an entry reversing the consumption, so its
    validity still runs from its approval). Audited (``budget.given_back``). A document that holds nothing
    any more (given back already, or paid) gives back nothing, so repeated calls are harmless.
    """
    links = list(session.exec(select(DocumentLink).where(
        DocumentLink.citing_type == citing_type, DocumentLink.citing_no == citing_no)
        .order_by(DocumentLink.id)).all())  # type: ignore[arg-type]
    if not links:
        return []
    line = _lock_line_by_id(session, links[0].line_id)
    out: list[GivenBack] = []
    for link in links:
        bucket = Bucket(link.to_bucket)
        citing_entries = _document_entries(session, citing_type, citing_no)  # read under the lock
        held = _held(citing_entries, bucket) if bucket in HOLDING_BUCKETS else 0
        if held <= 0:
            continue
        cited_bucket = Bucket(link.from_bucket)
        taken = [e for e in _document_entries(session, link.cited_type, link.cited_no)
                 if e.bucket == cited_bucket and e.reference == citing_no and e.reverses is not None]
        consumed = next((e for e in taken if e.amount_fen < 0), None)
        returned = sum(e.amount_fen for e in taken if e.amount_fen > 0)
        back = max(0, min(held, link.consumed_fen - returned))
        original = _latest_original(citing_entries, bucket)
        _post(session, line, bucket, -held, citing_type, citing_no, actor, reason=f"given back: {reason}",
              reverses=original.id if original else None, reference=link.cited_no)
        if back and consumed is not None:
            _post(session, line, cited_bucket, back, link.cited_type, link.cited_no, actor,
                  reason=f"given back by {citing_type} {citing_no}: {reason}", reverses=consumed.id,
                  reference=citing_no)
        result = GivenBack(link.cited_type, link.cited_no, from_fen(back), from_fen(held - back))
        record_audit(session, actor=actor, action="budget.given_back", subject_type=link.cited_type,
                     subject_id=link.cited_no, details={"citing_type": citing_type, "citing_no": citing_no,
                                                        "line": str(line.key), "to_cited": result.to_cited,
                                                        "to_line": result.to_line, "reason": reason,
                                                        "link": link.id})
        out.append(result)
    return out


def open_citers(session: Session, cited_type: str, cited_no: str) -> list[str]:
    """The documents that took over part of ``cited`` and still hold it (claims in flight): a cited document
    is not closed under them, or a later ``give_back`` would return money to a closed document."""
    numbers = []
    for link in session.exec(select(DocumentLink).where(DocumentLink.cited_type == cited_type,
                                                        DocumentLink.cited_no == cited_no)).all():
        entries = _document_entries(session, link.citing_type, link.citing_no)
        if any(_held(entries, b) > 0 for b in HOLDING_BUCKETS):
            numbers.append(link.citing_no)
    return numbers


def links_of(session: Session, document_nos: Iterable[str]) -> list[DocumentLink]:
    """Every link in which one of ``document_nos`` is the cited or the citing document, oldest first."""
    numbers = list(document_nos)
    if not numbers:
        return []
    return list(session.exec(select(DocumentLink).where(
        (DocumentLink.cited_no.in_(numbers)) | (DocumentLink.citing_no.in_(numbers)))  # type: ignore[attr-defined]
        .order_by(DocumentLink.id)).all())  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------- lapse

@dataclass(frozen=True)
class Lapse:
    """One reservation given back by rule."""

    document_type: str
    document_no: str
    line: str
    amount: Decimal
    rule: str


def lapse(session: Session, *, document_types: Sequence[str], as_of: date | None = None,
          actor: str = "system") -> list[Lapse]:
    """Give back the pre-encumbrance of every document of ``document_types`` (approved requests) that has
    lapsed on ``as_of``: past its validity (dated standard), or on a line whose fiscal year has ended.

    Each release is one reversal and one audit entry naming the rule; a document already released holds
    nothing and is skipped, so running it again changes nothing (idempotent). Claims in flight and
    contracts are not touched: they are carried or closed by their own processes and the year-end close.
    """
    day = as_of or hospital_today()
    standards = commitment_standards_on(day)
    holding = session.exec(
        select(JournalEntry.document_type, JournalEntry.document_no)
        .where(JournalEntry.bucket == Bucket.PRE_ENCUMBRANCE.value,
               JournalEntry.document_type.in_(list(document_types)))  # type: ignore[attr-defined]
        .group_by(JournalEntry.document_type, JournalEntry.document_no)
        .having(func.sum(JournalEntry.amount_fen) > 0)
        .order_by(JournalEntry.document_no)).all()
    lapsed: list[Lapse] = []
    for document_type, document_no in holding:
        entries = _document_entries(session, document_type, document_no)
        line = session.get(BudgetLine, entries[0].line_id)
        original = _latest_original(entries, Bucket.PRE_ENCUMBRANCE)
        if line is None or original is None:
            continue
        rule = _lapse_rule(line, original, day, standards)
        if rule is None:
            continue
        entry = release(session, document_type=document_type, document_no=document_no,
                        bucket=Bucket.PRE_ENCUMBRANCE, actor=actor, reason=f"lapsed: {rule}")
        if entry is None:  # released by someone else meanwhile
            continue
        record_audit(session, actor=actor, action="budget.lapsed", subject_type=document_type,
                     subject_id=document_no, details={"line": str(line.key), "released": -entry.amount,
                                                      "rule": rule, "as_of": day, "entry": entry.id,
                                                      "standard": standards.effective_from})
        lapsed.append(Lapse(document_type, document_no, str(line.key), -entry.amount, rule))
    return lapsed


def _lapse_rule(line: BudgetLine, original: JournalEntry, day: date, standards: CommitmentStandards) -> str | None:
    if line.fiscal_year < day.year:
        return f"year-end: fiscal year {line.fiscal_year} has ended"
    last_day = expires_on(original.effective_on, standards)
    if day > last_day:
        return (f"validity: approved {original.effective_on}, valid {standards.request_validity_days} days "
                f"until {last_day} (standard of {standards.effective_from})")
    return None


# ------------------------------------------------------------------------------------ payment check

def payment_problems(session: Session, *, document_type: str, document_no: str, amount: Decimal,
                     on: date | None = None) -> list[str]:
    """The budget checked again at payment, inside the posting step: why ``amount`` must not be paid now.

    The document's line must be open and in force on the payment day, the document must still hold its
    reservation (pre-encumbrance or encumbrance), and the payment may not exceed what it holds plus what
    the line has available. Reads under the line lock, so no reservation can slip in between.
    """
    day = on or hospital_today()
    entries = _document_entries(session, document_type, document_no)
    if not entries:
        return [f"{document_no} 在预算账中无预占 / {document_no} holds nothing in the budget ledger"]
    line = _lock_line_by_id(session, entries[0].line_id)
    entries = _document_entries(session, document_type, document_no)
    problems = []
    if line.status == LineStatus.CLOSED:
        problems.append(f"预算行已关闭：{line.label} / budget line {line.label} is closed")
    first, last = line.period
    if not first <= day <= last:
        problems.append(f"预算行 {line.label} 在 {day} 不在有效期 {first}–{last} 内 / budget line {line.label} is not "
                        f"in force on {day} (in force {first}–{last})")
    held = from_fen(sum(_held(entries, b) for b in HOLDING_BUCKETS))
    if held <= 0:
        problems.append(f"{document_no} 已不再持有预占 / {document_no} no longer holds its reservation")
    available = line_balances(session, _id(line), on=day).available
    if amount > held + available:
        problems.append(f"付款 {_y(amount)} 超过预占 {_y(held)} 加可用 {_y(available)} / paying "
                        f"{format_yuan(amount)} is more than held {format_yuan(held)} plus available "
                        f"{format_yuan(available)}")
    return problems
