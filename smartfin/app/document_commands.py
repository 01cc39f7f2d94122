"""``smartfin document show NUMBER`` and ``smartfin document chain NUMBER`` (request → contract → claim →
voucher → bank payment, from the ledger's document links); ``document requests`` and ``document claims``, the
lists, on screen, as JSON or as an Excel workbook.

``document show``: one document with its stored approval chain, every recorded decision
and its journal entries — what a finance officer (or an auditor) reads to see who did what with the money.

Requests, claims and equipment proposals are found by their number; the chain and the decisions are the
rows written at routing time and by the control step from the engine's history, the journal is the ledger's.
The department is shown with its name as it was on the day the document was submitted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlmodel import Session

from smartfin.app.exports import CLAIM_HEADER, REQUEST_HEADER, claim_rows, document_list_xlsx, request_rows
from smartfin.app.progress import working
from smartfin.kernel.clock import hospital_day, hospital_today, stored_instant
from smartfin.kernel.exits import ExitCode
from smartfin.kernel.jsontext import to_json
from smartfin.kernel.money import format_yuan, from_fen
from smartfin.kernel.spreadsheet import Row, SpreadsheetFormat, check_export_target, write_export
from smartfin.ledger import Bucket, department_name, department_names, document_holdings, links_of
from smartfin.ledger.report import document_entries
from smartfin.posting.journal import VoucherPosting
from smartfin.processes.approvals import all_steps, recorded_decisions
from smartfin.processes.contracts.contracts import Contract, contract_payments
from smartfin.processes.procurement.proposals import EquipmentProposalRecord
from smartfin.processes.reimbursement.claims import Claim, claim_statuses, list_claims
from smartfin.processes.spending.requests import DOCUMENT_TYPE as REQUEST_TYPE
from smartfin.processes.spending.requests import SpendingRequest, list_requests, request_statuses
from smartfin.reconciliation.store import bank_matches_of_entry
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


def _report(build: Callable[[Session, str], dict[str, Any] | None], number: str,
            as_json: bool) -> dict[str, Any] | None:
    """A document's report for a command: refused (exit 3) when there is no such document, printed as JSON
    (and None returned) with ``--json``, else returned for the command to print as text."""
    with session_scope() as session:
        report = build(session, number)
    if report is None:
        typer.echo(f"没有单据 {number} / no document {number}", err=True)
        raise typer.Exit(ExitCode.REFUSED)
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return None
    return report


@document_app.command("show")
def show(
    number: Annotated[str, typer.Argument(help="request, claim or proposal number, e.g. REQ-2026-000001")],
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document instead of text")] = False,
) -> None:
    """A document with its stored approval chain, every decision (who, step, time, outcome) and its journal."""
    report = _report(document_report, number, as_json)
    if report is None:
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


# ------------------------------------------------------------------------------------------- chain

CHAIN_BUCKETS = (Bucket.PRE_ENCUMBRANCE, Bucket.ENCUMBRANCE, Bucket.ACTUAL)


def _linked_numbers(session: Session, number: str) -> list[tuple[str, str]]:
    """Every (document type, number) linked to ``number`` by citations, earliest first."""
    seen: dict[str, str] = {}
    frontier = [number]
    links = []
    while frontier:
        found = [x for x in links_of(session, frontier) if x not in links]
        links += found
        frontier = []
        for x in found:
            for kind, no in ((x.cited_type, x.cited_no), (x.citing_type, x.citing_no)):
                if no not in seen:
                    seen[no] = kind
                    frontier.append(no)
    if not seen:
        return []
    order = sorted(links, key=lambda x: x.id or 0)
    numbers: list[tuple[str, str]] = []
    for x in order:
        for kind, no in ((x.cited_type, x.cited_no), (x.citing_type, x.citing_no)):
            if (kind, no) not in numbers:
                numbers.append((kind, no))
    return numbers


def _payment_of(session: Session, claim: Claim) -> dict[str, Any]:
    """The claim's voucher, its posting journal entry and the bank reconciliation match, where they exist.

    The bank payment is the match whose ledger side is the bank journal entry of the claim's posted voucher
    (keyed by the voucher number), followed by that recorded id and never guessed from an amount."""
    posting = session.get(VoucherPosting, f"reimbursement-claim:{claim.claim_no}")
    matches = bank_matches_of_entry(session, claim.voucher_no or "")
    bank = None if not matches else {
        "match_id": matches[0].id, "run_id": matches[0].run_id, "status": matches[0].status,
        "rule": matches[0].rule, "statement_lines": list(matches[0].left_ids),
        "amount": format_yuan(from_fen(matches[0].amount_fen))}
    return {"voucher_no": claim.voucher_no,
            "posting": None if posting is None else {"state": posting.state, "voucher_no": posting.voucher_no,
                                                     "amount": posting.amount},
            "bank_payment": bank}


def chain_report(session: Session, number: str) -> dict[str, Any] | None:
    """request → contract → claim → voucher → bank payment as far as they exist, with the amounts each
    document holds per bucket and each link's consumed amount; None when the number is unknown."""
    documents = _linked_numbers(session, number)
    if not documents:
        head = find_document(session, number)
        kind = head.kind if head is not None else ("contract" if session.get(Contract, number) else None)
        if kind is None:
            return None
        documents = [(kind, number)]
    out = []
    for kind, no in documents:
        held = document_holdings(session, kind, no)
        item: dict[str, Any] = {"type": kind, "number": no, "line": str(held.key) if held.key else None,
                                **{b.value: format_yuan(held[b]) for b in CHAIN_BUCKETS}}
        claim = session.get(Claim, no) if kind == "reimbursement-claim" else None
        if claim is not None:
            item.update({"status": claim.status, **_payment_of(session, claim)})
        contract = session.get(Contract, no) if kind == "contract" else None
        if contract is not None:
            item.update({"status": contract.status, "supplier": contract.supplier,
                         "amount": format_yuan(contract.amount), "overrun_approved_by": contract.overrun_approved_by,
                         "signed_on": contract.signed_on.isoformat(),
                         "payments": [{"due_on": p.due_on.isoformat(), "amount": format_yuan(p.amount)}
                                      for p in contract_payments(session, no)]})
        out.append(item)
    links = links_of(session, [no for _, no in documents])
    return {"number": number, "documents": out,
            "links": [{"cited": x.cited_no, "citing": x.citing_no, "consumed": format_yuan(x.consumed),
                       "posted": format_yuan(x.posted), "excess": format_yuan(x.excess),
                       "within_tolerance": x.within_tolerance, "by": x.actor, "at": x.created_at.isoformat()}
                      for x in links]}


