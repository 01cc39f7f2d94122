"""The issue (二下 批复): the approved budget — every department's current 二上 draft — posted into the ledger in one
transaction as the year's budget lines, recorded as a numbered version.

The issue document is ``budget-issue`` / ``BUDGET-ISSUE-<year>-V<version>``. Issuing again with the same drafts
changes nothing and returns the version already issued; once issued, a different budget is refused — changes go
through budget adjustments (预算调整). Lines the year-end carry-over already opened (holding only adjustments) get
their original budget posted on them. Every department must be in the master data (once loaded); any refusal
leaves nothing behind.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import date

from sqlmodel import Session, col, select

from rules.budget.classification import codes_for_year
from smartfin.budgeting.drafts import current_drafts, draft_amounts
from smartfin.budgeting.projects import pool_projects
from smartfin.budgeting.rounds import (
    CompilationError,
    Stage,
    get_round,
    mark_stage,
    require_stage,
    require_verified_approval,
)
from smartfin.budgeting.tables import BudgetIssue
from smartfin.kernel.clock import utc_now
from smartfin.kernel.money import from_fen
from smartfin.ledger.bulk import BudgetPosting, post_budgets
from smartfin.ledger.departments import department_problem_during
from smartfin.ledger.keys import BudgetLineKey
from smartfin.store.audit import record_audit

ISSUE_DOCUMENT = "budget-issue"


def issue_document_no(fiscal_year: int, version: int) -> str:
    """The document number the issue's budget entries carry."""
    return f"BUDGET-ISSUE-{fiscal_year}-V{version}"


def approved_postings(session: Session, fiscal_year: int) -> list[BudgetPosting]:
    """The year's budget lines as the current 二上 drafts give them, summed per line key, in key order."""
    drafts = current_drafts(session, fiscal_year, Stage.SECOND.value)
    if not drafts:
        raise CompilationError(f"{fiscal_year} 年度没有二上预算草案 / no 二上 drafts for {fiscal_year}")
    department_of = {d.id: d.department for d in drafts}
    amounts: dict[tuple[str, str, str, str], int] = defaultdict(int)
    for draft_id, _kind, code, source, project, fen in draft_amounts(session, [d.id for d in drafts
                                                                              if d.id is not None]):
        amounts[(department_of[draft_id], code, source, project)] += fen
    codes = codes_for_year(fiscal_year)
    projects = {p.code: p.name for p in pool_projects(session, fiscal_year)}
    postings = []
    for (department, code, source, project), fen in sorted(amounts.items()):
        name = codes[code].name if code in codes else ""
        if project:
            name = f"{projects.get(project, project)} · {name}"
        postings.append(BudgetPosting(BudgetLineKey(fiscal_year, department, code, source, project),  # type: ignore[arg-type]
                                      fen, name))
    return postings


def postings_digest(postings: list[BudgetPosting]) -> str:
    """sha256 of what an issue posts (keys and amounts, in key order): the same budget, the same digest."""
    text = "\n".join(f"{p.key}|{p.amount_fen}" for p in sorted(postings, key=lambda p: str(p.key)))
    return hashlib.sha256(text.encode()).hexdigest()


def issue_budget(session: Session, fiscal_year: int, *, actor: str) -> BudgetIssue:
    """Issue the approved budget of ``fiscal_year`` into the ledger (see the module docstring).

    The round must be ``approved`` (or ``issued``, for an idempotent repeat) with the compilation process's verified
    approval on record (``approval_verified``); the round moves to ``issued``. Runs
    in a savepoint: on any error nothing is written and the caller's session stays usable.
    """
    if not actor.strip():
        raise CompilationError("actor is missing")
    round_ = get_round(session, fiscal_year, lock=True)
    require_stage(round_, Stage.APPROVED, Stage.ISSUED, doing="下达预算 issue the budget")
    require_verified_approval(session, fiscal_year, doing="下达预算 issue the budget")
    postings = approved_postings(session, fiscal_year)
    digest = postings_digest(postings)
    issued = list(session.exec(select(BudgetIssue).where(BudgetIssue.fiscal_year == fiscal_year)
                               .order_by(col(BudgetIssue.version))).all())
    if issued:
        if issued[-1].digest == digest:
            return issued[-1]
        raise CompilationError(
            f"{fiscal_year} 年度预算已下达（第 {issued[-1].version} 版），不同的预算只能通过预算调整 / the budget of "
            f"{fiscal_year} was issued (version {issued[-1].version}); a different budget only through adjustments")
    first, last = date(fiscal_year, 1, 1), date(fiscal_year, 12, 31)
    unknown = sorted(d for d in {p.key.department for p in postings}
                     if department_problem_during(session, d, first, last))
    if unknown:
        raise CompilationError(f"科室不在主数据中：{', '.join(unknown)} / departments not in the master data for "
                               f"{fiscal_year}: {', '.join(unknown)}")
    version = 1
    document_no = issue_document_no(fiscal_year, version)
    savepoint = session.begin_nested()
    try:
        result = post_budgets(session, postings, document_type=ISSUE_DOCUMENT, document_no=document_no,
                              actor=actor, reason=f"{fiscal_year} 年度预算批复 budget issued")
        issue = BudgetIssue(fiscal_year=fiscal_year, version=version, document_no=document_no, digest=digest,
                            lines=len(postings), lines_created=result.lines_created,
                            total_fen=sum(p.amount_fen for p in postings), issued_at=utc_now(), issued_by=actor)
        session.add(issue)
        session.flush()
        mark_stage(session, round_, Stage.ISSUED, actor=actor)
        record_audit(session, actor=actor, action="budget.issued", subject_type="budget_issue",
                     subject_id=issue.id or 0, details={"fiscal_year": fiscal_year, "version": version,
                                                        "document_no": document_no, "lines": len(postings),
                                                        "lines_created": result.lines_created,
                                                        "total": from_fen(issue.total_fen), "digest": digest})
        savepoint.commit()
    except BaseException:
        savepoint.rollback()
        raise
    return issue
