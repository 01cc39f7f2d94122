"""``smartfin contract register``: a signed contract citing an approved request, as the logged-in user.

Only members of the registrar group (``finance-officer``) may register a contract; who they are comes from
the engine's login (``smartfin login``), asked as the service account — never from an option.
"""

from __future__ import annotations

from typing import Annotated

import typer

from smartfin.camunda.client import EngineClient, EngineError
from smartfin.camunda.login import groups_of, logged_in_client
from smartfin.kernel.money import format_yuan
from smartfin.ledger import Bucket, document_holdings
from smartfin.processes.contracts.contracts import (
    DOCUMENT_TYPE,
    REGISTRAR_GROUP,
    ContractRefused,
    register_contract,
    validate_contract,
)
from smartfin.store.db import session_scope

contract_app = typer.Typer(no_args_is_help=True, help="Contracts citing approved requests (合同).")


def register(app: typer.Typer) -> None:
    """Add the ``contract`` command group to the ``smartfin`` CLI."""
    app.add_typer(contract_app, name="contract")


def acting_registrar(engine: EngineClient, service: EngineClient) -> str:
    """The logged-in user, refused unless a member of the registrar group (asked as the service account)."""
    user = str(engine.user)
    if not any(g["id"] == REGISTRAR_GROUP for g in groups_of(service, user)):
        raise ContractRefused([("user", f"{user} 不在 {REGISTRAR_GROUP} 组，不能登记合同 / {user} is not in the "
                                        f"{REGISTRAR_GROUP} group and may not register contracts")])
    return user


@contract_app.command("register")
def register_command(
    request: Annotated[str, typer.Option(help="the approved spending request the contract is signed for")],
    contract_no: Annotated[str, typer.Option(help="contract number")],
    supplier: Annotated[str, typer.Option(help="supplier as named in the contract")],
    amount: Annotated[str, typer.Option(help="contract amount in yuan, e.g. 9800.00")],
    signed_on: Annotated[str, typer.Option(help="signature date YYYY-MM-DD")],
    payment_date: Annotated[list[str] | None, typer.Option(
        help="scheduled payment DATE:AMOUNT (repeatable); together they add up to the amount")] = None,
) -> None:
    """Register a signed contract: the request's reservation becomes the contract's encumbrance, the rest
    of the request is released as a saving, and the payment schedule is kept — all or nothing."""
    try:
        draft = validate_contract(contract_no=contract_no, request_no=request, supplier=supplier, amount=amount,
                                  signed_on=signed_on, payments=list(payment_date or []))
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
        raise typer.Exit(2) from None
    except EngineError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    typer.echo(f"registered contract {row.contract_no} for {row.request_no}: encumbrance {format_yuan(held)}")
