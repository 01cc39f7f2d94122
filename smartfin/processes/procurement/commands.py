"""``smartfin procurement …``: submit an equipment proposal, send purchase documents, import HIS actuals.

Each command checks its input completely before anything is written or sent, and refuses with one line
per problem naming the field (exit code 2), as the rest of the command line does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from rules.equipment import parse_his_charge_export
from smartfin.camunda.client import EngineClient, EngineError
from smartfin.kernel.exits import ExitCode
from smartfin.kernel.jsontext import to_json
from smartfin.kernel.money import from_fen
from smartfin.ledger import Bucket, document_holdings
from smartfin.processes.approvals import recorded_decisions
from smartfin.processes.documents import Refused
from smartfin.processes.procurement.proposals import (
    DOCUMENT_TYPE,
    DOCUMENTS_MESSAGE,
    PROCESS_KEY,
    DocumentsInvalid,
    EquipmentProposalRecord,
    HisImport,
    ProposalRefused,
    ProposalStatus,
    describe_problems,
    document_variables,
    get_proposal,
    import_his_actuals,
    next_proposal_no,
    record_proposal,
    reviews_of,
    validate_submission,
    votes_of,
)
from smartfin.processes.submitters import named_or_self, record_entry, resolve_submitter, start
from smartfin.store.db import session_scope

group = typer.Typer(no_args_is_help=True, help="设备购置论证 Equipment procurement evaluation.")


class ProcurementCommandError(Exception):
    """A refusal shown as one readable message, without a traceback."""


@contextmanager
def _refusals() -> Iterator[None]:
    try:
        yield
    except ProposalRefused as refused:
        typer.secho("error: the proposal was refused / 申请未通过校验:", fg=typer.colors.RED, err=True)
        typer.echo(describe_problems(refused.problems), err=True)
        raise typer.Exit(ExitCode.REFUSED) from None
    except (ProcurementCommandError, DocumentsInvalid, EngineError, LookupError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(ExitCode.REFUSED) from None


def load_document(path: Path) -> dict[str, Any]:
    """A mapping from a JSON or YAML file; anything else is refused with the file's name."""
    if not path.exists():
        raise ProcurementCommandError(f"{path}: 文件不存在 / no such file")
    text = path.read_text(encoding="utf-8-sig")
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ProcurementCommandError(f"{path}: 不是有效的 JSON/YAML / not valid JSON or YAML: {exc}") from None
    if not isinstance(data, Mapping):
        raise ProcurementCommandError(f"{path}: 须为键值映射 / must be a mapping of field names to values")
    return dict(data)


def _plain(value: Any) -> Any:
    """YAML numbers with decimals arrive as floats: keep the text a person wrote, exactly."""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def submit_proposal(values: Mapping[str, Any], *, proposal_no: str | None = None,
                    engine: EngineClient | None = None) -> str:
    """Validate, record and start one proposal, all or nothing: a failed start leaves no record.

    ``engine`` is who submits: a user's client (``smartfin login``) starts the proposal as that user, the
    proposer; naming another ``proposer`` is a proxy entry (``proxy-entry`` group only). The service
    account's client (the default) submits for the named proposer (``smartfin.processes.submitters``).
    """
    engine = engine or EngineClient.from_settings()
    values = {k: _plain(v) for k, v in values.items()}
    values["proposer"] = named_or_self(engine, values.get("proposer"))
    with session_scope() as session:
        submission = validate_submission(values, session=session)
    try:
        submitter = resolve_submitter(engine, submission.proposer, role="proposer")
    except Refused as exc:
        raise ProcurementCommandError(str(exc)) from None
    with session_scope() as session:
        number = proposal_no or next_proposal_no(session)
        if session.get(EquipmentProposalRecord, number) is not None:
            raise ProcurementCommandError(f"设备购置申请 {number} 已提交 / proposal {number} was already submitted")
        row = record_proposal(session, number, submission, status=ProposalStatus.SUBMITTED)
        row.entered_by = submitter.entered_by
        record_entry(session, submitter, document_type=DOCUMENT_TYPE, number=number)
        extra = {k: values[k] for k in ("committeeMembers", "committeeQuorum", "committeeMajorityPct",
                                        "reviewInterval") if k in values}
        instance = start(submitter, PROCESS_KEY, number, {**submission.values, **extra, "proposalNo": number})
        row.process_instance_id = instance["id"]
        session.add(row)
    return number


