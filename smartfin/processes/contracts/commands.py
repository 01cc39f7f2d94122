"""``smartfin contract register|approve-overrun|complete|cancel``: contracts citing approved requests, each
command acting as the logged-in user.

Members of the registrar group (``finance-officer``) register, complete and cancel contracts; an over-run
beyond the tolerance is approved by a member of the group the dated standards name (``chief-accountant``),
who did not register it. Who they are comes from the engine's login (``smartfin login``), their groups asked
as the service account — never from an option.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

import typer

from smartfin.camunda.client import EngineClient, EngineError
from smartfin.camunda.login import groups_of, logged_in_client
from smartfin.kernel.exits import ExitCode
from smartfin.kernel.money import format_yuan
from smartfin.ledger import Bucket, document_holdings
from smartfin.processes.contracts.contracts import (
    DOCUMENT_TYPE,
    REGISTRAR_GROUP,
    ContractRefused,
    ContractStatus,
    approve_overrun,
    cancel_contract,
    complete_contract,
    overrun_approver_group,
    register_contract,
    validate_contract,
)
from smartfin.store.db import session_scope

contract_app = typer.Typer(no_args_is_help=True, help="Contracts citing approved requests (合同).")


def register(app: typer.Typer) -> None:
    """Add the ``contract`` command group to the ``smartfin`` CLI."""
    app.add_typer(contract_app, name="contract")


T = TypeVar("T")


def acting_member(engine: EngineClient, service: EngineClient, group: str, action: str) -> str:
    """The logged-in user, refused unless a member of ``group`` (asked as the service account)."""
    user = str(engine.user)
    if not any(g["id"] == group for g in groups_of(service, user)):
        raise ContractRefused([("user", f"{user} 不在 {group} 组，不能{action} / {user} is not in the "
                                        f"{group} group and may not do this ({action})")])
    return user


def acting_registrar(engine: EngineClient, service: EngineClient) -> str:
    """The logged-in user, refused unless a member of the registrar group (asked as the service account)."""
    return acting_member(engine, service, REGISTRAR_GROUP, "登记合同 register contracts")


def _as_logged_in(group: str, action: str, work: Callable[[str], T]) -> T:
    """Run ``work`` as the logged-in member of ``group``; refusals and engine errors end the command (exit 2)
    with each field named."""
    try:
        engine = logged_in_client()
        try:
            user = acting_member(engine, EngineClient.from_settings(), group, action)
        finally:
            engine.close()
        return work(user)
    except ContractRefused as exc:
        for name, why in exc.problems:
            typer.secho(f"error: {name}: {why}", fg=typer.colors.RED, err=True)
        raise typer.Exit(ExitCode.REFUSED) from None
    except EngineError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(ExitCode.REFUSED) from None


@contract_app.command("register")
def register_command(
    request: Annotated[str, typer.Option(help="the approved spending request the contract is signed for")],
    contract_no: Annotated[str, typer.Option(help="contract number")],
    supplier: Annotated[str, typer.Option(help="supplier as named in the contract")],
    amount: Annotated[str, typer.Option(help="contract amount in yuan, e.g. 9800.00")],
    signed_on: Annotated[str, typer.Option(help="signature date YYYY-MM-DD")],
    department: Annotated[str, typer.Option(help="department the contract is signed for (must be the request's)")],
    payment_date: Annotated[list[str] | None, typer.Option(
        help="scheduled payment DATE:AMOUNT (repeatable); together they add up to the amount")] = None,
) -> None:
    """Register a signed contract: the request's reservation becomes the contract's encumbrance, the rest
    of the request is released as a saving, and the payment schedule is kept — all or nothing."""
    try:
        draft = validate_contract(contract_no=contract_no, request_no=request, supplier=supplier, amount=amount,
                                  signed_on=signed_on, payments=list(payment_date or []),
                                  department=department)
        engine = logged_in_client()
        try:
            registrar = acting_registrar(engine, EngineClient.from_settings())
        finally:
            engine.close()
        with session_scope() as session:
            row = register_contract(session, draft, registrar=registrar)
            held = document_holdings(session, DOCUMENT_TYPE, row.contract_no)[Bucket.ENCUMBRANCE]
    except ContractRefused as exc:
        for name, why in exc.problems:
            typer.secho(f"error: {name}: {why}", fg=typer.colors.RED, err=True)
        raise typer.Exit(ExitCode.REFUSED) from None
    except EngineError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(ExitCode.REFUSED) from None
    if row.status == ContractStatus.PENDING_OVERRUN:
        typer.echo(f"contract {row.contract_no} recorded for {row.request_no}, pending over-run approval by "
                   f"{overrun_approver_group()} (`smartfin contract approve-overrun {row.contract_no}`); nothing moved")
        return
    typer.echo(f"registered contract {row.contract_no} for {row.request_no}: encumbrance {format_yuan(held)}")


@contract_app.command("approve-overrun")
def approve_overrun_command(
    contract_no: Annotated[str, typer.Argument(help="the contract pending over-run approval")],
    comment: Annotated[str, typer.Option(help="why the over-run is accepted")] = "",
) -> None:
    """Approve a contract that costs more than its request beyond the tolerance (超支审批): a member of the
    group the dated standards name, not the registrar; then the request's reservation moves to it."""
    group = overrun_approver_group()

    def work(user: str) -> str:
        with session_scope() as session:
            row = approve_overrun(session, contract_no.strip(), approver=user, comment=comment)
            held = document_holdings(session, DOCUMENT_TYPE, row.contract_no)[Bucket.ENCUMBRANCE]
        return f"over-run of contract {row.contract_no} approved by {user}: encumbrance {format_yuan(held)}"

    typer.echo(_as_logged_in(group, "批准合同超支 approve contract over-runs", work))


@contract_app.command("complete")
def complete_command(
    contract_no: Annotated[str, typer.Argument(help="the contract whose final payment has been made")],
) -> None:
    """Mark a contract complete: what it still holds goes back to the line as a saving (节余), audited."""
    def work(user: str) -> str:
        with session_scope() as session:
            saved = complete_contract(session, contract_no.strip(), actor=user)
        return f"contract {contract_no.strip()} complete: saving {format_yuan(saved)} released to the line"

    typer.echo(_as_logged_in(REGISTRAR_GROUP, "完结合同 complete contracts", work))


@contract_app.command("cancel")
def cancel_command(
    contract_no: Annotated[str, typer.Argument(help="the contract to cancel")],
    reason: Annotated[str, typer.Option(help="why the contract is cancelled")],
) -> None:
    """Cancel a contract: what it took over goes back to its request, which can be cited again, audited."""
    def work(user: str) -> str:
        with session_scope() as session:
            returned = cancel_contract(session, contract_no.strip(), actor=user, reason=reason)
        return f"contract {contract_no.strip()} cancelled: {format_yuan(returned)} back to its request"

    typer.echo(_as_logged_in(REGISTRAR_GROUP, "取消合同 cancel contracts", work))
