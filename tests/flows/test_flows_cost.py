"""The monthly cost flow (`cost-monthly`): its stages in order, its reports and artifacts, a failing stage, a re-run.

The wiring tests stand the month's run, its stored results and the review starter in with fakes built from
the hand-made month of tests/costing/sample_month (unit tests of the flow's wiring: the real functions are
written beside this flow). The end-to-end test at the bottom runs the real ones on a generated hospital and
is skipped until they exist.
"""

from __future__ import annotations

import io
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from flows.cost import CostMonthFailed, cost_monthly, last_closed_month, month_end, parse_month, report_folder
from flows.deployments import scheduled_flows
from smartfin.app.cli import app as smartfin_cli  # noqa: F401  (the CLI and its imports load before any stand-in)
from smartfin.costing.model import INDICATOR_COLUMNS, CostInputError, MonthInputs
from tests.costing import sample_month as s
from tests.costing.test_cost_report import SHEETS
from tests.flows.test_flows_posting_budget import _artifacts
from tests.support.workbooks import header, header_row, table_rows

EMPTY = pd.DataFrame()


@dataclass
class FakeMonth:
    """Stands in for smartfin.costing.month, .indicators and the review starter; records what was called."""

    calls: list[str] = field(default_factory=list)
    centres: tuple = s.CENTRES
    fail_at: str | None = None
    reviews: list[tuple[str, list, object]] = field(default_factory=list)

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if self.fail_at == name:
            raise CostInputError([("payroll.csv row 3, field amount", "负数成本 negative cost -12.00")])

    def load_inputs(self, session: Any, month: str) -> MonthInputs:
        self._call("load_inputs")
        return MonthInputs(month, self.centres, EMPTY, EMPTY, EMPTY, EMPTY, EMPTY, EMPTY, EMPTY, EMPTY)

    def run_month(self, month: str, *, actor: str) -> Any:
        self._call("run_month")
        return types.SimpleNamespace(ok=True, month=month, actor=actor, run_id=1, problems=[], reason="")

    def breaches(self, session: Any, month: str) -> list:
        self._call("breaches")
        return s.breaches(month)

    def stored_result(self, session: Any, month: str) -> Any:
        self._call("stored_result")
        return s.result(month)

    def stored_indicators(self, session: Any, month: str) -> pd.DataFrame:
        self._call(f"stored_indicators {month}")
        return s.indicators() if month == s.MONTH else s.last_year() if month == "2030-10" else \
            pd.DataFrame(columns=list(INDICATOR_COLUMNS))

    def department_budgets(self, session: Any, month: str) -> dict[str, int]:
        self.calls.append(f"department_budgets {month}")
        return {"CARD": 1_200_000_00}

    def history(self, session: Any, centre: str, *, until: str, months: int = 12) -> pd.DataFrame:
        self.calls.append(f"history {centre} {months}")
        return s.history(centre)

    def load_definitions(self, on: date) -> list:
        self.calls.append(f"load_definitions {on}")
        return s.DEFINITIONS

    def open_cost_reviews(self, month: str, breaches: list, *, engine: object, result: Any = None) -> list[str]:
        self._call("open_cost_reviews")
        self.reviews.append((month, breaches, engine))
        return [f"{month}:{b.centre}:{b.indicator}" for b in breaches]


ENGINE = object()


@pytest.fixture
def fake(flow_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMonth]:
    """The flow's collaborators replaced by a FakeMonth (module attributes, so the flow's imports find them)."""
    import smartfin.processes.costreview.reviews as costreview
    from smartfin.camunda.client import EngineClient

    stand_in = FakeMonth()
    month_module = types.ModuleType("smartfin.costing.month")
    for name in ("load_inputs", "run_month", "breaches", "stored_result", "stored_indicators", "history",
                 "department_budgets"):
        setattr(month_module, name, getattr(stand_in, name))
    indicators_module = types.ModuleType("smartfin.costing.indicators")
    indicators_module.load_definitions = stand_in.load_definitions  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "smartfin.costing.month", month_module)
    monkeypatch.setitem(sys.modules, "smartfin.costing.indicators", indicators_module)
    monkeypatch.setattr(costreview, "open_cost_reviews", stand_in.open_cost_reviews)
    monkeypatch.setattr(EngineClient, "from_settings", classmethod(lambda cls, settings=None: ENGINE))
    yield stand_in


def test_month_parameter_and_default():
    assert last_closed_month(date(2031, 1, 5)) == "2030-12"
    assert last_closed_month(date(2031, 11, 30)) == "2031-10"
    assert parse_month(" 2031-10 ") == "2031-10"
    for bad in ("2031-13", "2031-1", "10/2031", "2031-10-01", ""):
        with pytest.raises(ValueError, match="YYYY-MM"):
            parse_month(bad)
    assert month_end("2031-12") == date(2031, 12, 31) and month_end("2032-02") == date(2032, 2, 29)


