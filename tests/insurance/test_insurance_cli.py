"""`smartfin insurance`: import refuses a bad file naming row and column; a day reconciled; batches listed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from smartfin.app.cli import app
from smartfin.insurance.samples import SampleDays, generate_clearing, write_day_files, write_month_files
from tests.insurance.conftest import DAY


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    from smartfin.kernel.settings import get_settings
    from smartfin.store import db

    monkeypatch.setenv("SMARTFIN_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    yield tmp_path
    monkeypatch.delenv("SMARTFIN_DATABASE_URL")
    get_settings.cache_clear()
    db.get_engine.cache_clear()


def test_import_reconcile_list_and_batch(database: Path, sample_day: SampleDays) -> None:
    runner = CliRunner()
    paths = write_day_files(sample_day, database / "day", DAY)
    for kind, path in paths.items():
        result = runner.invoke(app, ["insurance", "import", kind, str(path), "--period", DAY.isoformat()])
        assert result.exit_code == 0, result.output
    again = runner.invoke(app, ["insurance", "import", "his", str(paths["his"]), "--period", DAY.isoformat()])
    assert again.exit_code == 3 and "is the same file as 'his.csv'" in again.output
    daily = runner.invoke(app, ["insurance", "daily", "--date", DAY.isoformat()])
    assert daily.exit_code == 0 and f"{len(sample_day.truth)} exceptions" in daily.output
    listed = runner.invoke(app, ["insurance", "exceptions", "--period", DAY.isoformat()])
    assert "重复结算 Duplicate" in listed.output
    month = generate_clearing("2026-10", "H001")
    files = write_month_files(month, database / "month")
    for kind in ("clearing", "clearing_items"):
        imported = runner.invoke(app, ["insurance", "import", kind, str(files[kind]), "--period", "2026-10"])
        assert imported.exit_code == 0, imported.output
    batched = runner.invoke(app, ["insurance", "appeals", "batch", "--month", "2026-10"])
    assert f"{month.items['department'].nunique()} new appeal batches" in batched.output
    assert "INS-APPEAL-2026-10-D01-1: open" in runner.invoke(app, ["insurance", "appeals", "list"]).output


def test_a_bad_file_is_refused_with_its_rows(database: Path) -> None:
    bad = database / "platform.csv"
    bad.write_text("结算日期,结算流水号,人员编号,险种类型,医疗类别,医疗费总额,统筹基金支付,个人账户支付,个人现金支付,"
                   "大病保险支付,医疗救助支付\n2026-11-03,JS1,I1,职工,门诊,1O0.00,60.00,10.00,30.00,0,0\n",
                   encoding="utf-8")
    result = CliRunner().invoke(app, ["insurance", "import", "platform", str(bad), "--period", "2026-11-03"])
    assert result.exit_code == 3
    assert "platform.csv, row 2, column '医疗费总额': '1O0.00' is not an amount" in result.output
