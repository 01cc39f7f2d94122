"""The insurance settlement portal bot against the stand-in portal, with real Chromium.

The fund's files of a generated month are published on the stand-in; the bot logs in, downloads the month's
clearing statement and detail files, the product archives and imports them; a second fetch imports nothing;
a month the fund has not published fails with evidence, a refused login without leaking the password.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from bots_fixtures import ADMIN_TOKEN, quick_runtime
from sqlmodel import select

from bots.errors import LoginRefused
from bots.insurance_portal import InsuranceMonthMissing, download_month
from bots.runtime import BotRuntime
from portals.auth import PortalUser
from portals.config import PortalConfig
from portals.runner import RunningPortals, start_portals
from smartfin.app.insurance_downloads import fetch_clearing_month
from smartfin.insurance.samples import generate_clearing, write_month_files
from smartfin.insurance.tables import ClearingItem, ClearingStatement, InsuranceImport
from smartfin.store.archive import read_archived
from smartfin.store.db import session_scope
from tests.support.settings import environment

CLERK = PortalUser("yb-test", "yb-Secret-4pw", "医保结算员 测试")
MONTH = "2009-07"


@pytest.fixture(scope="module")
def insurance_portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPortals]:
    config = PortalConfig(data_dir=tmp_path_factory.mktemp("insurance-portal"), admin_token=ADMIN_TOKEN,
                          users={"insurance": [CLERK]})
    running = start_portals(config)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def runtime(insurance_portal: RunningPortals) -> Iterator[BotRuntime]:
    values = {"SMARTFIN_INSURANCE_URL": insurance_portal.urls["insurance"],
              "SMARTFIN_INSURANCE_ACCOUNT": CLERK.username, "SMARTFIN_INSURANCE_PASSWORD": CLERK.password}
    with environment(values) as settings:
        shared = quick_runtime(settings)
        yield shared
        shared.close()


def publish(portals: RunningPortals, month: str, files: dict[str, Path]) -> None:
    for kind, path in files.items():
        response = requests.put(f"{portals.urls['insurance']}/__admin/files/{month}/{kind}", data=path.read_bytes(),
                                headers={"X-Admin-Token": ADMIN_TOKEN}, timeout=10)
        assert response.ok, response.text


def test_the_month_is_downloaded_archived_and_imported_once(insurance_portal, runtime, tmp_path):  # type: ignore[no-untyped-def]
    sample = generate_clearing(MONTH, "H001", cases=40)
    files = write_month_files(sample, tmp_path / "fund")
    publish(insurance_portal, MONTH, files)

    fetched = fetch_clearing_month(MONTH, hospital="H001", runtime=runtime)
    assert [(f.kind, f.imported) for f in fetched] == [("clearing", True), ("clearing_items", True),
                                                      ("group", True)]
    for f in fetched:
        assert read_archived(f.sha256) == files[f.kind].read_bytes()
    with session_scope() as session:
        statements = session.exec(select(ClearingStatement).where(ClearingStatement.month == MONTH)).all()
        items = session.exec(select(ClearingItem).where(ClearingItem.month == MONTH)).all()
        imports = session.exec(select(InsuranceImport).where(InsuranceImport.period == MONTH)).all()
    assert len(statements) == len(sample.statements) and len(items) == len(sample.items) > 0
    assert len(imports) == 3

    again = fetch_clearing_month(MONTH, hospital="H001", runtime=runtime)
    assert [f.imported for f in again] == [False, False, False]
    with session_scope() as session:
        assert len(session.exec(select(InsuranceImport).where(InsuranceImport.period == MONTH)).all()) == 3


def test_a_month_not_published_fails_with_evidence(insurance_portal, runtime):  # type: ignore[no-untyped-def]
    with pytest.raises(InsuranceMonthMissing) as failure:
        download_month("2009-01", runtime=runtime)
    assert failure.value.evidence and Path(failure.value.evidence).exists()


def test_a_refused_login_fails_without_the_password_in_the_error(insurance_portal, runtime):  # type: ignore[no-untyped-def]
    # another account (a saved login of the clerk would be reused), with a password the portal refuses
    with environment({"SMARTFIN_INSURANCE_ACCOUNT": "yb-nobody",
                      "SMARTFIN_INSURANCE_PASSWORD": "wrong-password"}) as settings:
        broken = quick_runtime(settings)
        try:
            with pytest.raises(LoginRefused) as failure:
                download_month(MONTH, runtime=broken, settings=settings)
        finally:
            broken.close()
    assert "wrong-password" not in str(failure.value)
