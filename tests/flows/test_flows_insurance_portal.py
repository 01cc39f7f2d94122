"""insurance-monthly with the settlement portal and the engine: the month's files downloaded by the bot from the
stand-in portal before the run, the refused and deducted items batched per department with one
``insurance-appeal`` process each; a second run fetches nothing new and opens nothing new. A month the portal
has not published refuses the run, naming the portal."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import requests
from sqlmodel import select

from flows.insurance import PORTAL_INPUT, InsuranceInputRefused, insurance_monthly
from portals.auth import PortalUser
from portals.config import PortalConfig
from portals.runner import RunningPortals, start_portals
from smartfin.camunda.client import EngineClient
from smartfin.insurance.samples import generate_clearing, write_month_files
from smartfin.insurance.tables import AppealBatch, InsuranceImport
from smartfin.store.db import session_scope

pytestmark = [pytest.mark.browser, pytest.mark.engine]
ADMIN_TOKEN = "insurance-flow-admin-token"
CLERK = PortalUser("yb-flow", "yb-Flow-5kq", "医保结算员 流程")
HOSPITAL = "H001"
MONTH = "2032-03"           # a month no other test's statement holds
UNPUBLISHED = "2032-01"
AS_OF = date(2032, 4, 5)    # the appeal window (10 days from the 20 April statement) is still open


@pytest.fixture(scope="module")
def insurance_portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPortals]:
    running = start_portals(PortalConfig(data_dir=tmp_path_factory.mktemp("insurance-flow-portal"),
                                         admin_token=ADMIN_TOKEN, users={"insurance": [CLERK]}))
    yield running
    running.stop()


@pytest.fixture
def portal_env(flow_env: Path, insurance_portal: RunningPortals, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    from bots.runtime import reset_bot_runtime
    from smartfin.kernel.settings import get_settings

    for name, value in {"INSURANCE_URL": insurance_portal.urls["insurance"], "INSURANCE_ACCOUNT": CLERK.username,
                        "INSURANCE_PASSWORD": CLERK.password, "INSURANCE_SOURCE": "portal",
                        "INSURANCE_APPEALS": "true", "BOT_STEP_TIMEOUT_MS": "8000",
                        "BOT_RETRY_DELAY_S": "0.2"}.items():
        monkeypatch.setenv(f"SMARTFIN_{name}", value)
    get_settings.cache_clear()
    reset_bot_runtime()
    yield flow_env
    reset_bot_runtime()
    get_settings.cache_clear()


def publish(portals: RunningPortals, month: str, files: dict[str, Path]) -> None:
    for kind, path in files.items():
        response = requests.put(f"{portals.urls['insurance']}/__admin/files/{month}/{kind}", data=path.read_bytes(),
                                headers={"X-Admin-Token": ADMIN_TOKEN}, timeout=10)
        assert response.ok, response.text


def test_the_month_is_fetched_then_its_appeals_opened_once(camunda: EngineClient, insurance_portal: RunningPortals,
                                                           portal_env: Path, tmp_path: Path) -> None:
    sample = generate_clearing(MONTH, HOSPITAL, cases=60, late=None)
    publish(insurance_portal, MONTH, write_month_files(sample, tmp_path / "fund"))
    departments = sorted(set(sample.items["department"]))

    first = insurance_monthly(month=MONTH, as_of=AS_OF)

    assert first["imports"] == {"clearing (portal)": "imported", "clearing_items (portal)": "imported",
                                "group (portal)": "imported"}
    assert first["statements"] == len(sample.statements) and first["items"] == len(sample.items)
    assert sorted(first["appeals"]) == sorted(f"INS-APPEAL-{MONTH}-{d}-1" for d in departments)
    with session_scope() as session:
        batches = session.exec(select(AppealBatch).where(AppealBatch.month == MONTH)).all()
        assert sorted(b.department for b in batches) == departments
        assert all(b.process_instance_id for b in batches)
        assert sum(b.amount_fen for b in batches) == int(sample.items["amount_fen"].sum())
    for key in first["appeals"]:
        [instance] = camunda.get("/history/process-instance", processDefinitionKey="insurance-appeal",
                                 processInstanceBusinessKey=key)
        assert instance["state"] == "ACTIVE"

    again = insurance_monthly(month=MONTH, as_of=AS_OF)

    assert set(again["imports"].values()) == {"unchanged"}
    assert again["appeals"] == [] and again["run_count"] == 2
    with session_scope() as session:
        assert len(session.exec(select(InsuranceImport).where(InsuranceImport.period == MONTH)).all()) == 3
    for key in first["appeals"]:
        assert len(camunda.get("/history/process-instance", processInstanceBusinessKey=key)) == 1


def test_a_month_the_portal_has_not_published_refuses_the_run(portal_env: Path) -> None:
    state = insurance_monthly(month=UNPUBLISHED, as_of=AS_OF, return_state=True)
    assert state.is_failed()
    with pytest.raises(InsuranceInputRefused, match="InsuranceMonthMissing"):
        state.result()
    with session_scope() as session:
        assert session.exec(select(AppealBatch).where(AppealBatch.month == UNPUBLISHED)).all() == []


def test_without_the_settings_the_flow_neither_fetches_nor_opens_appeals(flow_env: Path,
                                                                        tmp_path: Path) -> None:
    from flows.sources import insurance_dir

    month = "2032-05"
    sample = generate_clearing(month, HOSPITAL, cases=40, late=None)
    write_month_files(sample, insurance_dir(flow_env, HOSPITAL, month))
    result = insurance_monthly(month=month, as_of=date(2032, 6, 25))
    assert set(result["imports"]) == {"clearing", "clearing_items", "group"} and result["appeals"] == []
    with session_scope() as session:
        assert session.exec(select(AppealBatch).where(AppealBatch.month == month)).all() == []
    assert PORTAL_INPUT not in result["refused"]
