"""`smartfin contract register|approve-overrun|complete|cancel` through the CLI as demo users logged in to the
real engine: who may do what, each bad field named, an over-run approved by the standards' group, a contract
completed after a partial payment, a cancelled contract's reservation back with its request."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from rules.budget import commitment_standards_on
from smartfin.app.cli import app
from smartfin.kernel.clock import hospital_today
from smartfin.ledger import Bucket
from smartfin.processes.contracts.contracts import Contract, ContractStatus, register_contract, validate_contract
from smartfin.store.audit import AuditEntry
from smartfin.store.db import session_scope
from tests.support.engine import DEMO_PASSWORD, process_ended
from tests.support.settings import environment

from .test_commitment_chain import DEPARTMENT, approved_request, claim_for, held, line  # noqa: F401
from .test_reimbursement_process import approve_all, complete, end_of, task_of, verify_by_hand

pytestmark = pytest.mark.engine

TODAY = hospital_today().isoformat()
OFFICER, REQUESTER, CHIEF = "wang.fang", "zhang.wei", "liu.yang"


@pytest.fixture()
def cli(tmp_path: Path) -> Iterator[CliRunner]:
    """A runner whose logins are kept under the test's own folder."""
    with environment({"SMARTFIN_CREDENTIALS_DIR": str(tmp_path / "credentials")}):
        yield CliRunner()


def as_user(cli: CliRunner, user: str) -> None:
    result = cli.invoke(app, ["login", "--user", user], input=f"{DEMO_PASSWORD}\n")
    assert result.exit_code == 0, result.output


def register(cli: CliRunner, request: str, number: str, amount: str, *, department: str = DEPARTMENT,
             signed_on: str = TODAY, payments: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    args = ["contract", "register", "--request", request, "--contract-no", number, "--supplier", "迈瑞医疗",
            "--amount", amount, "--signed-on", signed_on, "--department", department]
    for item in payments:
        args += ["--payment-date", item]
    return cli.invoke(app, args)


def contract(number: str) -> Contract | None:
    with session_scope() as session:
        row = session.get(Contract, number)
        if row is not None:
            session.expunge(row)
        return row


def audits(action: str, number: str) -> list[AuditEntry]:
    with session_scope() as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action,
                                                          AuditEntry.subject_id == number)).all())


def new_no() -> str:
    return f"HT-{uuid.uuid4().hex[:8]}"


def test_register_as_finance_officer_only_with_every_bad_field_named_then_partial_payment_and_completion(
        camunda, workers, line, stand_in_portals, cli):  # noqa: F811
    request = approved_request(camunda, "1000.00")
    number = new_no()
    as_user(cli, REQUESTER)
    refused = register(cli, request, number, "900.00")
    assert refused.exit_code == 3 and "error: user:" in refused.output and "finance-officer" in refused.output

    as_user(cli, OFFICER)
    cases = [
        (dict(request="SQ-NO-SUCH", amount="900.00"), "request"),
        (dict(request=request, amount="0"), "amount"),
        (dict(request=request, amount="-5.00"), "amount"),
        (dict(request=request, amount="900.00", department="T-OTHER"), "department"),
        (dict(request=request, amount="900.00", signed_on="2026-13-01"), "signed-on"),
        (dict(request=request, amount="900.00", signed_on="2999-01-01"), "signed-on"),
        (dict(request=request, amount="900.00", payments=(f"{TODAY}:400.00", f"{TODAY}:400.00")), "payment-date"),
        (dict(request=request, amount="900.00", payments=("2000-01-01:900.00",)), "payment-date #1"),
    ]
    for kwargs, field in cases:
        result = register(cli, kwargs.pop("request"), number, kwargs.pop("amount"), **kwargs)  # type: ignore[arg-type]
        assert result.exit_code == 3 and f"error: {field}:" in result.output, (kwargs, field, result.output)
        assert contract(number) is None and held("spending-request", request) == Decimal("1000.00"), \
            "nothing half-done"

    ok = register(cli, request, number, "900.00", payments=(f"{TODAY}:400.00", f"{TODAY}:500.00"))
    assert ok.exit_code == 0, ok.output
    assert held("contract", number, Bucket.ENCUMBRANCE) == Decimal("900.00")
    assert held("spending-request", request) == Decimal("0.00"), "the saving of 100 went back to the line"
    [audit] = audits("contract.registered", number)
    assert audit.actor == OFFICER
    assert contract(number).status == ContractStatus.REGISTERED  # type: ignore[union-attr]

    # the first scheduled payment: the claim takes 400 over, the contract keeps the rest encumbered
    claim, pid = claim_for(camunda, "contract-part", "400.00", {"contract_no": number})
    verify_by_hand(camunda, pid)
    task_of(camunda, pid, "approveClaim")
    busy = cli.invoke(app, ["contract", "complete", number])
    assert busy.exit_code == 3 and claim in busy.output, "not closed under a claim in flight"
    approve_all(camunda, pid)
    complete(camunda, OFFICER, task_of(camunda, pid, "financeAudit"), {"decision": "approve", "comment": "ok"})
    process_ended(camunda, pid, timeout=90)
    assert end_of(camunda, pid) == {"claimPaid"}
    assert held("reimbursement-claim", claim, Bucket.ACTUAL) == Decimal("400.00")
    assert held("contract", number, Bucket.ENCUMBRANCE) == Decimal("500.00"), "the rest stays encumbered"

    as_user(cli, REQUESTER)
    assert cli.invoke(app, ["contract", "complete", number]).exit_code == 3
    as_user(cli, OFFICER)
    done = cli.invoke(app, ["contract", "complete", number])
    assert done.exit_code == 0 and "500.00" in done.output, done.output
    assert held("contract", number, Bucket.ENCUMBRANCE) == Decimal("0.00")
    assert contract(number).status == ContractStatus.COMPLETE  # type: ignore[union-attr]
    [completed] = audits("contract.completed", number)
    assert completed.actor == OFFICER and completed.details_dict["saving_released"] == "500.00"
    again = cli.invoke(app, ["contract", "complete", number])
    assert again.exit_code == 3 and "complete" in again.output
    assert held("contract", number, Bucket.ENCUMBRANCE) == Decimal("0.00")


