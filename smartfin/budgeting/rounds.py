"""The compilation round of a fiscal year (两上两下): opened by finance with guidance, the deadlines of 一上 and 二上
and the template version; its stage moves one way through the procedure.

    first          一上: departments submit their proposals (drafts of round ``first``)
    consolidation  一下: finance consolidates, the budget committee sets control numbers
    second         二上: departments revise within their control numbers (drafts of round ``second``)
    approval       budget committee → president's office meeting → Party committee
    approved       the budget may be issued
    issued         二下: issued into the ledger (a later version only through adjustments)

The process ``budget-compilation`` moves the stage with ``advance_round``; the one step back, ``approval`` → ``second``,
is a deciding body's verified send-back for revision (退回修改, ``return_to_drafts``): the budget office may then
reopen departments' drafts and submit the budget for approval again as a new round. ``approved`` is reached only
after the process's control step recorded the approvals as verified (``approval_verified``), so neither the
command line nor any other caller can approve a budget the three bodies did not sign. What may happen in each stage
(an upload, setting control numbers, the issue) is checked by the function that does it, not by the caller.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import func
from sqlmodel import Session, col, select

from smartfin.budgeting.tables import BudgetDraft, CompilationRound, ControlNumber, DraftLine
from smartfin.kernel.clock import utc_now
from smartfin.kernel.money import from_fen
from smartfin.store.audit import AuditEntry, record_audit


class Stage(StrEnum):
    """Where the compilation of a year stands; see the module docstring."""

    FIRST = "first"
    CONSOLIDATION = "consolidation"
    SECOND = "second"
    APPROVAL = "approval"
    APPROVED = "approved"
    ISSUED = "issued"

    @property
    def label(self) -> str:
        """The stage as finance names it."""
        return {Stage.FIRST: "一上 proposals", Stage.CONSOLIDATION: "一下 consolidation and control numbers",
                Stage.SECOND: "二上 drafts within control numbers", Stage.APPROVAL: "审批 approval",
                Stage.APPROVED: "已批准 approved", Stage.ISSUED: "二下 issued"}[self]


STAGES = tuple(Stage)


class CompilationError(ValueError):
    """A compilation step refused: the message says what and why (Chinese first, then English)."""


#: the compilation as an approved document: the process's business key and the subject of its control step's audit
APPROVAL_DOCUMENT_TYPE = "budget-compilation"


def approval_document_no(fiscal_year: int) -> str:
    """The compilation's document number (the process's business key), under which its approvals are verified."""
    return f"BUDGET-{fiscal_year}"


def approval_verified(session: Session, fiscal_year: int) -> bool:
    """Whether the compilation process's control step last found the year's approvals complete.

    The control step (``verify-compilation-approvals``) checks every signature against the engine's history and
    records ``approvals-verified`` or ``approvals-incomplete`` in the append-only audit log; only its latest
    verdict counts, so a later broken round of approvals is not carried by an earlier verified one.
    """
    latest = session.exec(
        select(AuditEntry).where(AuditEntry.subject_type == APPROVAL_DOCUMENT_TYPE,
                                 AuditEntry.subject_id == approval_document_no(fiscal_year),
                                 col(AuditEntry.action).in_(("approvals-verified", "approvals-incomplete")))
        .order_by(col(AuditEntry.id).desc())).first()
    return latest is not None and latest.action == "approvals-verified"


def require_verified_approval(session: Session, fiscal_year: int, *, doing: str) -> None:
    """Refuse ``doing`` unless the compilation process verified the year's approvals (see ``approval_verified``)."""
    if not approval_verified(session, fiscal_year):
        raise CompilationError(
            f"{fiscal_year} 年度预算未经编制流程审批核验，不能{doing} / the budget of {fiscal_year} has no approval "
            f"verified by the budget-compilation process (budget committee → president's office → Party "
            f"committee); {doing} is refused")