@document_app.command("chain")
def chain(
    number: Annotated[str, typer.Argument(help="request, contract or claim number")],
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document instead of text")] = False,
) -> None:
    """request → contract → claim → voucher → bank payment, with what each holds per bucket."""
    report = _report(chain_report, number, as_json)
    if report is None:
        return
    typer.echo(f"{'单据 document':34} {'预占 pre-enc.':>14} {'占用 enc.':>14} {'执行 actual':>14}")
    for item in report["documents"]:
        typer.echo(f"{item['type'] + ' ' + item['number']:34} {item['pre_encumbrance']:>14} "
                   f"{item['encumbrance']:>14} {item['actual']:>14}")
        if item.get("voucher_no"):
            posting = item.get("posting") or {}
            typer.echo(f"  → 凭证 voucher {item['voucher_no']} ({posting.get('state', '—')})")
            bank = item.get("bank_payment")
            paid = f"match {bank['match_id']}" if bank else "未对账 not matched"
            typer.echo(f"  → 银行付款 bank payment: {paid}")
    for link in report["links"]:
        typer.echo(f"{link['cited']} → {link['citing']}: consumed {link['consumed']}, posted {link['posted']}"
                   + (f", over-run {link['excess']}" if link["excess"] != "0.00" else "")
                   + f" ({link['by']}, {link['at']})")


# ------------------------------------------------------------------------------ lists of requests and claims

def _list_options_scope(year: int | None, department: str | None, status: str | None) -> str:
    return (f"年度 year {year or '全部 all'}；科室 department {department or '全部 all'}；"
            f"状态 status {status or '全部 all'}")