def test_an_overrun_beyond_the_tolerance_waits_for_the_standards_group_and_not_the_registrar(
        camunda, workers, line, cli):  # noqa: F811
    group = commitment_standards_on(hospital_today()).overrun_approver_group
    assert group == "chief-accountant"
    request = approved_request(camunda, "1000.00")
    number = new_no()
    as_user(cli, OFFICER)
    pending = register(cli, request, number, "1200.00")
    assert pending.exit_code == 0 and "pending over-run" in pending.output, pending.output
    assert contract(number).status == ContractStatus.PENDING_OVERRUN  # type: ignore[union-attr]
    assert held("spending-request", request) == Decimal("1000.00") and \
        held("contract", number, Bucket.ENCUMBRANCE) == Decimal("0.00"), "nothing moves before the approval"

    refused = cli.invoke(app, ["contract", "approve-overrun", number])
    assert refused.exit_code == 3 and "error: user:" in refused.output and group in refused.output
    as_user(cli, CHIEF)
    approved = cli.invoke(app, ["contract", "approve-overrun", number, "--comment", "设备涨价 price rise"])
    assert approved.exit_code == 0, approved.output
    assert held("contract", number, Bucket.ENCUMBRANCE) == Decimal("1200.00")
    assert held("spending-request", request) == Decimal("0.00")
    row = contract(number)
    assert row is not None and (row.status, row.overrun_approved_by) == (ContractStatus.REGISTERED, CHIEF)
    [audit] = audits("contract.overrun-approved", number)
    assert audit.actor == CHIEF and audit.details_dict["registered_by"] == OFFICER
    chain = json.loads(cli.invoke(app, ["document", "chain", number, "--json"]).output)
    shown = next(d for d in chain["documents"] if d["number"] == number)
    assert (shown["status"], shown["overrun_approved_by"], shown["encumbrance"]) == ("registered", CHIEF, "1200.00")
    twice = cli.invoke(app, ["contract", "approve-overrun", number])
    assert twice.exit_code == 3 and held("contract", number, Bucket.ENCUMBRANCE) == Decimal("1200.00")

    # the approver may not approve an over-run she registered herself
    other_request = approved_request(camunda, "100.00")
    own = new_no()
    draft = validate_contract(contract_no=own, request_no=other_request, supplier="迈瑞医疗", amount="300.00",
                              signed_on=TODAY, payments=[])
    with session_scope() as session:
        assert register_contract(session, draft, registrar=CHIEF).status == ContractStatus.PENDING_OVERRUN
    self_approved = cli.invoke(app, ["contract", "approve-overrun", own])
    assert self_approved.exit_code == 3 and "registered" in self_approved.output
    assert held("contract", own, Bucket.ENCUMBRANCE) == Decimal("0.00")


def test_a_cancelled_contract_gives_its_reservation_back_to_the_request(camunda, workers, line, cli):  # noqa: F811
    request = approved_request(camunda, "800.00")
    number = new_no()
    as_user(cli, OFFICER)
    assert register(cli, request, number, "800.00").exit_code == 0
    assert held("spending-request", request) == Decimal("0.00")
    assert cli.invoke(app, ["contract", "cancel", number, "--reason", " "]).exit_code == 3
    cancelled = cli.invoke(app, ["contract", "cancel", number, "--reason", "供应商违约 supplier default"])
    assert cancelled.exit_code == 0 and "800.00" in cancelled.output, cancelled.output
    assert held("spending-request", request) == Decimal("800.00"), "the request holds it again"
    assert held("contract", number, Bucket.ENCUMBRANCE) == Decimal("0.00")
    assert contract(number).status == ContractStatus.CANCELLED  # type: ignore[union-attr]
    assert [a.actor for a in audits("contract.cancelled", number)] == [OFFICER]
    assert cli.invoke(app, ["contract", "cancel", number, "--reason", "again"]).exit_code == 3
    assert held("spending-request", request) == Decimal("800.00"), "idempotent"

    second = new_no()
    assert register(cli, request, second, "750.00").exit_code == 0, "the request can be cited again"
    assert held("contract", second, Bucket.ENCUMBRANCE) == Decimal("750.00")