def test_cost_monthly_runs_each_stage_in_order_and_writes_the_reports(fake: FakeMonth):
    result = cost_monthly(month=s.MONTH)
    stages = [c for c in fake.calls if c in ("load_inputs", "run_month", "breaches", "open_cost_reviews")]
    assert stages == ["load_inputs", "run_month", "breaches", "open_cost_reviews"]
    last_read = len(fake.calls) - 1 - fake.calls[::-1].index("stored_result")
    assert fake.calls.index("open_cost_reviews") < last_read                          # reports come after
    assert f"load_definitions {date(2031, 10, 31)}" in fake.calls                      # read on the month's end
    assert "stored_indicators 2030-10" in fake.calls                                   # last year's, for the page
    assert {c for c in fake.calls if c.startswith("history")} == {f"history {c} 12" for c in
                                                                   ("CARD", "NEUR", "OPD", "EVIL")}
    # the reviews get the month's breaches and an engine client
    (month, breaches, engine), = fake.reviews
    assert month == s.MONTH and breaches == s.breaches() and engine is ENGINE
    assert result["reviews"] == [f"{s.MONTH}:CARD:materials_per_100_revenue", f"{s.MONTH}:CARD:cost_per_bed_day"]
    assert result["run"] == 1

    # total cost = every fen of direct cost (the sample conserves it)
    assert result["total_cost"] == "874456.79" and sum(s.DIRECT.values()) == 87_445_679
    folder = report_folder(s.MONTH)
    assert result["reports"] == str(folder) and result["pages"] == 4
    assert sorted(p.name for p in folder.iterdir()) == ["CARD.html", "EVIL.html", "NEUR.html", "OPD.html",
                                                        f"cost-{s.MONTH}.xlsx"]
    page = (folder / "CARD.html").read_text(encoding="utf-8")
    assert "心血管内科" in page and "¥524,567.89" in page and "<svg" in page and "超标 breach" in page
    book = openpyxl.load_workbook(io.BytesIO((folder / f"cost-{s.MONTH}.xlsx").read_bytes()))
    assert book.sheetnames == SHEETS
    marked = [r for r in table_rows(book["成本指标 Indicators"]) if r[7] == "是 yes"]
    assert len(marked) == 2


def test_cost_monthly_publishes_the_headline_table(fake: FakeMonth):
    state = cost_monthly(month=s.MONTH, return_state=True)
    assert state.is_completed()
    artifacts = _artifacts(state.state_details.flow_run_id)
    assert {"cost-monthly-summary", "cost-unit-costs", "cost-breaches", "cost-monthly-workbook",
            "cost-monthly-reports"} <= set(artifacts)
    summary = artifacts["cost-monthly-summary"]
    assert "¥874,456.79" in summary                                            # total cost
    assert "临床服务类 clinical | ¥704,456.79" in summary                       # direct cost of the clinical class
    assert "行政后勤类 administrative and logistics | ¥100,000.00" in summary
    # hospital cost per bed-day = (524,567.89 + 258,888.89) / 1,800 bed-days
    assert "全院床日成本 cost per bed-day (hospital) | ¥435.25" in summary
    assert "| 超标指标 Indicators off target | 2 |" in summary
    assert "心血管内科 (CARD)" in summary and "cost-2031-10.xlsx" in summary
    assert "None" not in summary and "nan" not in summary.lower()
    assert "¥524,567.89" not in artifacts["cost-unit-costs"] and "524.57" in artifacts["cost-unit-costs"]


def test_a_failed_stage_fails_the_run_naming_it_and_writes_nothing(fake: FakeMonth):
    fake.fail_at = "run_month"
    state = cost_monthly(month=s.MONTH, return_state=True)
    assert state.is_failed()
    with pytest.raises(CostMonthFailed) as failure:
        state.result()
    assert failure.value.stage == "compute and store 计算与发布"
    assert "compute and store" in str(failure.value) and "payroll.csv row 3, field amount" in str(failure.value)
    assert "open_cost_reviews" not in fake.calls and "breaches" not in fake.calls
    assert not report_folder(s.MONTH).exists()


def test_a_failed_review_stage_is_named_and_the_reports_are_not_written(fake: FakeMonth,
                                                                       monkeypatch: pytest.MonkeyPatch):
    import flows.cost

    monkeypatch.setattr(flows.cost, "open_review_processes",
                        flows.cost.open_review_processes.with_options(retry_delay_seconds=0))
    fake.fail_at = "open_cost_reviews"
    state = cost_monthly(month=s.MONTH, return_state=True)
    with pytest.raises(CostMonthFailed, match="open reviews"):
        state.result()
    assert fake.calls.count("open_cost_reviews") == 3                       # the task's two retries
    assert not report_folder(s.MONTH).exists()


