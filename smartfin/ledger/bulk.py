"""Posting a whole year's original budget at once (预算批复): tens of thousands of lines in one transaction, with the
same rules as ``journal.create_line`` + ``journal.set_budget`` one line at a time, but in a handful of statements.

The rules kept: a line is identified by its key (created when missing, with the defaults ``create_line`` uses);
its original budget is posted once, effective on the line's first day; posting the same document with the same
amount again changes nothing; a line already budgeted by another document (or by this one with another amount)
is refused — later changes are adjustments. A line that exists without a budget (opened by the year-end
carry-over, which posts to the adjustment bucket) gets its original budget posted on it. The journal stays
append-only (entries are inserted, never changed) and the issue is audited as one action naming its document.

The existing lines of the year are locked first (``FOR UPDATE`` on PostgreSQL; SQLite's write lock is taken by
``BEGIN IMMEDIATE``), so a request cannot reserve on a line whose budget is being posted half-way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from smartfin.kernel.clock import hospital_date, utc_now
from smartfin.kernel.money import format_yuan, from_fen
from smartfin.ledger.errors import AlreadyBudgeted
from smartfin.ledger.keys import Bucket, BudgetLineKey, ControlLevel, LineStatus
from smartfin.ledger.models import BudgetLine, JournalEntry
from smartfin.store.audit import record_audit

DEFAULT_WARNING_BP = 9000   # as create_line's default warning_pct of 90
CHUNK = 2000                # rows per INSERT executed
LineKey = tuple[int, str, str, str, str]   # fiscal year, department, economic code, funding source, project


@dataclass(frozen=True, slots=True)
class BudgetPosting:
    """One line's original budget to post: its key, its name (for a new line) and the amount in fen."""

    key: BudgetLineKey
    amount_fen: int
    name: str = ""


@dataclass(frozen=True, slots=True)
class BulkResult:
    """What a bulk posting did."""

    lines_created: int
    budgets_posted: int
    unchanged: int


def post_budgets(session: Session, postings: Sequence[BudgetPosting], *, document_type: str, document_no: str,
                 actor: str, reason: str) -> BulkResult:
    """Create the missing lines and post every line's original budget from one document, all or nothing.

    Raises ``AlreadyBudgeted`` naming the first line budgeted otherwise (nothing is written then: the caller's
    transaction rolls back), ``ValueError`` for a key given twice or a negative amount. Does not commit.
    """
    if not actor.strip() or not document_no.strip():
        raise ValueError("actor and document_no are required")
    years = {p.key.fiscal_year for p in postings}
    seen: set[BudgetLineKey] = set()
    for posting in postings:
        if posting.key in seen:
            raise ValueError(f"budget line {posting.key} is given twice")
        if posting.amount_fen < 0:
            raise ValueError(f"budget line {posting.key}: the budget must not be negative")
        seen.add(posting.key)
    existing = _lines(session, years, lock=True)
    now = utc_now()
    connection = session.connection()
    new = [p for p in postings if _tuple(p.key) not in existing]
    for chunk in range(0, len(new), CHUNK):
        connection.execute(BudgetLine.__table__.insert(), [  # type: ignore[attr-defined]
            {"fiscal_year": p.key.fiscal_year, "department": p.key.department, "economic_code": p.key.economic_code,
             "funding_source": p.key.funding_source.value, "project": p.key.project, "name": p.name.strip(),
             "control_level": ControlLevel.CONTROL.value, "tolerance_bp": 0, "tolerance_fen": 0,
             "warning_bp": DEFAULT_WARNING_BP, "status": LineStatus.OPEN.value, "created_at": now,
             "created_by": actor} for p in new[chunk:chunk + CHUNK]])
    lines = _lines(session, years, lock=False) if new else existing
    live = _live_budgets(session, [existing[_tuple(p.key)][0] for p in postings if _tuple(p.key) in existing])
    entries = []
    unchanged = 0
    for posting in postings:
        line_id, first_day = lines[_tuple(posting.key)]
        held = live.get(line_id)
        if held is not None:
            if held.document_type == document_type and held.document_no == document_no \
                    and held.amount_fen == posting.amount_fen:
                unchanged += 1
                continue
            raise AlreadyBudgeted(
                f"预算行 {posting.key} 已有预算 ¥{format_yuan(from_fen(held.amount_fen))}（{held.document_no}），"
                f"请走预算调整 / Line {posting.key} is already budgeted ({format_yuan(from_fen(held.amount_fen))} "
                f"from {held.document_no}) — use an adjustment")
        entries.append({"line_id": line_id, "bucket": Bucket.BUDGET.value, "amount_fen": posting.amount_fen,
                        "document_type": document_type, "document_no": document_no, "reference": None,
                        "reverses": None, "actor": actor, "reason": reason, "created_at": now,
                        "override_by": None, "override_reason": None, "override_at": None,
                        "effective_on": first_day})
    for chunk in range(0, len(entries), CHUNK):
        connection.execute(JournalEntry.__table__.insert(), entries[chunk:chunk + CHUNK])  # type: ignore[attr-defined]
    result = BulkResult(lines_created=len(new), budgets_posted=len(entries), unchanged=unchanged)
    if entries or new:
        record_audit(session, actor=actor, action="budget.bulk_budget_posted", subject_type="budget_document",
                     subject_id=f"{document_type}/{document_no}", details={
                         "lines": len(postings), "lines_created": result.lines_created,
                         "budgets_posted": result.budgets_posted, "unchanged": unchanged,
                         "total": from_fen(sum(e["amount_fen"] for e in entries)),  # type: ignore[misc]
                         "posted_on": hospital_date(now), "reason": reason})
    session.flush()
    return result


def _tuple(key: BudgetLineKey) -> LineKey:
    return (key.fiscal_year, key.department, key.economic_code, key.funding_source.value, key.project)


def _lines(session: Session, years: set[int], *, lock: bool) -> dict[LineKey, tuple[int, date]]:
    """The years' lines as ``{key: (id, the day their original budget takes effect)}``, without loading objects."""
    query = select(BudgetLine.id, BudgetLine.fiscal_year, BudgetLine.department, BudgetLine.economic_code,
                   BudgetLine.funding_source, BudgetLine.project, BudgetLine.effective_from) \
        .where(col(BudgetLine.fiscal_year).in_(sorted(years)))
    if lock:
        query = query.with_for_update()
    return {(year, dept, code, source, project): (int(line_id), start or date(year, 1, 1))
            for line_id, year, dept, code, source, project, start in session.execute(query).all()}


def _live_budgets(session: Session, line_ids: list[int]) -> dict[int, JournalEntry]:
    """Each line's original budget posting that has not been reversed (there is at most one)."""
    ids = line_ids
    found: dict[int, JournalEntry] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        entries = session.exec(select(JournalEntry).where(col(JournalEntry.line_id).in_(chunk),
                                                          JournalEntry.bucket == Bucket.BUDGET.value)
                               .order_by(col(JournalEntry.id))).all()
        reversed_ids = {e.reverses for e in entries if e.reverses is not None}
        for entry in entries:
            if entry.reverses is None and entry.id not in reversed_ids:
                found[entry.line_id] = entry
    return found

