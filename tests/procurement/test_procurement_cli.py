"""The ``smartfin procurement`` commands: files in, refusals that name the field, nothing half-written."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from smartfin.app.cli import app
from smartfin.camunda.client import EngineUnreachable
from smartfin.processes.approvals import ApprovalDecision
from smartfin.processes.procurement.commands import ProcurementCommandError, load_document, submit_proposal
from smartfin.processes.procurement.proposals import EquipmentProposalRecord
from smartfin.store.db import session_scope

EXAMPLE = Path(__file__).resolve().parents[2] / "rules" / "procurement" / "examples" / "ct-128.yaml"
runner = CliRunner()


class RecordingEngine:
    """Stands in for the engine client: remembers the start, or fails it."""

    user = "smartfin-service"  # submits as the service account, for a named proposer who exists

    def get(self, path: str, **params: Any) -> list[dict[str, Any]]:
        return [{"id": params["id"]}] if path == "/user" else []

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.started: list[tuple[str, str, dict[str, Any]]] = []

    def start_process(self, key: str, business_key: str, variables: dict[str, Any]) -> dict[str, Any]:
        if self.fail:
            raise EngineUnreachable("the engine is not reachable")
        self.started.append((key, business_key, variables))
        return {"id": f"pi-{business_key}"}


def test_example_file_is_submitted_with_exact_values() -> None:
    engine = RecordingEngine()
    number = submit_proposal(load_document(EXAMPLE), proposal_no="EQ-CLI-1", engine=engine)  # type: ignore[arg-type]
    key, business_key, variables = engine.started[0]
    assert (key, business_key, number) == ("procurement-evaluation", "EQ-CLI-1", "EQ-CLI-1")
    assert variables["annualUtilities"] == "2252.88" and variables["proposalNo"] == "EQ-CLI-1"
    with session_scope() as session:
        row = session.get(EquipmentProposalRecord, "EQ-CLI-1")
        assert row is not None and row.process_instance_id == "pi-EQ-CLI-1" and row.status == "submitted"
        assert row.total_investment_fen == 1_242_000_000
    with pytest.raises(ProcurementCommandError, match="already submitted"):
        submit_proposal(load_document(EXAMPLE), proposal_no="EQ-CLI-1", engine=engine)  # type: ignore[arg-type]


def test_a_failed_start_leaves_no_record() -> None:
    with pytest.raises(EngineUnreachable):
        submit_proposal(load_document(EXAMPLE), proposal_no="EQ-CLI-2", engine=RecordingEngine(fail=True))  # type: ignore[arg-type]
    with session_scope() as session:
        assert session.get(EquipmentProposalRecord, "EQ-CLI-2") is None


def test_bad_file_is_refused_naming_each_field(tmp_path: Path) -> None:
    values = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    values.update(monthlyVolume=-10, economicLifeYears=0, pricePerExam="")
    del values["fundingSource"]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(values, allow_unicode=True), encoding="utf-8")
    result = runner.invoke(app, ["procurement", "submit", str(path)])
    assert result.exit_code == 3
    for field in ("monthlyVolume", "economicLifeYears", "pricePerExam", "fundingSource"):
        assert field in result.output


@pytest.mark.parametrize("content, name, words", [
    ("[1, 2]", "list.yaml", "must be a mapping"),
    ("{not json", "broken.json", "not valid JSON or YAML"),
])
def test_unreadable_files_are_refused(tmp_path: Path, content: str, name: str, words: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    result = runner.invoke(app, ["procurement", "submit", str(path)])
    assert result.exit_code == 3 and words in result.output
    assert "no such file" in runner.invoke(app, ["procurement", "submit", str(tmp_path / "nope.yaml")]).output


def test_his_import_for_an_unknown_proposal_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "his.csv"
    path.write_text("date,charge_code,charge_name,quantity,amount\n", encoding="utf-8")
    result = runner.invoke(app, ["procurement", "import-his", "EQ-NOPE", str(path)])
    assert result.exit_code == 3 and "EQ-NOPE" in result.output


def test_show_lists_every_rounds_decisions() -> None:
    submit_proposal(load_document(EXAMPLE), proposal_no="EQ-CLI-SHOW", engine=RecordingEngine())  # type: ignore[arg-type]
    with session_scope() as session:
        for n, (round_no, key, user, outcome, comment) in enumerate([
                (1, "budgetCommitteeReview", "sun.li", "sendBack", "请降低配置"),
                (1, "correctProposal", "zhang.wei", "resubmit", None),
                (2, "budgetCommitteeReview", "sun.li", "approve", "可")]):
            session.add(ApprovalDecision(document_type="procurement-proposal", document_no="EQ-CLI-SHOW",
                                         round=round_no, task_id=f"t-show-{n}", task_key=key, candidate_group="",
                                         user_id=user, outcome=outcome, comment=comment,
                                         decided_at=datetime(2026, 5, 1, 2, n, tzinfo=UTC)))
    shown = runner.invoke(app, ["procurement", "show", "EQ-CLI-SHOW", "--json"])
    assert shown.exit_code == 0, shown.output
    assert [(d["round"], d["task"], d["outcome"]) for d in json.loads(shown.output)["decisions"]] == [
        (1, "budgetCommitteeReview", "sendBack"), (1, "correctProposal", "resubmit"),
        (2, "budgetCommitteeReview", "approve")]
    text = runner.invoke(app, ["procurement", "show", "EQ-CLI-SHOW"]).output
    assert "round 1 budgetCommitteeReview sun.li: sendBack — 请降低配置" in text
    assert "round 2 budgetCommitteeReview sun.li: approve — 可" in text
