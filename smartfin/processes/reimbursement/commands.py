"""``smartfin claim …``: submit a reimbursement claim with its invoice files, attach files, show a claim.

Tasklist's forms cannot upload files, so a claim started there waits at "attach invoice files" until
``smartfin claim attach`` brings them; ``smartfin claim submit`` does both in one step. A claim sent back for
revision takes its added files the same way; they are read when the claimant resubmits it in Tasklist.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from smartfin.camunda.client import EngineClient, EngineError
from smartfin.kernel.exits import ExitCode
from smartfin.processes.documents import Refused
from smartfin.processes.reimbursement.claims import (
    Claim,
    ClaimRefused,
    add_files,
    claim_files,
    claim_summary,
    read_submitted_files,
    submit_claim,
)
from smartfin.store.archive import ArchiveError, read_archived

claim_app = typer.Typer(no_args_is_help=True, help="Reimbursement claims (报销): submit, attach files, show.")


@contextmanager
def _one_line_errors() -> Iterator[None]:
    """Refusals and engine problems as one red line and exit code 2, as every smartfin command does."""
    try:
        yield
    except (ClaimRefused, Refused, EngineError, ArchiveError, LookupError, ValueError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(ExitCode.REFUSED) from None


def _travel(destination: str | None, province: str, departed: str | None, returned: str | None, grade: str,
            meals_provided_days: int, self_driving: bool, one_way: bool = False) -> dict[str, Any] | None:
    if not destination:
        return None
    return {"destination": destination, "province": province, "departed": departed, "returned": returned,
            "grade": grade, "meals_provided_days": meals_provided_days, "self_driving": self_driving,
            "one_way": one_way}


@claim_app.command("submit")
def submit(
    files: Annotated[list[Path], typer.Argument(help="invoice files: PDF, OFD or XML")],
    department: Annotated[str, typer.Option(help="department (cost centre) code")],
    category: Annotated[str, typer.Option(help="expense category, e.g. travel, meeting, materials")],
    purpose: Annotated[str, typer.Option(help="what the expense was for")],
    claimant: Annotated[str | None, typer.Option(
        help="proxy entry (代录) only: the engine user the claim is for; default: you")] = None,
    funding_source: Annotated[str, typer.Option(help="fiscal, own, research or earmarked")] = "fiscal",
    project: Annotated[str, typer.Option(help="project code, if the budget line has one")] = "",
    claim_no: Annotated[str | None, typer.Option(help="claim number (default: next BX-YYYY-n)")] = None,
    payment_method: Annotated[str, typer.Option(help="transfer, official-card or cash")] = "transfer",
    claimed_total: Annotated[str | None, typer.Option(help="amount claimed; checked against the invoices")] = None,
    contract_no: Annotated[str, typer.Option(help="contract number (large equipment/meeting claims)")] = "",
    request_no: Annotated[str, typer.Option(
        help="approved spending request the claim pays for: its reservation is taken over, not made again")] = "",
    procurement_record: Annotated[str, typer.Option(help="procurement record number")] = "",
    asset_receipt_no: Annotated[str, typer.Option(help="fixed-asset receipt (入库单) number")] = "",
    explanation: Annotated[str, typer.Option(help="written explanation for over-standard costs")] = "",
    destination: Annotated[str | None, typer.Option(help="travel: destination city, e.g. 大连")] = None,
    province: Annotated[str, typer.Option(help="travel: destination province")] = "",
    departed: Annotated[str | None, typer.Option(help="travel: departure date YYYY-MM-DD")] = None,
    returned: Annotated[str | None, typer.Option(help="travel: return date YYYY-MM-DD")] = None,
    grade: Annotated[str, typer.Option(help="travel: general, senior or minister")] = "general",
    meals_provided_days: Annotated[int, typer.Option(help="travel: days the host provided meals")] = 0,
    self_driving: Annotated[bool, typer.Option(help="travel: self-driving (no city transport allowance)")] = False,
    one_way: Annotated[bool, typer.Option(
        help="travel: one-way trip, no return ticket to the hospital's city expected")] = False,
) -> None:
    """Submit a claim as the logged-in user: files archived, claim recorded, process started, all or nothing."""
    from smartfin.camunda.login import logged_in_client

    with _one_line_errors():
        references = {"contract_no": contract_no, "procurement_record": procurement_record,
                      "asset_receipt_no": asset_receipt_no, "request_no": request_no}
        number = submit_claim(
            list(files), claimant=claimant or "", engine=logged_in_client(), department=department,
            category=category, purpose=purpose,
            funding_source=funding_source, project=project, claim_no=claim_no, payment_method=payment_method,
            claimed_total=claimed_total, references={k: v for k, v in references.items() if v},
            explanation=explanation,
            travel=_travel(destination, province, departed, returned, grade, meals_provided_days, self_driving,
                           one_way))
        typer.echo(f"submitted {number} with {len(files)} file(s)")


def attach_files_to_claim(claim_no: str, files: list[Path], *, engine: EngineClient | None = None) -> int:
    """Archive and attach files to a claim, then let a claim waiting for files continue."""
    from smartfin.store.db import session_scope

    loaded = read_submitted_files(files)
    if not loaded:
        raise ClaimRefused([("files", "no files given / 未提供文件")])
    engine = engine or EngineClient.from_settings()
    with session_scope() as session:
        claim = session.get(Claim, claim_no)
        if claim is None:
            raise LookupError(f"claim {claim_no} is not registered / 报销单不存在")
        if claim.status != "submitted":
            raise ClaimRefused([("claim_no", f"{claim_no} is {claim.status}; files can no longer be added")])
        add_files(session, claim_no, loaded)
        count = len(claim_files(session, claim_no))
        pid = claim.process_instance_id
    if pid:
        for task in engine.tasks(processInstanceId=pid, taskDefinitionKey="attachInvoices"):
            engine.complete_task(task["id"], {"fileCount": count})
    return count


@claim_app.command("attach")
def attach(claim_no: Annotated[str, typer.Argument(help="the claim number")],
           files: Annotated[list[Path], typer.Argument(help="invoice files: PDF, OFD or XML")]) -> None:
    """Attach invoice files to a claim (one started in Tasklist, which cannot upload files, or one sent back
    for revision: the files are read when it is resubmitted)."""
    with _one_line_errors():
        count = attach_files_to_claim(claim_no, list(files))
        typer.echo(f"{claim_no}: {count} file(s) attached")


@claim_app.command("show")
def show(claim_no: Annotated[str, typer.Argument(help="the claim number")],
         as_json: Annotated[bool, typer.Option("--json", help="print as JSON")] = False) -> None:
    """Show a claim: status, files, what was read from each, and the findings."""
    from smartfin.store.db import session_scope

    with _one_line_errors():
        with session_scope() as session:
            summary = claim_summary(session, claim_no)
        if as_json:
            typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
            return
        typer.echo(f"{summary['claim_no']}  {summary['status']}  claimant {summary['claimant']}  "
                   f"line {summary['budget_line']}  payable {summary['payable'] or '—'}"
                   + (f"  voucher {summary['voucher_no']}" if summary["voucher_no"] else ""))
        typer.echo(f"  purpose: {summary['purpose']}")
        if summary["closing_reason"]:
            typer.echo(f"  closed: {summary['closing_reason']}")
        for f in summary["files"]:
            typer.echo(f"  #{f['position']} {f['filename']} [{f['state']}] {f['code'] or ''} {f['number'] or '—'} "
                       f"{f['issue_date'] or ''} {f['seller'] or ''} {f['total'] or ''}".rstrip())
        for finding in summary["findings"]:
            where = f"#{finding['invoice'] + 1} " if finding.get("invoice") is not None else ""
            typer.echo(f"  [{finding['severity']}] {where}{finding['code']}: {finding['message']}")


@claim_app.command("file")
def export_file(claim_no: Annotated[str, typer.Argument(help="the claim number")],
                position: Annotated[int, typer.Argument(help="file number as shown by `claim show` (1, 2, …)")],
                out: Annotated[Path, typer.Option(help="where to write the original")]) -> None:
    """Write an archived original file of a claim (verified against its sha256)."""
    from smartfin.store.db import session_scope

    with _one_line_errors():
        with session_scope() as session:
            files = {f.position + 1: f for f in claim_files(session, claim_no)}
        if position not in files:
            raise LookupError(f"claim {claim_no} has no file #{position}")
        out.write_bytes(read_archived(files[position].sha256))
        typer.echo(f"wrote {out} ({files[position].filename})")


def register(app: typer.Typer) -> None:
    """Adds the ``claim`` command group to the smartfin CLI."""
    app.add_typer(claim_app, name="claim")