def send_purchase_documents(proposal_no: str, documents: Mapping[str, Any],
                            engine: EngineClient | None = None) -> None:
    """Give the waiting process the purchase order, goods receipt and invoice for the three-way match."""
    variables = document_variables({k: _plain(v) for k, v in documents.items()})
    with session_scope() as session:
        row = get_proposal(session, proposal_no)
        instance = row.process_instance_id
    engine = engine or EngineClient.from_settings()
    try:
        engine.post("/message", {"messageName": DOCUMENTS_MESSAGE, "processInstanceId": instance,
                                 "processVariables": _encode(variables)})
    except EngineError as exc:
        raise ProcurementCommandError(
            f"设备购置申请 {proposal_no} 当前不在等待交付单据 / proposal {proposal_no} is not waiting for "
            f"purchase documents (contract not yet signed, or already matched): {exc}") from exc


def _encode(variables: Mapping[str, Any]) -> dict[str, Any]:
    from smartfin.camunda.variables import encode_variables

    return encode_variables(dict(variables))


def import_his(proposal_no: str, source: Path | bytes, *, encoding: str | None = None) -> HisImport:
    """Read an HIS charge export, keep the device's charge codes, store its monthly actuals."""
    with session_scope() as session:
        row = get_proposal(session, proposal_no)
        codes = [c for c in row.charge_codes.split(",") if c]
        if not codes:
            raise ProcurementCommandError(f"设备购置申请 {proposal_no} 没有收费编码 / proposal {proposal_no} "
                                          "names no HIS charge codes")
        export = parse_his_charge_export(source, codes, encoding=encoding)
        if not export.rows and export.errors and export.errors[0].row == 1:
            raise ProcurementCommandError("; ".join(str(e) for e in export.errors))
        name = source.name if isinstance(source, Path) else "upload"
        return import_his_actuals(session, proposal_no, export, source=name)


def register(app: typer.Typer) -> None:
    """Add the ``procurement`` command group."""
    app.add_typer(group, name="procurement")


@group.command("submit")
def submit_command(
    path: Annotated[Path, typer.Argument(help="proposal as JSON or YAML (form field names as keys)")],
    proposal_no: Annotated[str | None, typer.Option(help="document number (default: next EQ-YYYY-n)")] = None,
    proposer: Annotated[str | None, typer.Option(
        help="proxy entry (代录) only: the engine user the proposal is for; default: the file's, else you")] = None,
) -> None:
    """Submit an equipment proposal as the logged-in user: checked field by field, then started in the engine."""
    from smartfin.camunda.login import load_credential, logged_in_client

    with _refusals():
        values = load_document(path)
        if proposer:
            values["proposer"] = proposer
        # the whole file is checked before anything is sent, logged in or not
        kept = load_credential()
        validate_submission({k: _plain(v) for k, v in values.items()}
                            | {"proposer": values.get("proposer") or (kept.user if kept else "")})
        number = submit_proposal(values, proposal_no=proposal_no, engine=logged_in_client())
        typer.echo(f"submitted {number}")


@group.command("deliver")
def deliver_command(
    proposal_no: Annotated[str, typer.Argument(help="the proposal number")],
    path: Annotated[Path, typer.Argument(help="JSON/YAML with purchaseOrder, goodsReceipt and invoice lines")],
) -> None:
    """Send the purchase order, goods receipt and invoice for the three-way match."""
    with _refusals():
        send_purchase_documents(proposal_no, load_document(path))
        typer.echo(f"documents sent for {proposal_no}")