def _print_list(kind: str, header: tuple[str, ...], rows: list[Row], *, xlsx: Path | None, force: bool,
                scope: str, as_json: bool, records: list[dict[str, Any]]) -> None:
    """What both lists do with their rows: a workbook when asked, then JSON or a table on screen."""
    if xlsx is not None:
        with working(f"写入 Writing {xlsx.name}", quiet=as_json):
            write_export(xlsx, document_list_xlsx(kind, header, rows, scope=scope, as_of=hospital_today()),
                         SpreadsheetFormat.XLSX, replace=force)
        typer.echo(f"{len(records)} {kind} written to {xlsx}", err=as_json)
    if as_json:
        typer.echo(to_json({kind: records, "scope": scope}))
        return
    if not records:
        typer.echo(f"no {kind} ({scope})")
    for record in records:
        typer.echo("  ".join(str(record[field]) for field in LIST_FIELDS[kind] if record[field] is not None))


LIST_FIELDS = {"requests": ("request_no", "status", "department", "budget_line", "amount", "payee"),
               "claims": ("claim_no", "status", "department", "budget_line", "claimed", "payable", "voucher_no")}


@document_app.command("requests")
def requests_list(
    year: Annotated[int | None, typer.Option(help="fiscal year")] = None,
    department: Annotated[str | None, typer.Option(help="department code, e.g. CARD")] = None,
    status: Annotated[str | None, typer.Option(help="submitted, sent-back (waiting for the requester's revision), "
                                                    "approved, rejected, withdrawn, …")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document instead of text")] = False,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="also write the list as an Excel workbook")] = None,
    force: Annotated[bool, typer.Option("--force", help="replace the --xlsx file if it exists")] = False,
) -> None:
    """The spending requests (支出申请) with requester, department (today's name), line, amount, payee and status."""
    if xlsx is not None:
        check_export_target(xlsx, SpreadsheetFormat.XLSX, replace=force)
    with session_scope() as session:
        found = list_requests(session, year=year, department=department, status=status)
        names = department_names(session, hospital_today())
        shown = request_statuses(session, found)
        rows = request_rows(found, lambda code: names[code], shown)
        records = [{"request_no": r.request_no, "requester": r.requester, "department": r.department,
                    "department_name": names[r.department], "category": r.category, "budget_line": str(r.budget_key),
                    "amount": r.amount, "payee": r.payee, "purpose": r.purpose, "status": shown[r.request_no],
                    "submitted_at": stored_instant(r.submitted_at),
                    "closed_at": stored_instant(r.closed_at) if r.closed_at else None} for r in found]
    _print_list("requests", REQUEST_HEADER, rows, xlsx=xlsx, force=force, as_json=as_json, records=records,
                scope=_list_options_scope(year, department, status))


@document_app.command("claims")
def claims_list(
    year: Annotated[int | None, typer.Option(help="fiscal year")] = None,
    department: Annotated[str | None, typer.Option(help="department code, e.g. CARD")] = None,
    status: Annotated[str | None, typer.Option(help="submitted, sent-back (waiting for the claimant's revision), "
                                                    "approved, paid, rejected, invalid, withdrawn")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document instead of text")] = False,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="also write the list as an Excel workbook")] = None,
    force: Annotated[bool, typer.Option("--force", help="replace the --xlsx file if it exists")] = False,
) -> None:
    """The reimbursement claims (报销单) with claimant, department (today's name), line, claimed and payable amounts,
    status and voucher."""
    if xlsx is not None:
        check_export_target(xlsx, SpreadsheetFormat.XLSX, replace=force)
    with session_scope() as session:
        found = list_claims(session, year=year, department=department, status=status)
        names = department_names(session, hospital_today())
        shown = claim_statuses(session, found)
        rows = claim_rows(found, lambda code: names[code], shown)
        records = [{"claim_no": c.claim_no, "claimant": c.claimant, "department": c.department,
                    "department_name": names[c.department], "category": c.category, "budget_line": str(c.budget_key),
                    "claimed": None if c.claimed_total_fen is None else from_fen(c.claimed_total_fen),
                    "payable": c.payable, "payment_method": c.payment_method, "status": shown[c.claim_no],
                    "voucher_no": c.voucher_no, "submitted_at": stored_instant(c.submitted_at),
                    "closed_at": stored_instant(c.closed_at) if c.closed_at else None} for c in found]
    _print_list("claims", CLAIM_HEADER, rows, xlsx=xlsx, force=force, as_json=as_json, records=records,
                scope=_list_options_scope(year, department, status))
