"""``smartfin document show NUMBER``: one document with its stored approval chain, every recorded decision
and its journal entries — what a finance officer (or an auditor) reads to see who did what with the money.

Requests, claims and equipment proposals are found by their number; the chain and the decisions are the
rows written at routing time and by the control step from the engine's history, the journal is the ledger's.
The department is shown with its name as it was on the day the document was submitted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

import typer
from sqlmodel import Session

from smartfin.kernel.clock import hospital_day
from smartfin.kernel.money import format_yuan, from_fen
from smartfin.ledger import department_name
from smartfin.ledger.report import document_entries
from smartfin.processes.approvals import all_steps, recorded_decisions
from smartfin.processes.procurement.proposals import EquipmentProposalRecord
from smartfin.processes.reimbursement.claims import Claim
from smartfin.processes.spending.requests import DOCUMENT_TYPE as REQUEST_TYPE
from smartfin.processes.spending.requests import SpendingRequest
from smartfin.store.db import session_scope

document_app = typer.Typer(no_args_is_help=True, help="Documents: requests, claims, proposals (单据).")


def register(app: typer.Typer) -> None:
    """Add the ``document`` command group to the ``smartfin`` CLI."""
    app.add_typer(document_app, name="document")


@dataclass(frozen=True)
class DocumentHead:
    kind: str
    number: str
    requester: str
    amount_fen: int
    status: str
    budget_line: str
    department: str
    submitted_on: date  # the hospital's business day of submission


def find_document(session: Session, number: str) -> DocumentHead | None:
    """The document with this number, whichever process it belongs to."""
    request = session.get(SpendingRequest, number)
    if request is not None:
        return DocumentHead(REQUEST_TYPE, number, request.requester, request.amount_fen, request.status,
                            str(request.budget_key), request.department, hospital_day(request.submitted_at))
    claim = session.get(Claim, number)
    if claim is not None:
        return DocumentHead("reimbursement-claim", number, claim.claimant,
                            claim.payable_fen or claim.claimed_total_fen or 0, claim.status, str(claim.budget_key),
                            claim.department, hospital_day(claim.submitted_at))
    proposal = session.get(EquipmentProposalRecord, number)
    if proposal is not None:
        return DocumentHead("equipment-proposal", number, proposal.proposer, proposal.total_investment_fen,
                            proposal.status, str(proposal.budget_key), proposal.department,
                            hospital_day(proposal.submitted_at))
    return None


def document_report(session: Session, number: str) -> dict[str, Any] | None:
    """The document as one JSON-ready dict; None when no document has this number."""
    head = find_document(session, number)
    if head is None:
        return None
    chain = all_steps(session, head.kind, number)
    decisions = recorded_decisions(session, head.kind, number)
    journal = document_entries(session, number)
    return {
        "number": number, "type": head.kind, "requester": head.requester,
        "amount": format_yuan(from_fen(head.amount_fen)), "status": head.status, "budget_line": head.budget_line,
        "department": head.department,
        "department_name": department_name(session, head.department, head.submitted_on),
        "chain": [{"round": s.round, "step": s.step, "group": s.candidate_group,
                   "amount": format_yuan(s.amount), "within_plan": s.within_plan,
                   "routed_at": s.routed_at.isoformat(),
                   "routing": f"{s.routing_decision_id} v{s.routing_decision_version}"} for s in chain],
        "decisions": [{"round": d.round, "step": d.step, "task": d.task_key, "task_id": d.task_id,
                       "group": d.candidate_group, "user": d.user_id, "outcome": d.outcome, "comment": d.comment,
                       "time": d.decided_at.isoformat() if d.decided_at else None} for d in decisions],
        "journal": [{"id": e.id, "bucket": e.bucket, "amount_fen": e.amount_fen,
                     "amount": format_yuan(from_fen(e.amount_fen)), "actor": e.actor, "reason": e.reason,
                     "reverses": e.reverses, "override_by": e.override_by, "effective_on": e.effective_on.isoformat(),
                     "created_at": e.created_at.isoformat() if e.created_at else None} for e in journal],
    }


@document_app.command("show")
def show(
    number: Annotated[str, typer.Argument(help="request, claim or proposal number, e.g. REQ-2026-000001")],
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document instead of text")] = False,
) -> None:
    """A document with its stored approval chain, every decision (who, step, time, outcome) and its journal."""
    with session_scope() as session:
        report = document_report(session, number)
    if report is None:
        typer.echo(f"没有单据 {number} / no document {number}", err=True)
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    typer.echo(f"{report['number']}  {report['type']}  {report['status']}")
    typer.echo(f"申请人 requester: {report['requester']}   金额 amount: ¥{report['amount']}   "
               f"预算行 line: {report['budget_line']}")
    typer.echo(f"科室 department: {report['department']} {report['department_name']}")
    typer.echo("审批链 chain:")
    for step in report["chain"]:
        plan = "" if step["within_plan"] else "  超计划 over plan"
        typer.echo(f"  round {step['round']} step {step['step']}: {step['group']}  ¥{step['amount']}{plan}  "
                   f"({step['routing']}, {step['routed_at']})")
    typer.echo("签批 decisions:")
    for d in report["decisions"]:
        where = f"step {d['step']}" if d["step"] else d["task"]
        typer.echo(f"  round {d['round']} {where}: {d['user']} ({d['group']}) {d['outcome']}  {d['time']}"
                   + (f"  “{d['comment']}”" if d["comment"] else ""))
    typer.echo("预算分录 journal:")
    for e in report["journal"]:
        typer.echo(f"  #{e['id']} {e['bucket']:16} {e['amount']:>14}  {e['actor']}  {e['reason']}")