def test_a_rerun_replaces_the_months_reports(fake: FakeMonth):
    cost_monthly(month=s.MONTH)
    folder = report_folder(s.MONTH)
    (folder / "note-from-earlier.txt").write_text("stale")
    fake.centres = tuple(c for c in s.CENTRES if c.code != "NEUR")        # NEUR merged away since
    again = cost_monthly(month=s.MONTH, open_reviews=False)
    assert again["pages"] == 3 and again["reviews"] == []
    assert sorted(p.name for p in folder.iterdir()) == ["CARD.html", "EVIL.html", "OPD.html", f"cost-{s.MONTH}.xlsx"]
    assert [p.name for p in folder.parent.iterdir()] == [s.MONTH]          # no partial or old folder left behind
    assert fake.calls.count("open_cost_reviews") == 1                       # --no-review opened none


def test_cost_monthly_is_scheduled_on_the_fifth(flow_env: Path):
    chosen = {f.name: f for f in scheduled_flows()}["cost-monthly"]
    assert chosen.cron == "30 7 5 * *" and chosen.flow is cost_monthly


def test_flows_run_cost_monthly_month_option(fake: FakeMonth):
    from smartfin.app.cli import app

    runner = CliRunner()
    done = runner.invoke(app, ["flows", "run", "cost-monthly", "--month", s.MONTH, "--no-review"])
    assert done.exit_code == 0, done.output
    assert "cost-monthly: Completed" in done.output and "'month': '2031-10'" in done.output
    assert "open_cost_reviews" not in fake.calls
    by_date = runner.invoke(app, ["flows", "run", "cost-monthly", "--date", "2031-10-15", "--no-review"])
    assert by_date.exit_code == 0 and "'month': '2031-10'" in by_date.output
    bad = runner.invoke(app, ["flows", "run", "cost-monthly", "--month", "2031-13"])
    assert bad.exit_code == 2 and "YYYY-MM" in bad.output
    other = runner.invoke(app, ["flows", "run", "budget-monthly", "--month", s.MONTH])
    assert other.exit_code == 2 and "--month is a parameter of cost-monthly" in other.output


# ------------------------------------------------------------------------------ end to end (generated data)

def test_cost_monthly_end_to_end_on_a_generated_hospital(flow_env: Path, tmp_path: Path):
    """Generated month → department master data → the product's cost imports → the flow → reports that hold
    every fen of the month's cost; run twice, the month is replaced, never added to."""
    from sqlmodel import col, select

    from smartfin.costing import samples
    from smartfin.ledger import Department
    from smartfin.store.db import session_scope

    month = "2031-10"
    inputs = samples.generate_month(month, centres=24, items=60, charge_lines=3000, cases=120, seed=7)
    codes = [c.code for c in inputs.centres]
    try:
        imported = samples.import_month_files(samples.write_month_files(inputs, tmp_path), month, actor="finance")
        assert imported["charges"] == len(inputs.charges) and imported["departments"] == len(codes)
        _run_and_check(month, inputs)
    finally:
        with session_scope() as session:  # the suite's other tests run without department master data
            for row in session.exec(select(Department).where(col(Department.code).in_(codes))).all():
                session.delete(row)


def _run_and_check(month: str, inputs: Any) -> None:
    from smartfin.kernel.money import from_fen

    result = cost_monthly(month=month, open_reviews=False)
    expected_fen = int(inputs.direct["amount_fen"].sum()) + int(inputs.shared["amount_fen"].sum())
    assert result["total_cost"] == str(from_fen(expected_fen))
    clinical = [c for c in inputs.centres if c.cost_class.value == "clinical"]
    folder = Path(result["reports"])
    assert result["pages"] == len(clinical)
    assert {p.name for p in folder.glob("*.html")} == {f"{c.code}.html" for c in clinical}
    for centre in clinical:
        page = (folder / f"{centre.code}.html").read_text(encoding="utf-8")
        assert centre.name in page and "<svg" in page and "None" not in page
    book = openpyxl.load_workbook(io.BytesIO((folder / f"cost-{month}.xlsx").read_bytes()))
    assert book.sheetnames == SHEETS
    costs = book["科室成本 Centre costs"]
    assert costs["A1"].value == "科室成本表 Department costs" and month in costs["A2"].value
    assert costs.freeze_panes == f"A{header_row(costs) + 1}" and header(costs)[6] == "合计 Total"
    total = sum(Decimal(str(r[6])) for r in table_rows(costs))
    assert total * 100 == expected_fen
    # a re-run of the month replaces the stored result and the reports
    again = cost_monthly(month=month, open_reviews=False)
    assert again["total_cost"] == result["total_cost"]
    assert [p.name for p in folder.parent.iterdir()] == [month]
