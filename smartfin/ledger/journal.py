"""Posting to the budget journal: create lines, budget them, reserve, move and release money.

Every function takes the caller's ``Session`` and never commits: the caller's unit of work (one worker
task, one import) commits or rolls back as a whole. Functions that add money to a commitment bucket
lock the budget line first and check the budget again under that lock, so simultaneous reservations
queue on the line and can never overspend it.

Source documents are identified by ``(document_type, document_no)``. Workers deliver tasks at least
once, so posting the same document again is answered with the entry already posted; posting it again
with a different amount or line is a ``DocumentConflict``. A document has one budget line.

Life of a spending request: ``pre_encumber`` (request approved) → ``encumber`` (contract signed) →
``record_actual`` (paid); ``release`` gives back whatever the document still holds when it is rejected,
cancelled or finished for less.

Effective dates (``JournalEntry.effective_on``): the original budget takes effect on the line's first day
(``BudgetLine.period``), whenever it was keyed in; an adjustment on the date its decision names (default:
the hospital's today), within the line's period; commitments, releases and reversals on the hospital
date they are posted — a reversal never before the entry it cancels.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from smartfin.kernel.clock import hospital_date, hospital_today, utc_now
from smartfin.kernel.money import format_yuan, from_fen, parse_amount, to_fen
from smartfin.ledger.balances import Balances, DocumentHoldings
from smartfin.ledger.control import (
    BudgetCheck,
    CheckOutcome,
    Override,
    evaluate,
    find_line,
    line_balances,
    note_outcome,
)
from smartfin.ledger.errors import (
    AlreadyBudgeted,
    BudgetExceeded,
    BudgetLineClosed,
    BudgetLineNotEffective,
    DocumentConflict,
    LineAlreadyExists,
    NoSuchBudgetLine,
    NoSuchDocument,
)
from smartfin.ledger.keys import Bucket, BudgetLineKey, ControlLevel, LineStatus
from smartfin.ledger.models import BudgetLine, DocumentLink, JournalEntry, pct_to_bp
from smartfin.store.audit import record_audit

COMMITMENT_BUCKETS = (Bucket.PRE_ENCUMBRANCE, Bucket.ENCUMBRANCE, Bucket.ACTUAL)
BUDGET_DOCUMENT = "budget"
ADJUSTMENT_DOCUMENT = "budget-adjustment"

AmountLike = Decimal | str | int


# ---------------------------------------------------------------------------------------------- lines

def create_line(session: Session, key: BudgetLineKey, *, actor: str, name: str = "",
                control_level: ControlLevel | str = ControlLevel.CONTROL,
                tolerance_pct: AmountLike = 0, tolerance_amount: AmountLike = 0,
                warning_pct: AmountLike | None = 90,
                effective_from: date | None = None, effective_to: date | None = None,
                budget: AmountLike | None = None, document_no: str | None = None) -> BudgetLine:
    """Open a budget line (and, with ``budget``, post its original budget from ``document_no``).

    Percentages are given in percent (``12.5`` = 12.5 %) with at most two decimals; the tolerance is the
    overspend still accepted with a warning, ``warning_pct`` the usage that triggers an early warning.
    """
    _require(actor=actor)
    level = ControlLevel(control_level)
    tol_pct = parse_amount(tolerance_pct, field="tolerance_pct", allow_zero=True)
    if tol_pct > 100:
        raise ValueError("tolerance_pct must be between 0 and 100")
    tol_amount = parse_amount(tolerance_amount, field="tolerance_amount", allow_zero=True)
    warn = None if warning_pct is None else parse_amount(warning_pct, field="warning_pct")
    if warn is not None and warn > 100:
        raise ValueError("warning_pct must be between 0 and 100")
    if effective_from and effective_to and effective_from > effective_to:
        raise ValueError(f"effective_from {effective_from} is after effective_to {effective_to}")
    if find_line(session, key) is not None:
        raise LineAlreadyExists(f"预算行已存在：{key} / Budget line {key} already exists")
    line = BudgetLine(
        fiscal_year=key.fiscal_year, department=key.department, economic_code=key.economic_code,
        funding_source=key.funding_source.value, project=key.project, name=name.strip(),
        control_level=level.value, tolerance_bp=pct_to_bp(tol_pct), tolerance_fen=to_fen(tol_amount),
        warning_bp=None if warn is None else pct_to_bp(warn), status=LineStatus.OPEN.value,
        effective_from=effective_from, effective_to=effective_to, created_by=actor,
    )
    try:
        with session.begin_nested():
            session.add(line)
    except IntegrityError:
        # Another transaction created the same key between our look-up and our insert.
        raise LineAlreadyExists(f"预算行已存在：{key} / Budget line {key} already exists") from None
    record_audit(session, actor=actor, action="budget.line_created", subject_type="budget_line",
                 subject_id=str(line.id), details={"key": str(key), "name": line.name,
                                                   "control_level": level, "tolerance_pct": tol_pct,
                                                   "tolerance_amount": tol_amount, "warning_pct": warn})
    if budget is not None:
        set_budget(session, key, budget, document_no=document_no or f"BUDGET-{key}", actor=actor)
    return line


def close_line(session: Session, key: BudgetLineKey, *, actor: str, reason: str) -> BudgetLine:
    """Close a line so that nothing new can be charged to it; what it holds stays and can be moved."""
    _require(actor=actor, reason=reason)
    line = _locked_line(session, key)
    if line.status != LineStatus.CLOSED:
        line.status = LineStatus.CLOSED.value
        session.add(line)
        record_audit(session, actor=actor, action="budget.line_closed", subject_type="budget_line",
                     subject_id=str(line.id), details={"key": str(key), "reason": reason})
        session.flush()
    return line


def set_budget(session: Session, key: BudgetLineKey, amount: AmountLike, *, document_no: str, actor: str,
               document_type: str = BUDGET_DOCUMENT, reason: str = "") -> JournalEntry:
    """Post a line's original budget, once. Later changes are adjustments (they need a decision).

    The budget takes effect on the line's first day (``effective_from``, else 1 January of its fiscal
    year), not on the day it was loaded: a budget imported in June is the budget of January too.
    """
    _require(actor=actor, document_no=document_no)
    value = parse_amount(amount, field="budget", allow_zero=True)
    line = _locked_line(session, key)
    for entry in live_budget_entries(session, line):
        if (entry.document_type, entry.document_no) == (document_type, document_no) \
                and entry.amount_fen == to_fen(value):
            return entry
        raise AlreadyBudgeted(
            f"预算行 {line.label} 已有预算 {_y(entry.amount)}（{entry.document_no}），请走预算调整 / "
            f"Line {line.label} is already budgeted ({format_yuan(entry.amount)} from {entry.document_no}) "
            f"— use an adjustment")
    return _post(session, line, Bucket.BUDGET, to_fen(value), document_type, document_no, actor,
                 reason=reason or "original budget", effective_on=line.period[0])


def adjust(session: Session, key: BudgetLineKey, amount: AmountLike, *, document_no: str, actor: str,
           reason: str, override: Override | None = None, document_type: str = ADJUSTMENT_DOCUMENT,
           effective_on: date | None = None, multi_line: bool = False) -> JournalEntry:
    """Post a signed budget adjustment (调整), e.g. after a president's office meeting decision.

    ``reason`` should cite the decision. The adjustment takes effect on ``effective_on`` (default: the
    hospital's today), which must fall within the line's period (``BudgetLineNotEffective`` otherwise):
    as-of reports count it from that day, and budget control does not count it before (an increase
    effective 1 July does not authorise spending in May). A cut that would leave a control line below
    what is already committed on the day it takes effect (or today, if later) raises ``BudgetExceeded``
    unless overridden. Posting the same decision again returns the entry already posted; with another
    amount, line or (given explicitly) effective date it is a ``DocumentConflict``. With ``multi_line`` one
    decision (a transfer, a year-end carry-over) posts under one document number on several lines, and the
    same number on another line is that decision's other side, not a conflict. A closed line refuses an
    increase but not a cut: money may still be moved off it (the year-end close carries what a line closed
    early still holds).
    """
    _require(actor=actor, document_no=document_no, reason=reason)
    value = parse_amount(amount, field="amount", allow_negative=True)
    if effective_on is not None and (isinstance(effective_on, datetime) or not isinstance(effective_on, date)):
        raise ValueError(f"effective_on must be a date, not {effective_on!r}")
    line = _locked_line(session, key)
    if line.status == LineStatus.CLOSED and value > 0:  # a closed line takes no new money; what it holds can leave
        raise BudgetLineClosed(f"预算行已关闭：{line.label} / Budget line {line.label} is closed")
    for entry in _all_document_entries(session, document_type, document_no):
        if entry.line_id != line.id and multi_line:
            continue  # one decision moving money on several lines: each line answers for itself
        if entry.reverses is None and entry.bucket == Bucket.ADJUSTMENT and not _is_reversed(session, entry):
            if entry.line_id == line.id and entry.amount_fen == to_fen(value) \
                    and effective_on in (None, entry.effective_on):
                return entry
            raise DocumentConflict(
                f"调整单 {document_no} 已过账 {_y(entry.amount)}（{entry.effective_on} 生效） / Adjustment "
                f"{document_no} was already posted with {format_yuan(entry.amount)} on line {entry.line_id}, "
                f"effective {entry.effective_on}")
    day = effective_on or hospital_today()
    first, last = line.period
    if not first <= day <= last:
        raise BudgetLineNotEffective(
            f"调整生效日期 {day} 不在预算行 {line.label} 的有效期 {first}–{last} 内 / Adjustment {document_no} "
            f"cannot take effect on {day}: line {line.label} is in force from {first} to {last}")
    used_override = None
    if value < 0:
        balances = line_balances(session, _id(line), on=max(day, hospital_today()))
        after = balances.available + value
        if after < 0 and line.control == ControlLevel.CONTROL:
            message = (f"调减后可用余额为负：{line.label}，可用 {_y(balances.available)}，调减 {_y(-value)} / "
                       f"Cut leaves line {line.label} below its commitments: available "
                       f"{format_yuan(balances.available)}, cut {format_yuan(-value)}")
            if override is None:
                raise BudgetExceeded(message)
            used_override = override
    entry = _post(session, line, Bucket.ADJUSTMENT, to_fen(value), document_type, document_no, actor,
                  reason=reason, override=used_override, effective_on=day)
    record_audit(session, actor=actor, action="budget.adjusted", subject_type="budget_line",
                 subject_id=str(line.id), details={"key": str(key), "amount": value,
                                                   "document_no": document_no, "reason": reason,
                                                   "effective_on": day, "entry_id": entry.id})
    return entry


# ------------------------------------------------------------------------------------- commitments

def pre_encumber(session: Session, key: BudgetLineKey, amount: AmountLike, *, document_type: str,
                 document_no: str, actor: str, override: Override | None = None, reason: str = "",
                 on: date | None = None) -> JournalEntry:
    """Reserve ``amount`` for an approved request (预占): lock the line, check again, post.

    Raises ``BudgetExceeded`` when the check blocks and no ``override`` is given (an override is
    recorded on the entry and in the audit log), ``NoSuchBudgetLine``, ``BudgetLineClosed``,
    ``BudgetLineNotEffective``; ``DocumentConflict`` when the document was reserved with another amount.
    A document whose reservation was released may be reserved again (a resubmitted request).
    """
    _require(actor=actor, document_type=document_type, document_no=document_no)
    value = parse_amount(amount)
    line = find_line(session, key, lock=True)
    if line is None:
        check = evaluate(None, None, key, value, on=on)
        raise NoSuchBudgetLine(check.message, check=check)
    entries = _document_entries(session, document_type, document_no)
    existing = _already_posted(session, entries, Bucket.PRE_ENCUMBRANCE, line, value)
    if existing is not None:
        return existing
    check = evaluate(line, line_balances(session, _id(line)), key, value, on=on)
    used_override = _enforce(check, override)
    return _post(session, line, Bucket.PRE_ENCUMBRANCE, to_fen(value), document_type, document_no, actor,
                 reason=reason, override=used_override, check=check)


def encumber(session: Session, *, document_type: str, document_no: str, actor: str,
             amount: AmountLike | None = None, contract_no: str | None = None,
             key: BudgetLineKey | None = None, override: Override | None = None, reason: str = "",
             on: date | None = None) -> JournalEntry:
    """Contract signed (合同占用): release the document's pre-encumbrance and post its encumbrance.

    ``amount`` defaults to the amount pre-encumbered; only an increase is checked against the budget.
    A document that was never pre-encumbered can be encumbered directly by naming its ``key``.
    """
    return _move(session, Bucket.ENCUMBRANCE, (Bucket.PRE_ENCUMBRANCE,), document_type=document_type,
                 document_no=document_no, actor=actor, amount=amount, reference=contract_no, key=key,
                 override=override, reason=reason or "contract signed", on=on)


def record_actual(session: Session, *, document_type: str, document_no: str, actor: str,
                  amount: AmountLike | None = None, voucher_no: str | None = None,
                  key: BudgetLineKey | None = None, override: Override | None = None, reason: str = "",
                  on: date | None = None) -> JournalEntry:
    """Paid (实际支出): release everything the document holds (encumbrance, else pre-encumbrance) and post
    the actual. Paying less gives the difference back to the line; paying more is checked.
    """
    return _move(session, Bucket.ACTUAL, (Bucket.ENCUMBRANCE, Bucket.PRE_ENCUMBRANCE),
                 document_type=document_type, document_no=document_no, actor=actor, amount=amount,
                 reference=voucher_no, key=key, override=override, reason=reason or "paid", on=on)


def release(session: Session, *, document_type: str, document_no: str, bucket: Bucket | str, actor: str,
            reason: str) -> JournalEntry | None:
    """Give back whatever the document still holds in ``bucket`` (rejected, cancelled, closed short).

    Posts one reversal entry; returns None when the document holds nothing there, so a repeated
    release is harmless.
    """
    _require(actor=actor, document_type=document_type, document_no=document_no, reason=reason)
    target = Bucket(bucket)
    if target not in COMMITMENT_BUCKETS:
        raise ValueError(f"release works on commitment buckets, not {target}; use adjust or reverse_entry")
    entries = _document_entries(session, document_type, document_no)
    if not entries:
        return None
    line = _lock_line_by_id(session, entries[0].line_id)
    entries = _document_entries(session, document_type, document_no)  # re-read under the lock
    held = _held(entries, target)
    if held == 0:
        return None
    original = _latest_original(entries, target)
    return _post(session, line, target, -held, document_type, document_no, actor, reason=reason,
                 reverses=original.id if original else None)


def carry_commitment(session: Session, *, document_type: str, document_no: str, bucket: Bucket | str,
                     to_key: BudgetLineKey, actor: str, reason: str,
                     effective_on: date) -> tuple[JournalEntry, JournalEntry] | None:
    """Move what a document holds in ``bucket`` to another line (next year's, at year-end close), keeping its
    document number: a release on the old line and the same amount re-posted on ``to_key``, each naming the
    other in ``reference``. Later moves of the document (the contract paid next year) happen on the new line.
    Returns (release, re-post), or None when the document holds nothing there (a repeated carry is harmless).
    """
    _require(actor=actor, document_type=document_type, document_no=document_no, reason=reason)
    target = Bucket(bucket)
    if target not in COMMITMENT_BUCKETS:
        raise ValueError(f"only commitments are carried, not {target}")
    entries = _document_entries(session, document_type, document_no)
    if not entries:
        return None
    old = _lock_line_by_id(session, entries[0].line_id)
    new = _locked_line(session, to_key)
    if new.id == old.id:
        return None
    entries = _document_entries(session, document_type, document_no)
    held = _held(entries, target)
    if held <= 0:
        return None
    original = _latest_original(entries, target)
    released = _post(session, old, target, -held, document_type, document_no, actor, reason=reason,
                     reverses=original.id if original else None, reference=f"carried to {to_key}")
    reposted = _post(session, new, target, held, document_type, document_no, actor, reason=reason,
                     reference=f"carried from {old.key} entry {released.id}", effective_on=effective_on)
    record_audit(session, actor=actor, action="budget.commitment_carried", subject_type="journal_entry",
                 subject_id=str(reposted.id), details={"document_type": document_type, "document_no": document_no,
                                                        "bucket": target, "amount": from_fen(held),
                                                        "from": str(old.key), "to": str(to_key),
                                                        "released_entry": released.id})
    return released, reposted


def reverse_entry(session: Session, entry_id: int, *, actor: str, reason: str) -> JournalEntry:
    """Correct a wrong entry by posting its exact opposite; the original stays in the journal.

    The reversal takes effect on the day it is posted, not the original's: a report as of an earlier
    month still shows what was in force then. An original dated later (an adjustment not yet in force)
    is cancelled on its own date, so the reversal never takes effect before the entry it cancels.
    """
    _require(actor=actor, reason=reason)
    entry = session.get(JournalEntry, entry_id)
    if entry is None:
        raise ValueError(f"journal entry {entry_id} does not exist")
    line = _lock_line_by_id(session, entry.line_id)
    if entry.reverses is not None:
        raise ValueError(f"journal entry {entry_id} is itself a reversal; post a new entry instead")
    if _is_reversed(session, entry):
        raise ValueError(f"journal entry {entry_id} has already been reversed")
    reversal = _post(session, line, Bucket(entry.bucket), -entry.amount_fen, entry.document_type,
                     entry.document_no, actor, reason=reason, reverses=entry.id,
                     effective_on=max(hospital_today(), entry.effective_on))
    record_audit(session, actor=actor, action="budget.entry_reversed", subject_type="journal_entry",
                 subject_id=str(entry.id), details={"reversal_id": reversal.id, "reason": reason,
                                                    "amount": entry.amount, "bucket": entry.bucket})
    return reversal


# ------------------------------------------------------------------------------------------ reading

def balances(session: Session, key: BudgetLineKey) -> Balances:
    """The line's bucket totals and ``available`` as budget control sees them today, summed from the
    journal (adjustments not yet in force left out: ``control.in_force_on``)."""
    line = find_line(session, key)
    if line is None:
        raise NoSuchBudgetLine(f"预算行不存在：{key} / No budget line for {key}")
    return line_balances(session, _id(line))


def document_holdings(session: Session, document_type: str, document_no: str) -> DocumentHoldings:
    """What a document holds now in each bucket — for the request's page and for reconciling."""
    entries = _document_entries(session, document_type, document_no)
    if not entries:
        return DocumentHoldings(document_type, document_no)
    line = session.get(BudgetLine, entries[0].line_id)
    held = {b: from_fen(_held(entries, b)) for b in Bucket if any(e.bucket == b for e in entries)}
    return DocumentHoldings(document_type, document_no, line.key if line else None, entries[0].line_id,
                            held, tuple(_id(e) for e in entries))


def line_journal(session: Session, key: BudgetLineKey) -> Sequence[JournalEntry]:
    """All entries of a line in posting order."""
    line = find_line(session, key)
    if line is None:
        raise NoSuchBudgetLine(f"预算行不存在：{key} / No budget line for {key}")
    return session.exec(select(JournalEntry).where(JournalEntry.line_id == line.id)
                        .order_by(JournalEntry.id)).all()  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------- internals

def _move(session: Session, target: Bucket, sources: tuple[Bucket, ...], *, document_type: str,
          document_no: str, actor: str, amount: AmountLike | None, reference: str | None,
          key: BudgetLineKey | None, override: Override | None, reason: str,
          on: date | None) -> JournalEntry:
    _require(actor=actor, document_type=document_type, document_no=document_no)
    value = None if amount is None else parse_amount(amount)
    entries = _document_entries(session, document_type, document_no)
    if entries:
        line = _lock_line_by_id(session, entries[0].line_id)
        if key is not None and key != line.key:
            raise DocumentConflict(
                f"单据 {document_type} {document_no} 属于预算行 {line.key}，不是 {key} / "
                f"Document {document_type} {document_no} belongs to line {line.key}, not {key}")
        entries = _document_entries(session, document_type, document_no)  # re-read under the lock
    elif key is not None:
        found = find_line(session, key, lock=True)
        if found is None:
            check = evaluate(None, None, key, value or Decimal("0.01"), on=on)
            raise NoSuchBudgetLine(check.message, check=check)
        line = found
    else:
        raise NoSuchDocument(f"单据 {document_type} {document_no} 没有预占，也未指定预算行 / "
                             f"Document {document_type} {document_no} holds nothing and names no line")

    existing = _already_posted(session, entries, target, line, value)
    if existing is not None:
        return existing
    held = {b: _held(entries, b) for b in sources}
    moving = sum(held.values())
    if value is None:
        if moving <= 0:
            raise NoSuchDocument(f"单据 {document_type} {document_no} 无可转移金额，请给出金额 / "
                                 f"Document {document_type} {document_no} holds nothing to move; give an amount")
        value = from_fen(moving)
    increase = to_fen(value) - moving
    used_override = None
    check = None
    if increase > 0:
        # Only new money is checked: what the document already held was checked when it was reserved,
        # and moving it on (even on a closed line, or after the effective period) takes nothing new.
        check = evaluate(line, line_balances(session, _id(line)), line.key, from_fen(increase), on=on)
        used_override = _enforce(check, override)
    for bucket in sources:
        if held[bucket] > 0:
            original = _latest_original(entries, bucket)
            _post(session, line, bucket, -held[bucket], document_type, document_no, actor,
                  reason=f"moved to {target.value}", reverses=original.id if original else None,
                  reference=reference)
    return _post(session, line, target, to_fen(value), document_type, document_no, actor, reason=reason,
                 reference=reference, override=used_override, check=check)


def _enforce(check: BudgetCheck, override: Override | None) -> Override | None:
    """Raise for a blocking outcome; return the override when one was needed and given."""
    note_outcome(check)
    if check.outcome == CheckOutcome.NO_SUCH_LINE:
        raise NoSuchBudgetLine(check.message, check=check)
    if check.outcome == CheckOutcome.LINE_CLOSED:
        raise BudgetLineClosed(check.message, check=check)
    if check.outcome == CheckOutcome.NOT_YET_EFFECTIVE:
        raise BudgetLineNotEffective(check.message, check=check)
    if check.blocking:
        if override is None:
            raise BudgetExceeded(check.message, check=check)
        return override
    return None


def _post(session: Session, line: BudgetLine, bucket: Bucket, amount_fen: int, document_type: str,
          document_no: str, actor: str, *, reason: str = "", reverses: int | None = None,
          reference: str | None = None, override: Override | None = None,
          check: BudgetCheck | None = None, effective_on: date | None = None) -> JournalEntry:
    """Add one entry; it takes effect on ``effective_on``, by default the hospital date it is posted."""
    now = utc_now()
    entry = JournalEntry(
        line_id=_id(line), bucket=bucket.value, amount_fen=amount_fen, document_type=document_type,
        document_no=document_no, reference=reference, reverses=reverses, actor=actor, reason=reason,
        created_at=now, effective_on=effective_on or hospital_date(now),
        override_by=override.user if override else None,
        override_reason=override.reason if override else None,
        override_at=now if override else None,
    )
    session.add(entry)
    session.flush()
    if override is not None:
        record_audit(session, actor=override.user, action="budget.override", subject_type="journal_entry",
                     subject_id=str(entry.id), details={
                         "key": str(line.key), "bucket": bucket, "amount": from_fen(amount_fen),
                         "document_type": document_type, "document_no": document_no,
                         "posted_by": actor, "reason": override.reason,
                         "outcome": check.outcome if check else None, "code": check.code if check else None,
                         "available_before": check.available if check else None,
                         "message": check.message if check else None})
    return entry


def _already_posted(session: Session, entries: Sequence[JournalEntry], bucket: Bucket, line: BudgetLine,
                    value: Decimal | None) -> JournalEntry | None:
    """The entry a repeated delivery should get back, or None when a new posting is due.

    The document's latest original posting in ``bucket`` answers a redelivery while it is still held or
    has moved on to a later bucket; after a plain release the document may be posted afresh.
    """
    if entries and entries[0].line_id != line.id:
        raise DocumentConflict(f"单据 {entries[0].document_type} {entries[0].document_no} 属于另一预算行 "
                               f"（{entries[0].line_id}） / Document {entries[0].document_type} "
                               f"{entries[0].document_no} belongs to another budget line "
                               f"(line {entries[0].line_id}), not {line.key}")
    original = _latest_original(entries, bucket)
    if original is None:
        return None
    later = COMMITMENT_BUCKETS[COMMITMENT_BUCKETS.index(bucket) + 1:] if bucket in COMMITMENT_BUCKETS else ()
    moved_on = any(e.bucket in later for e in entries) or _cited(session, original)
    if _held(entries, bucket) == 0 and not moved_on:
        return None
    if value is None or original.amount_fen == to_fen(value):
        return original
    raise DocumentConflict(
        f"单据 {original.document_type} {original.document_no} 已按 {_y(original.amount)} 过账（{bucket}），"
        f"本次 {_y(value)} / Document {original.document_type} {original.document_no} was already posted "
        f"to {bucket} with {format_yuan(original.amount)}, not {format_yuan(value)}")


def _cited(session: Session, entry: JournalEntry) -> bool:
    """Whether a later document consumed what ``entry``'s document held (a request carried into a contract
    or a claim): its holding moved on, so a redelivered reservation must not reserve it afresh."""
    return session.exec(select(DocumentLink.id).where(DocumentLink.cited_type == entry.document_type,
                                                      DocumentLink.cited_no == entry.document_no)).first() is not None


def _document_entries(session: Session, document_type: str, document_no: str) -> list[JournalEntry]:
    """The document's entries on its current line: the line of its latest entry. A commitment carried over
    to next year's line (``carry_commitment``) leaves its old entries behind as history."""
    entries = _all_document_entries(session, document_type, document_no)
    return [e for e in entries if e.line_id == entries[-1].line_id] if entries else []


def _all_document_entries(session: Session, document_type: str, document_no: str) -> list[JournalEntry]:
    return list(session.exec(
        select(JournalEntry)
        .where(JournalEntry.document_type == document_type, JournalEntry.document_no == document_no)
        .order_by(JournalEntry.id)  # type: ignore[arg-type]
    ).all())


def _line_entries(session: Session, line: BudgetLine, bucket: Bucket) -> list[JournalEntry]:
    return list(session.exec(
        select(JournalEntry).where(JournalEntry.line_id == line.id, JournalEntry.bucket == bucket.value)
        .order_by(JournalEntry.id)  # type: ignore[arg-type]
    ).all())


def live_budget_entries(session: Session, line: BudgetLine) -> list[JournalEntry]:
    """The line's original budget postings that have not been reversed (normally one, or none)."""
    return [e for e in _line_entries(session, line, Bucket.BUDGET)
            if e.reverses is None and not _is_reversed(session, e)]


def _is_reversed(session: Session, entry: JournalEntry) -> bool:
    return session.exec(select(JournalEntry.id).where(JournalEntry.reverses == entry.id)).first() is not None


def _held(entries: Sequence[JournalEntry], bucket: Bucket) -> int:
    return sum(e.amount_fen for e in entries if e.bucket == bucket)


def _latest_original(entries: Sequence[JournalEntry], bucket: Bucket) -> JournalEntry | None:
    originals = [e for e in entries if e.bucket == bucket and e.reverses is None]
    return originals[-1] if originals else None


def _locked_line(session: Session, key: BudgetLineKey) -> BudgetLine:
    line = find_line(session, key, lock=True)
    if line is None:
        raise NoSuchBudgetLine(f"预算行不存在：{key} / No budget line for {key}")
    return line


def _lock_line_by_id(session: Session, line_id: int) -> BudgetLine:
    line = session.exec(select(BudgetLine).where(BudgetLine.id == line_id).with_for_update()
                        .execution_options(populate_existing=True)).first()
    if line is None:  # impossible while the foreign key holds
        raise NoSuchBudgetLine(f"budget line {line_id} does not exist")
    return line


def _id(row: BudgetLine | JournalEntry) -> int:
    if row.id is None:
        raise RuntimeError(f"{type(row).__name__} has not been flushed")
    return row.id


def _y(amount: Decimal) -> str:
    return "¥" + format_yuan(amount)


def _require(**values: str) -> None:
    for name, value in values.items():
        if not value or not str(value).strip():
            raise ValueError(f"{name} is missing")
