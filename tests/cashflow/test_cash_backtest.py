"""The forecast's accuracy on a generated hospital whose history is known: forecast against the actual weekly
closing balance from many origins, mean absolute percentage error per horizon."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from smartfin.cashflow.backtest import Backtest, run_backtest, weekly_origins
from smartfin.cashflow.report import backtest_html, backtest_workbook
from smartfin.cashflow.samples import generate_hospital


@pytest.fixture(scope="module")
def backtest() -> tuple[Backtest, Decimal]:
    hospital = generate_hospital(seed=11)
    balances = hospital.balances()
    origins = weekly_origins(hospital.start + timedelta(days=400), hospital.end)
    model = run_backtest(lambda day: hospital.inputs_at(day, balances), balances.__getitem__, origins)
    # the same-run baseline: "the balance stays where it is", what a hospital without a forecast assumes
    flat = sum((abs(Decimal(balances[o] - balances[o + timedelta(days=28)])) * 100
                / abs(Decimal(balances[o + timedelta(days=28)])) for o in origins), Decimal(0)) / len(origins)
    return model, flat


def test_mape_at_four_weeks_is_within_five_percent(backtest: tuple[Backtest, Decimal]) -> None:
    model, _ = backtest
    assert len(model.origins) >= 80
    assert model.at(4) <= Decimal(5), f"MAPE per horizon {model.mape}"


def test_the_model_beats_a_flat_balance(backtest: tuple[Backtest, Decimal]) -> None:
    model, flat = backtest
    assert model.at(4) * 2 < flat, (model.mape, flat)


def test_error_grows_with_the_horizon(backtest: tuple[Backtest, Decimal]) -> None:
    model, _ = backtest
    assert model.at(1) <= model.at(13)


def test_reports_chart_forecast_against_actual(backtest: tuple[Backtest, Decimal]) -> None:
    model, _ = backtest
    html = backtest_html(model)
    assert "<svg" in html and "polyline" in html and f"{model.at(4)}%" in html
    assert backtest_workbook(model)[:2] == b"PK"