def open_round(session: Session, fiscal_year: int, *, guidance: str, first_deadline: date,
               second_deadline: date, template_version: str, actor: str) -> CompilationRound:
    """Open the compilation of ``fiscal_year``: one round per year, in stage ``first``.

    The template version is stamped into every workbook generated for the round, so a workbook of another
    version is refused at upload.
    """
    if not actor.strip():
        raise CompilationError("actor is missing")
    if not 2000 <= fiscal_year <= 2100:
        raise CompilationError(f"fiscal year {fiscal_year} is outside 2000–2100")
    if not guidance.strip():
        raise CompilationError("编制说明不能为空 / the guidance text is missing")
    version = template_version.strip()
    if not version or len(version) > 32:
        raise CompilationError("模板版本须为 1–32 个字符 / the template version must be 1–32 characters")
    if second_deadline < first_deadline:
        raise CompilationError(f"二上截止日 {second_deadline} 早于一上截止日 {first_deadline} / the 二上 deadline "
                               f"{second_deadline} is before the 一上 deadline {first_deadline}")
    if find_round(session, fiscal_year) is not None:
        raise CompilationError(f"{fiscal_year} 年度预算编制已开启 / the compilation of {fiscal_year} is already open")
    now = utc_now()
    row = CompilationRound(fiscal_year=fiscal_year, guidance=guidance.strip(), first_deadline=first_deadline,
                           second_deadline=second_deadline, template_version=version, stage=Stage.FIRST.value,
                           opened_at=now, opened_by=actor, stage_changed_at=now, stage_changed_by=actor)
    session.add(row)
    session.flush()
    record_audit(session, actor=actor, action="budget.compilation_opened", subject_type="budget_compilation_round",
                 subject_id=fiscal_year, details={"template_version": version, "first_deadline": first_deadline,
                                                  "second_deadline": second_deadline})
    return row


def find_round(session: Session, fiscal_year: int, *, lock: bool = False) -> CompilationRound | None:
    """The compilation round of ``fiscal_year``, or None before finance opens it."""
    query = select(CompilationRound).where(CompilationRound.fiscal_year == fiscal_year)
    if lock:
        query = query.with_for_update()
    return session.exec(query).first()


def get_round(session: Session, fiscal_year: int, *, lock: bool = False) -> CompilationRound:
    """The compilation round of ``fiscal_year``; ``CompilationError`` when it has not been opened."""
    row = find_round(session, fiscal_year, lock=lock)
    if row is None:
        raise CompilationError(f"{fiscal_year} 年度预算编制尚未开启 / the compilation of {fiscal_year} has not "
                               f"been opened")
    return row


def require_stage(row: CompilationRound, *allowed: Stage, doing: str) -> None:
    """Refuse ``doing`` unless the round is in one of the ``allowed`` stages."""
    if Stage(row.stage) not in allowed:
        raise CompilationError(
            f"{row.fiscal_year} 年度预算编制处于「{Stage(row.stage).label}」阶段，不能{doing} / the compilation of "
            f"{row.fiscal_year} is at stage {row.stage}; {doing} needs {' or '.join(s.value for s in allowed)}")


def advance_round(session: Session, fiscal_year: int, to: Stage | str, *, actor: str) -> CompilationRound:
    """Move the round to the next stage (only forward, one step at a time; the same stage again changes nothing).

    Entering ``second`` needs control numbers for every department that submitted a proposal; entering
    ``approval`` needs a 二上 draft from each of them, every one within its control numbers as they stand now (a
    control number cut after a draft was accepted sends the department back); entering ``issued`` is done by the
    issue itself (``smartfin.budgeting.issue``); entering ``approved`` needs the process's verified approval.
    """
    target = Stage(to)
    row = get_round(session, fiscal_year, lock=True)
    current = Stage(row.stage)
    if target == current:
        return row
    if STAGES.index(target) != STAGES.index(current) + 1:
        raise CompilationError(f"{fiscal_year} 年度预算编制不能从 {current.value} 直接进入 {target.value} / the "
                               f"compilation of {fiscal_year} cannot move from {current.value} to {target.value}")
    if target == Stage.ISSUED:
        raise CompilationError("预算下达须通过 issue_budget / the budget is issued with issue_budget")
    if target == Stage.APPROVED:
        require_verified_approval(session, fiscal_year, doing="批准 approve it")
    if target == Stage.SECOND:
        missing = departments_without_control_numbers(session, fiscal_year)
        if missing:
            raise CompilationError(f"以下科室尚无控制数：{', '.join(missing)} / no control numbers yet for "
                                   f"{', '.join(missing)}")
    if target == Stage.APPROVAL:
        problems = drafts_not_ready_for_approval(session, fiscal_year)
        if problems:
            raise CompilationError("二上预算草案尚不能报批 / the 二上 drafts cannot go to approval: "
                                   + "; ".join(problems))
    mark_stage(session, row, target, actor=actor)
    return row


