"""The insurance part of `smartfin demo`, twice, against the real engine, a stand-in settlement portal and the
session's Prefect server: officers recorded, yesterday reconciled with exceptions, last month fetched by the
bot and cleared, one appeal per demo department waiting in Tasklist — each exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import col, select

from flows.demo.insurance import ADMIN_TOKEN_FILE, OFFICERS, insurance_demo
from portals.auth import PortalUser
from portals.config import PortalConfig
from portals.runner import RunningPortals, start_portals
from smartfin.camunda.client import EngineClient
from smartfin.insurance.tables import AppealBatch, InsuranceImport, InsuranceRun
from smartfin.kernel.clock import hospital_today, hospital_yesterday, shift_month
from smartfin.kernel.settings import Settings, get_settings
from smartfin.processes.insuranceappeal.appeals import AppealOfficer
from smartfin.store.audit import AuditEntry
from smartfin.store.db import session_scope

pytestmark = [pytest.mark.browser, pytest.mark.engine]
TOKEN = "insurance-demo-admin-token"
CLERK = PortalUser("yb-demo", "yb-Demo-3xq", "医保结算员 演示")


@pytest.fixture
def demo_portal(flow_env: Path, tmp_path_factory: pytest.TempPathFactory,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    from bots.runtime import reset_bot_runtime

    running: RunningPortals = start_portals(PortalConfig(data_dir=tmp_path_factory.mktemp("demo-insurance"),
                                                         admin_token=TOKEN, users={"insurance": [CLERK]}))
    for name, value in {"INSURANCE_URL": running.urls["insurance"], "INSURANCE_ACCOUNT": CLERK.username,
                        "INSURANCE_PASSWORD": CLERK.password}.items():
        monkeypatch.setenv(f"SMARTFIN_{name}", value)
    get_settings.cache_clear()
    settings = get_settings()
    token = settings.var_dir / "portals" / ADMIN_TOKEN_FILE   # where `smartfin up`'s stand-ins keep theirs
    token.parent.mkdir(parents=True, exist_ok=True)
    token.write_text(TOKEN, encoding="utf-8")
    reset_bot_runtime()
    try:
        yield settings
    finally:
        reset_bot_runtime()
        token.unlink()
        running.stop()
        get_settings.cache_clear()


def test_the_insurance_demo_twice_adds_everything_once(camunda: EngineClient, demo_portal: Settings) -> None:
    settings = demo_portal
    said: list[str] = []
    first = insurance_demo(settings, said.append, "li.na")
    again = insurance_demo(settings, said.append, "li.na")

    month = shift_month(f"{hospital_today():%Y-%m}", -1)
    day = hospital_yesterday().isoformat()
    # the flows' demo test may have run the step before (one session database): then everything is there already
    assert sum("earlier run" in line for line in said) >= 3, said
    with session_scope() as session:
        officers = session.exec(select(AppealOfficer).where(AppealOfficer.user_id.in_(OFFICERS.values()))).all()
        assert sorted((o.department, o.user_id) for o in officers) == sorted(OFFICERS.items())
        daily = session.exec(select(InsuranceRun).where(InsuranceRun.period == day)).one()
        monthly = session.exec(select(InsuranceRun).where(InsuranceRun.period == month)).one()
        assert daily.run_count == 1 and daily.exception_count > 0
        assert monthly.run_count == 1
        assert len(session.exec(select(InsuranceImport).where(InsuranceImport.period == month)).all()) == 3
        fetched = session.exec(select(AuditEntry).where(AuditEntry.action == "insurance-file-fetched",
                                                        col(AuditEntry.subject_id).startswith(f"{month}/"))).all()
        assert len(fetched) == 3, "the month's files were fetched from the portal by the bot, once"
        batches = session.exec(select(AppealBatch).where(AppealBatch.month == month)).all()
        assert sorted(b.department for b in batches) == sorted(OFFICERS)
        keys = {b.department: b.business_key for b in batches}
    for key in keys.values():
        [task] = camunda.get("/task", processInstanceBusinessKey=key)
        assert task["taskDefinitionKey"] == "decideAppeal"
    waiting = dict(first[1:])
    assert keys["CARD"] in waiting["gao.yan"] and keys["MED"] in waiting["tang.bo"]
    assert first[0][0] == "li.na" and f"insurance/{month}/index.html" in first[0][1]
    assert [who for who, _ in again] == [who for who, _ in first]
