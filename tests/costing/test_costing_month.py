"""The ledger's actuals as direct costs, the month's run published atomically (and replaced by a re-run), a
failing month publishing nothing, and ``smartfin cost show`` — the computation stood in for (conftest)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from smartfin.app.cli import app
from smartfin.costing.actuals import actual_direct_costs
from smartfin.costing.model import CostInputError, CostItem
from smartfin.costing.month import breaches, history, load_inputs, run_month, stored_indicators, stored_result
from smartfin.costing.tables import CentreCost, CostRun
from smartfin.ledger.keys import Bucket
from smartfin.ledger.models import BudgetLine, JournalEntry
from smartfin.store.db import get_engine
from tests.costing.conftest import DEPARTMENTS, HIS_MAP, MONTH, load
from tests.support.settings import environment


def _actual(session: Session, department: str, code: str, fen: int, day: date) -> None:
    line = session.exec(select(BudgetLine).where(BudgetLine.department == department,
                                                 BudgetLine.economic_code == code)).first()
    if line is None:
        line = BudgetLine(fiscal_year=day.year, department=department, economic_code=code, funding_source="fiscal")
        session.add(line)
        session.flush()
    session.add(JournalEntry(line_id=line.id, bucket=Bucket.ACTUAL.value, amount_fen=fen, document_type="voucher",
                             document_no=f"V{code}{fen}", actor="test", effective_on=day))
    session.flush()


def _ledger(engine: Engine) -> None:
    with Session(engine) as session:
        _actual(session, "CARD", "30101", 500_000, date(2026, 10, 5))      # wages → personnel
        _actual(session, "CARD", "30218", 80_000, date(2026, 10, 31))      # 专用材料费 → materials
        _actual(session, "CARD", "30218", -30_000, date(2026, 10, 31))     # a reversal nets
        _actual(session, "ADM", "30213", 20_000, date(2026, 10, 1))        # 维修费 → other
        _actual(session, "ADM", "39999", 1_000, date(2026, 10, 1))         # unmapped → other, noted
        _actual(session, "ADM", "31002", 900_000, date(2026, 10, 2))       # capital: left out
        _actual(session, "ADM", "30213", 7_000, date(2026, 11, 1))         # next month
        session.add(JournalEntry(line_id=1, bucket=Bucket.ENCUMBRANCE.value, amount_fen=5, document_type="c",
                                 document_no="C1", actor="test", effective_on=date(2026, 10, 3)))
        session.commit()


def test_ledger_actuals_map_to_cost_items_and_imports_win(hospital: Engine) -> None:
    _ledger(hospital)
    with Session(hospital) as session:
        frame, notes = actual_direct_costs(session, MONTH, imported_items=set())
        rows = sorted(map(tuple, frame.values.tolist()))
        assert rows == [("ADM", "other", 21_000, "ledger"), ("CARD", "materials", 50_000, "ledger"),
                        ("CARD", "personnel", 500_000, "ledger")]
        assert any("ADM/39999" in n and "counted as other" in n for n in notes)
        assert any("ADM/31002" in n and "capital" in n for n in notes)
        without, notes = actual_direct_costs(session, MONTH, imported_items={CostItem.PERSONNEL})
        assert "personnel" not in set(without["cost_item"])
        assert any("CARD/30101 ¥5000.00: personnel comes from the month's imports" in n for n in notes)
    # a payroll file for the month: personnel from the file only, the ledger's other items stay
    assert load(hospital, "payroll", "centre,amount\nCARD,4800\n").ok
    with Session(hospital) as session:
        direct = load_inputs(session, MONTH).direct
    assert sorted(map(tuple, direct.values.tolist())) == [
        ("ADM", "other", 21_000, "ledger"), ("CARD", "materials", 50_000, "ledger"),
        ("CARD", "personnel", 480_000, "payroll")]


def test_ledger_actuals_of_a_department_not_in_force_fail_the_inputs(hospital: Engine) -> None:
    with Session(hospital) as session:
        _actual(session, "GONE", "30101", 1, date(2026, 10, 5))
        session.commit()
        with pytest.raises(CostInputError, match="department GONE is not a cost centre in force on 2026-10-31"):
            load_inputs(session, MONTH)


def test_a_month_is_published_whole_and_a_rerun_replaces_it(hospital: Engine, simple_calculator) -> None:  # type: ignore[no-untyped-def]
    _ledger(hospital)
    first = run_month(MONTH, actor="finance-officer", engine=hospital)
    assert first.ok and first.direct_fen == first.total_fen == 571_000
    with Session(hospital) as session:
        result = stored_result(session, MONTH)
        assert result is not None
        assert sorted(map(tuple, result.matrix.values.tolist())) == [(1, "ADM", "CARD", "other", 21_000)]
        assert int(result.centre_costs["total_fen"].sum()) == 571_000
        assert result.unit_costs[["centre", "units", "unit_cost"]].values.tolist() == [
            ["CARD", Decimal(10), Decimal("571")], ["ORTH", Decimal(10), Decimal(0)]]
        indicators = stored_indicators(session, MONTH)
        assert indicators.loc[indicators["centre"] == "", "value"].tolist() == [None]
        assert [(b.centre, b.value, b.target) for b in breaches(session, MONTH)] == [
            ("CARD", Decimal("5710"), Decimal("1000"))]

    assert load(hospital, "payroll", "centre,amount\nCARD,100\n").ok   # personnel now from the file
    second = run_month(MONTH, actor="finance-officer", engine=hospital)
    assert second.ok and second.total_fen == 81_000
    with Session(hospital) as session:
        runs = [(r.id, r.status) for r in session.exec(select(CostRun).order_by(CostRun.id)).all()]
        assert runs == [(first.run_id, "superseded"), (second.run_id, "published")]
        stored = session.exec(select(CentreCost)).all()
        assert {c.run_id for c in stored} == {second.run_id}
        assert sum(c.total_fen for c in stored) == 81_000
        trend = history(session, "CARD", until="2026-11")
        assert trend[["month", "total_fen"]].values.tolist() == [["2026-10", 81_000]]


def test_a_failing_month_publishes_nothing_and_keeps_the_earlier_run(hospital: Engine, simple_calculator) -> None:  # type: ignore[no-untyped-def]
    _ledger(hospital)
    good = run_month(MONTH, actor="finance-officer", engine=hospital)
    simple_calculator.fail_with = CostInputError([("centre CSSD", "driver packs totals zero")])
    failed = run_month(MONTH, actor="finance-officer", engine=hospital)
    assert not failed.ok and failed.problems == [("centre CSSD", "driver packs totals zero")]
    simple_calculator.fail_with = RuntimeError("disk full")
    with pytest.raises(RuntimeError):
        run_month(MONTH, actor="finance-officer", engine=hospital)
    with Session(hospital) as session:
        runs = [(r.status, r.reason) for r in session.exec(select(CostRun).order_by(CostRun.id)).all()]
        assert runs == [("published", ""), ("failed", "centre CSSD: driver packs totals zero"),
                        ("failed", "run: RuntimeError: disk full")]
        assert {c.run_id for c in session.exec(select(CentreCost)).all()} == {good.run_id}
        assert stored_result(session, "2026-09") is None


def test_a_month_whose_ledger_books_to_an_unknown_department_fails(hospital: Engine, simple_calculator) -> None:  # type: ignore[no-untyped-def]
    with Session(hospital) as session:
        _actual(session, "GONE", "30101", 1, date(2026, 10, 5))
        session.commit()
    summary = run_month(MONTH, actor="finance-officer", engine=hospital)
    assert not summary.ok and "GONE" in summary.reason and simple_calculator.calls == 0


# -------------------------------------------------------------------------------------------------- CLI

runner = CliRunner()


@pytest.fixture
def var_dir(tmp_path: Path) -> Iterator[Path]:
    with environment({"SMARTFIN_VAR_DIR": str(tmp_path), "SMARTFIN_DATABASE_URL": ""}):
        get_engine.cache_clear()
        yield tmp_path
    get_engine.cache_clear()


def test_cost_cli_imports_runs_and_shows_a_centre(var_dir: Path, simple_calculator) -> None:  # type: ignore[no-untyped-def]
    files = {"d.csv": DEPARTMENTS, "map.csv": HIS_MAP, "payroll.csv": "科室,金额\nCARD,5000\nADM,210\n",
             "bad.csv": "centre,amount\nNOPE,1\n"}
    for name, text in files.items():
        (var_dir / name).write_bytes(text.encode("gbk"))
    assert runner.invoke(app, ["departments", "import", str(var_dir / "d.csv")]).exit_code == 0
    mapped = runner.invoke(app, ["cost", "import", "his-map", str(var_dir / "map.csv")])
    assert mapped.exit_code == 0, mapped.output
    no_month = runner.invoke(app, ["cost", "import", "payroll", str(var_dir / "payroll.csv")])
    assert no_month.exit_code == 2 and "give --month YYYY-MM" in no_month.output
    bad = runner.invoke(app, ["cost", "import", "payroll", str(var_dir / "bad.csv"), "--month", MONTH])
    assert bad.exit_code == 3 and "row 2, column centre: cost centre 'NOPE' is not a department" in bad.output
    ok = runner.invoke(app, ["cost", "import", "payroll", str(var_dir / "payroll.csv"), "--month", MONTH])
    assert ok.exit_code == 0 and "2 rows of payroll for 2026-10" in ok.output

    not_run = runner.invoke(app, ["cost", "show", "CARD", "--month", MONTH])
    assert not_run.exit_code == 3 and "no published cost run for 2026-10" in not_run.output
    ran = runner.invoke(app, ["cost", "run", "--month", MONTH])
    assert ran.exit_code == 0, ran.output
    assert "published" in ran.output and "direct ¥5210.00, after allocation ¥5210.00" in ran.output

    shown = runner.invoke(app, ["cost", "show", "CARD", "--month", MONTH])
    assert shown.exit_code == 0, shown.output
    assert "CARD 心血管内科 — cost 2026-10: total ¥5210.00 (direct ¥5000.00, allocated ¥210.00)" in shown.output
    assert "stage 1  ADM 院办: ¥210.00" in shown.output
    assert "indicator total_yuan: 5210 (target 1000)" in shown.output
    document = json.loads(runner.invoke(app, ["cost", "show", "CARD", "--month", MONTH, "--json"]).output)
    assert document["items"] == [{"cost_item": "personnel", "direct": "5000.00", "allocated": "210.00",
                                  "total": "5210.00"}]
    assert document["allocated_from"] == [{"stage": 1, "from": "ADM", "from_name": "院办", "amount": "210.00"}]
    assert runner.invoke(app, ["cost", "run", "--month", "2026-1"]).exit_code == 2


def test_department_budgets_are_the_authority_in_effect_at_the_months_end(engine: Engine) -> None:
    """Budget and adjustments per department, every funding source, as they stood on the month's last day: an
    adjustment effective later in the year is not yet counted."""
    from smartfin.costing.month import department_budgets
    from smartfin.ledger import BudgetLineKey, adjust, create_line

    with Session(engine) as session:
        create_line(session, BudgetLineKey(2026, "CARD", "30218", "fiscal"), actor="t", budget="600000.00",
                    document_no="B-1")
        create_line(session, BudgetLineKey(2026, "CARD", "30215", "own"), actor="t", budget="120000.00",
                    document_no="B-1")
        create_line(session, BudgetLineKey(2026, "RAD", "30213", "fiscal"), actor="t", budget="50000.00",
                    document_no="B-1")
        create_line(session, BudgetLineKey(2025, "CARD", "30218", "fiscal"), actor="t", budget="999.00",
                    document_no="B-0")
        adjust(session, BudgetLineKey(2026, "CARD", "30218", "fiscal"), "-60000.00", document_no="ADJ-1",
               actor="t", reason="院长办公会", effective_on=date(2026, 9, 1))
        adjust(session, BudgetLineKey(2026, "RAD", "30213", "fiscal"), "10000.00", document_no="ADJ-2",
               actor="t", reason="院长办公会", effective_on=date(2026, 11, 1))
        session.commit()
        assert department_budgets(session, "2026-10") == {"CARD": 66_000_000, "RAD": 5_000_000}
        assert department_budgets(session, "2026-11") == {"CARD": 66_000_000, "RAD": 6_000_000}
        assert department_budgets(session, "2024-10") == {}
