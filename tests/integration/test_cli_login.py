"""The command line acts as the person: `smartfin login`, submissions as the logged-in user, proxy entry (代录)."""

from __future__ import annotations

import json
import stat
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from smartfin.app.cli import app
from smartfin.camunda.client import EngineClient
from smartfin.camunda.login import credential_path
from smartfin.ledger import import_budget
from smartfin.processes.procurement.proposals import EquipmentProposalRecord
from smartfin.processes.reimbursement.claims import Claim
from smartfin.processes.spending.requests import SpendingRequest
from smartfin.store.audit import AuditEntry
from smartfin.store.db import session_scope
from tests.integration.conftest import HEADER, YEAR
from tests.security.engine_users import Actor, admin_password
from tests.support.engine import DEMO_PASSWORD, process_ended, wait_for
from tests.support.settings import environment

pytestmark = pytest.mark.engine

DEPARTMENT = "T-LOGIN"


@pytest.fixture(scope="module")
def login_budget(camunda: EngineClient) -> str:
    line = (f"{YEAR},{DEPARTMENT},30218,fiscal,,CLI login,100000.00,control,0,0,90,"
            f"{YEAR}-01-01,{YEAR}-12-31\n")
    with session_scope() as session:
        report = import_budget(session, (HEADER + line).encode(), actor="test", filename="login-budget.csv")
    assert report.ok, report.errors
    return DEPARTMENT


@pytest.fixture()
def cli(tmp_path: Path) -> Iterator[CliRunner]:
    """A runner whose logins are kept under the test's own folder."""
    with environment({"SMARTFIN_CREDENTIALS_DIR": str(tmp_path / "credentials")}):
        yield CliRunner()


def login(cli: CliRunner, user: str, password: str = DEMO_PASSWORD):
    return cli.invoke(app, ["login", "--user", user], input=f"{password}\n")


def submit(cli: CliRunner, *extra: str, amount: str = "120.00"):
    return cli.invoke(app, ["submit-request", "--department", DEPARTMENT, "--category", "materials",
                            "--amount", amount, "--payee", "国药控股", "--purpose", "登录测试 login test", *extra])


def number_of(output: str) -> str:
    assert output.startswith("submitted "), output
    return output.split()[1]


def row(number: str) -> SpendingRequest:
    with session_scope() as session:
        found = session.get(SpendingRequest, number)
        assert found is not None
        session.expunge(found)
        return found


def in_approval(camunda: EngineClient, pid: str) -> None:
    """Wait until the request waits for a person (where a requester would withdraw it)."""
    wait_for(lambda: camunda.tasks(processInstanceId=pid), message="an approval task")


def registered_requester(camunda: EngineClient, pid: str) -> str:
    """The requester the registration step put into the process (from the record)."""
    return str(wait_for(lambda: camunda.historic_variables(pid).get("requester"), message="registration"))


def audit(number: str, action: str) -> list[AuditEntry]:
    with session_scope() as session:
        entries = session.exec(select(AuditEntry).where(AuditEntry.subject_id == number,
                                                        AuditEntry.action == action)).all()
        for entry in entries:
            session.expunge(entry)
        return list(entries)


def test_login_keeps_a_private_file_refuses_a_wrong_password_and_logout_forgets(camunda, cli):
    admin = Actor(camunda.base_url, "admin", admin_password())
    name = f"login.{uuid.uuid4().hex[:6]}"
    admin.ok("POST", "/user/create", {"profile": {"id": name, "firstName": "L", "lastName": "I",
                                                  "email": f"{name}@example.org"},
                                      "credentials": {"password": "Right-pass-1"}})
    try:
        assert "not logged in" in cli.invoke(app, ["whoami"]).output

        kept = login(cli, name, "Right-pass-1")
        assert kept.exit_code == 0, kept.output
        assert "Right-pass-1" not in kept.output
        path = credential_path()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700

        refused = login(cli, name, "wrong-pass")
        assert refused.exit_code == 3
        assert "refused the login" in refused.output and "wrong-pass" not in refused.output
        assert '"Right-pass-1"' in path.read_text(), "a refused login leaves the kept one alone"

        out = cli.invoke(app, ["logout"])
        assert out.exit_code == 0 and "logged out" in out.output
        assert not path.exists()
        assert "not logged in" in cli.invoke(app, ["whoami"]).output
        assert "not logged in" in submit(cli).output
    finally:
        admin.call("DELETE", f"/user/{name}")