@group.command("import-his")
def import_his_command(
    proposal_no: Annotated[str, typer.Argument(help="the proposal number")],
    path: Annotated[Path, typer.Argument(help="HIS charge export (CSV, UTF-8 or GBK)")],
    encoding: Annotated[str | None, typer.Option(help="force an encoding, e.g. gbk")] = None,
) -> None:
    """Import the device's actual volume and revenue from an HIS export for the post-purchase review."""
    with _refusals():
        if not path.exists():
            raise ProcurementCommandError(f"{path}: 文件不存在 / no such file")
        result = import_his(proposal_no, path, encoding=encoding)
        typer.echo(f"{path.name}: {result.rows_read} charge lines of {proposal_no} read, months "
                   f"{', '.join(result.periods) or '—'}; {result.skipped_other_codes} lines of other codes skipped")
        for error in result.errors:
            typer.echo(f"  not read: {error}", err=True)
        if result.errors:
            raise typer.Exit(ExitCode.REFUSED)


@group.command("show")
def show_command(proposal_no: Annotated[str, typer.Argument(help="the proposal number")],
                 as_json: Annotated[bool, typer.Option("--json", help="one JSON document instead of text")] = False,
                 ) -> None:
    """Status, figures, votes, every recorded decision (each round, a send-back and the proposer's answer
    too), what the proposal holds on the ledger, and its reviews."""
    with _refusals(), session_scope() as session:
        row = get_proposal(session, proposal_no)
        report = row.report
        decisions = [{"round": d.round, "task": d.task_key, "group": d.candidate_group, "user": d.user_id,
                      "outcome": d.outcome, "comment": d.comment,
                      "decided_at": d.decided_at.isoformat() if d.decided_at else None}
                     for d in recorded_decisions(session, DOCUMENT_TYPE, proposal_no)]
        if as_json:
            held = document_holdings(session, DOCUMENT_TYPE, proposal_no)
            typer.echo(to_json({
                "proposal_no": row.proposal_no, "device_name": row.device_name, "department": row.department,
                "proposer": row.proposer, "status": row.status, "budget_line": str(row.budget_key),
                "price": from_fen(row.price_fen), "total_investment": from_fen(row.total_investment_fen),
                "summary_zh": (report or {}).get("summaryZh", ""), "summary_en": (report or {}).get("summaryEn", ""),
                "committee_outcome": row.committee_outcome, "committee_summary": row.committee_summary,
                "votes": [{"member": v.member, "vote": v.vote, "comment": v.comment, "voted_at": v.voted_at}
                          for v in votes_of(session, proposal_no)],
                "decisions": decisions,
                "ledger": {"pre_encumbrance": held[Bucket.PRE_ENCUMBRANCE], "encumbrance": held[Bucket.ENCUMBRANCE]},
                "contract_no": row.contract_no,
                "reviews": [{"review_no": r.review_no, "first_period": r.first_period, "last_period": r.last_period,
                             "summary": r.summary} for r in reviews_of(session, proposal_no)]}))
            return
        typer.echo(f"{row.proposal_no} {row.device_name} ({row.department}, {row.proposer}): {row.status}")
        if report:
            typer.echo(f"  {report.get('summaryZh', '')}\n  {report.get('summaryEn', '')}")
        if row.committee_summary:
            typer.echo(f"  {row.committee_summary}")
        for vote in votes_of(session, proposal_no):
            typer.echo(f"    {vote.member}: {vote.vote} — {vote.comment}")
        for decision in decisions:
            typer.echo(f"  round {decision['round']} {decision['task']} {decision['user'] or '?'}: "
                       f"{decision['outcome'] or '-'}" + (f" — {decision['comment']}" if decision["comment"] else ""))
        held = document_holdings(session, DOCUMENT_TYPE, proposal_no)
        typer.echo(f"  ledger: pre-encumbered ¥{held[Bucket.PRE_ENCUMBRANCE]}, "
                   f"encumbered ¥{held[Bucket.ENCUMBRANCE]}" + (f" (contract {row.contract_no})"
                                                                if row.contract_no else ""))
        for review in reviews_of(session, proposal_no):
            typer.echo(f"  review {review.review_no} ({review.first_period}–{review.last_period}): {review.summary}")