def return_to_drafts(session: Session, fiscal_year: int, *, actor: str, reason: str) -> CompilationRound:
    """A budget under approval goes back to 二上 (``approval`` → ``second``): a deciding body sent it back for
    revision, or the budget office withdrew it from approval. Drafts and control numbers may change again;
    submitting it again needs ``advance_round`` to ``approval`` with its checks. A round already back at 二上
    stays (the step is delivered at least once); any other stage is refused, so an approved or issued budget
    never goes back this way (only through adjustments)."""
    row = get_round(session, fiscal_year, lock=True)
    if Stage(row.stage) == Stage.SECOND:
        return row
    require_stage(row, Stage.APPROVAL, doing="退回二上 return the budget to the drafts")
    if not reason.strip():
        raise CompilationError("退回须说明理由 / a return to the drafts needs a reason")
    mark_stage(session, row, Stage.SECOND, actor=actor)
    record_audit(session, actor=actor, action="budget.returned_to_drafts", subject_type="budget_compilation_round",
                 subject_id=fiscal_year, details={"reason": reason.strip()[:1000]})
    return row


def set_template_version(session: Session, fiscal_year: int, template_version: str, *, actor: str) -> CompilationRound:
    """Replace the round's template version (a corrected template sent out while drafts are collected): workbooks
    of the earlier version are refused from then on, so every department works on the corrected one."""
    version = template_version.strip()
    if not version or len(version) > 32:
        raise CompilationError("模板版本须为 1–32 个字符 / the template version must be 1–32 characters")
    row = get_round(session, fiscal_year, lock=True)
    require_stage(row, Stage.FIRST, Stage.SECOND, doing="更换模板版本 change the template version")
    previous = row.template_version
    if previous == version:
        return row
    row.template_version = version
    session.add(row)
    session.flush()
    record_audit(session, actor=actor, action="budget.template_version", subject_type="budget_compilation_round",
                 subject_id=fiscal_year, details={"from": previous, "to": version})
    return row


def mark_stage(session: Session, row: CompilationRound, stage: Stage, *, actor: str) -> None:
    """Record the round's new stage, who moved it and when, in the audit log too."""
    previous = row.stage
    row.stage = stage.value
    row.stage_changed_at = utc_now()
    row.stage_changed_by = actor
    session.add(row)
    session.flush()
    record_audit(session, actor=actor, action="budget.compilation_stage", subject_type="budget_compilation_round",
                 subject_id=row.fiscal_year, details={"from": previous, "to": stage.value})


def departments_without_control_numbers(session: Session, fiscal_year: int) -> list[str]:
    """Departments that submitted a proposal (一上) but have no control number yet, by code."""
    submitted = set(session.exec(select(BudgetDraft.department).where(
        BudgetDraft.fiscal_year == fiscal_year, BudgetDraft.round == Stage.FIRST.value,
        BudgetDraft.status == "current")).all())
    controlled = set(session.exec(select(ControlNumber.department).where(
        ControlNumber.fiscal_year == fiscal_year)).all())
    return sorted(submitted - controlled)


def drafts_not_ready_for_approval(session: Session, fiscal_year: int) -> list[str]:
    """Why the year's 二上 drafts cannot go to approval: departments that proposed (一上) without a 二上 draft, and
    current 二上 drafts over a control number in force now; empty when they can."""
    first = set(session.exec(select(BudgetDraft.department).where(
        BudgetDraft.fiscal_year == fiscal_year, BudgetDraft.round == Stage.FIRST.value,
        BudgetDraft.status == "current")).all())
    second = {d.id: d.department for d in session.exec(select(BudgetDraft).where(
        BudgetDraft.fiscal_year == fiscal_year, BudgetDraft.round == Stage.SECOND.value,
        BudgetDraft.status == "current")).all()}
    problems = []
    missing = sorted(first - set(second.values()))
    if missing:
        problems.append(f"no 二上 draft from {', '.join(missing)}")
    if not second:
        problems.append("no 二上 drafts at all")
        return problems
    controls: dict[tuple[str, str], int] = {}
    for control in session.exec(select(ControlNumber).where(ControlNumber.fiscal_year == fiscal_year)
                                .order_by(col(ControlNumber.id))).all():
        controls[(control.department, control.funding_source)] = control.amount_fen
    totals = session.execute(select(DraftLine.draft_id, DraftLine.funding_source, func.sum(DraftLine.amount_fen))
                             .where(col(DraftLine.draft_id).in_(list(second)))
                             .group_by(DraftLine.draft_id, DraftLine.funding_source)).all()
    for draft_id, source, total in sorted(totals, key=lambda t: (second[t[0]], t[1])):
        allowed = controls.get((second[draft_id], source), 0)
        if int(total) > allowed:
            problems.append(f"{second[draft_id]} {source} {from_fen(int(total))} exceeds its control number "
                            f"{from_fen(allowed)}")
    return problems