def test_whoami_names_the_user_and_their_groups(camunda, cli):
    assert login(cli, "li.na").exit_code == 0
    out = cli.invoke(app, ["whoami"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0] == "li.na"
    assert {line.split()[0] for line in lines[1:]} == {"dept-head", "requester"}


def test_a_kept_login_the_engine_refuses_says_to_log_in_again(camunda, cli):
    assert login(cli, "zhang.wei").exit_code == 0
    path = credential_path()
    # a user removed since the login (a changed password would also start the engine's login delay)
    path.write_text(path.read_text().replace("zhang.wei", "gone.since"))
    out = submit(cli)
    assert out.exit_code == 3
    assert "run `smartfin login` again" in out.output


def test_submit_request_after_login_is_started_by_that_user(camunda, workers, login_budget, cli):
    assert login(cli, "zhang.wei").exit_code == 0
    out = submit(cli)
    assert out.exit_code == 0, out.output
    number = number_of(out.output)
    request = row(number)
    assert request.requester == "zhang.wei" and request.entered_by is None
    history = camunda.historic_process(request.process_instance_id)
    assert history["startUserId"] == "zhang.wei"
    assert registered_requester(camunda, request.process_instance_id) == "zhang.wei"
    assert not audit(number, "proxy-entry")

    in_approval(camunda, request.process_instance_id)
    withdrawn = cli.invoke(app, ["withdraw", number])
    assert withdrawn.exit_code == 0, withdrawn.output
    process_ended(camunda, request.process_instance_id)
    assert wait_for(lambda: row(number).status == "withdrawn" or None)
    assert [e.actor for e in audit(number, "withdrawal-requested")] == ["zhang.wei"]


def test_requester_naming_someone_else_is_refused_without_the_proxy_role(camunda, login_budget, cli):
    assert login(cli, "zhang.wei").exit_code == 0
    out = submit(cli, "--requester", "li.na")
    assert out.exit_code == 3
    assert "proxy-entry" in out.output and "li.na" in out.output
    with session_scope() as session:
        assert not session.exec(select(SpendingRequest).where(SpendingRequest.department == DEPARTMENT,
                                                              SpendingRequest.requester == "li.na")).all()


def test_only_the_requester_or_her_proxy_may_withdraw(camunda, workers, login_budget, cli):
    assert login(cli, "zhang.wei").exit_code == 0
    number = number_of(submit(cli).output)
    in_approval(camunda, row(number).process_instance_id)
    assert login(cli, "li.na").exit_code == 0
    out = cli.invoke(app, ["withdraw", number])
    assert out.exit_code == 3 and "only the requester" in out.output
    assert row(number).status == "submitted"
    assert login(cli, "zhang.wei").exit_code == 0
    assert cli.invoke(app, ["withdraw", number]).exit_code == 0
    process_ended(camunda, row(number).process_instance_id)


def test_proxy_entry_is_accepted_for_the_proxy_group_and_recorded(camunda, workers, login_budget, cli):
    assert login(cli, "ma.lin").exit_code == 0
    out = submit(cli, "--requester", "zhang.wei")
    assert out.exit_code == 0, out.output
    number = number_of(out.output)
    request = row(number)
    assert request.requester == "zhang.wei" and request.entered_by == "ma.lin"
    entries = audit(number, "proxy-entry")
    assert [(e.actor, e.details_dict["for"]) for e in entries] == [("ma.lin", "zhang.wei")]
    assert registered_requester(camunda, request.process_instance_id) == "zhang.wei"

    in_approval(camunda, request.process_instance_id)
    withdrawn = cli.invoke(app, ["withdraw", number])  # the proxy who entered it may take it back
    assert withdrawn.exit_code == 0, withdrawn.output
    process_ended(camunda, request.process_instance_id)


def test_a_proxy_entry_for_an_unknown_user_is_refused(camunda, login_budget, cli):
    assert login(cli, "ma.lin").exit_code == 0
    out = submit(cli, "--requester", "no.such.person")
    assert out.exit_code == 3
    assert "no.such.person" in out.output and "not a user of the engine" in out.output


# ---------------------------------------------------------------- claims and proposals as the logged-in user

def invoice_file(tmp_path: Path, name: str) -> Path:
    from extractors.invoice.samples import xml_invoice

    filename, data, _ = xml_invoice(name, total=Decimal("88.00"))
    path = tmp_path / filename
    path.write_bytes(data)
    return path


def submit_claim_cli(cli: CliRunner, tmp_path: Path, name: str, *extra: str):
    return cli.invoke(app, ["claim", "submit", str(invoice_file(tmp_path, name)), "--department", DEPARTMENT,
                            "--category", "office", "--purpose", "登录报销 login claim", *extra])


def claim_row(number: str) -> Claim:
    with session_scope() as session:
        found = session.get(Claim, number)
        assert found is not None
        session.expunge(found)
        return found


def test_claim_submitted_after_login_is_the_users_and_started_by_her(camunda, login_budget, cli, tmp_path):
    assert login(cli, "zhang.wei").exit_code == 0
    out = submit_claim_cli(cli, tmp_path, "login-own")
    assert out.exit_code == 0, out.output
    number = number_of(out.output)
    claim = claim_row(number)
    assert claim.claimant == "zhang.wei" and claim.entered_by is None
    assert camunda.historic_process(claim.process_instance_id)["startUserId"] == "zhang.wei"
    assert not audit(number, "proxy-entry")


def test_claim_for_someone_else_needs_the_proxy_role(camunda, login_budget, cli, tmp_path):
    assert login(cli, "zhang.wei").exit_code == 0
    refused = submit_claim_cli(cli, tmp_path, "login-foreign", "--claimant", "li.na")
    assert refused.exit_code == 3 and "proxy-entry" in refused.output
    with session_scope() as session:
        assert not session.exec(select(Claim).where(Claim.department == DEPARTMENT,
                                                    Claim.claimant == "li.na")).all()

    assert login(cli, "ma.lin").exit_code == 0
    out = submit_claim_cli(cli, tmp_path, "login-proxy", "--claimant", "zhang.wei")
    assert out.exit_code == 0, out.output
    number = number_of(out.output)
    claim = claim_row(number)
    assert (claim.claimant, claim.entered_by) == ("zhang.wei", "ma.lin")
    assert [(e.actor, e.details_dict["for"]) for e in audit(number, "proxy-entry")] == [("ma.lin", "zhang.wei")]


def proposal_file(tmp_path: Path, **changes: str) -> Path:
    values = {"department": DEPARTMENT, "deviceName": "心电监护仪 ECG monitor", "equipmentClass": "ordinary",
              "price": "90000", "monthlyVolume": 300, "pricePerExam": "150", "staffCount": 1,
              "annualCostPerStaff": "60000", "annualMaterials": "36000", "annualMaintenance": "10000",
              "annualUtilities": "1200", "managementFeeRatePct": "1", "fundingSource": "fiscal",
              "economicLifeYears": 6, "depreciationYears": 5, "justification": "门诊需要 / outpatient need",
              **changes}
    path = tmp_path / f"proposal-{uuid.uuid4().hex[:8]}.json"
    path.write_text(json.dumps(values, ensure_ascii=False), encoding="utf-8")
    return path


def test_proposal_submitted_after_login_is_the_users_and_another_proposer_needs_the_proxy_role(
        camunda, login_budget, cli, tmp_path):
    assert login(cli, "zhang.wei").exit_code == 0
    refused = cli.invoke(app, ["procurement", "submit", str(proposal_file(tmp_path)), "--proposer", "li.na"])
    assert refused.exit_code != 0 and "proxy-entry" in refused.output

    out = cli.invoke(app, ["procurement", "submit", str(proposal_file(tmp_path))])
    assert out.exit_code == 0, out.output
    number = number_of(out.output)
    with session_scope() as session:
        proposal = session.get(EquipmentProposalRecord, number)
        assert proposal is not None
        assert (proposal.proposer, proposal.entered_by) == ("zhang.wei", None)
        pid = proposal.process_instance_id
    assert camunda.historic_process(pid)["startUserId"] == "zhang.wei"
