"""Claims and equipment proposals are booked only to departments in force, once master data is loaded."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from smartfin.kernel.clock import hospital_today
from smartfin.ledger import import_departments
from smartfin.processes.procurement.proposals import ProposalRefused, validate_submission
from smartfin.processes.reimbursement.claims import Claim, ClaimRefused, submit_claim, validate_claim


def departments(today: date) -> str:
    """T-BX in force; T-OLD closed the day before ``today``."""
    return ("code,name,class,valid_from,valid_to\n"
            "T-BX,测试科室,临床服务类,2020-01-01,\n"
            f"T-OLD,测试撤销科室,临床服务类,2020-01-01,{today - timedelta(days=1)}\n")


def claim(department: str) -> dict[str, Any]:
    return {"claimant": "zhang.wei", "department": department, "category": "office", "purpose": "办公用品",
            "fundingSource": "fiscal"}


class StartingEngine:
    """The engine as the submission sees it: every named user exists; a start is recorded, never made."""

    user = "smartfin-service"

    def __init__(self) -> None:
        self.started: list[str] = []

    def get(self, path: str, **params: Any) -> list[dict[str, Any]]:
        return [{"id": params["id"]}] if path == "/user" else []

    def start_process(self, key: str, business_key: str, variables: dict[str, Any]) -> dict[str, Any]:
        self.started.append(business_key)
        return {"id": "pi-1"}


def load(db: Engine, today: date) -> None:
    with Session(db) as session:
        assert import_departments(session, departments(today).encode(), actor="test", filename="d.csv").ok
        session.commit()


def test_any_department_before_master_data_then_only_those_in_force(sqlite_db: Engine) -> None:
    today = hospital_today()  # the claim is checked on the day given, whatever the clock says meanwhile
    with Session(sqlite_db) as session:
        assert validate_claim(claim("T-ANY"), today=today, session=session).department == "T-ANY"
    load(sqlite_db, today)
    with Session(sqlite_db) as session:
        assert validate_claim(claim("T-BX"), today=today, session=session).department == "T-BX"
        for code in ("T-ANY", "T-OLD"):
            with pytest.raises(ClaimRefused) as refused:
                validate_claim(claim(code), today=today, session=session)
            assert [name for name, _ in refused.value.problems] == ["department"]
            assert f"department {code} is unknown or not active on {today}" in str(refused.value)


def test_a_claim_for_an_unknown_department_is_refused_before_anything_is_stored(sqlite_db: Engine) -> None:
    load(sqlite_db, hospital_today())
    engine = StartingEngine()
    with pytest.raises(ClaimRefused, match="department T-NOPE is unknown"):
        submit_claim([], engine=engine, db=sqlite_db, **{k: v for k, v in claim("T-NOPE").items()
                                                        if k != "fundingSource"})
    assert engine.started == []
    with Session(sqlite_db) as session:
        assert session.exec(select(Claim)).all() == []


def test_a_proposal_names_an_unknown_department(sqlite_db: Engine) -> None:
    values = {"proposer": "li.na", "department": "T-OLD", "deviceName": "彩色多普勒超声", "equipmentClass": "B",
              "price": "800000", "roomArea": "20", "roomCostPerM2": "5000", "roomDepreciationYears": 50,
              "monthlyVolume": 900, "pricePerExam": "150", "staffCount": 2, "annualCostPerStaff": "120000",
              "annualMaterials": "30000", "annualMaintenance": "40000", "annualUtilities": "3000",
              "managementFeeRatePct": "1", "fundingSource": "own", "economicLifeYears": 8, "depreciationYears": 6,
              "chargeCodes": "220600001"}
    day = hospital_today()
    with Session(sqlite_db) as session:
        assert validate_submission(values, today=day, session=session).department == "T-OLD"
    load(sqlite_db, day)
    with Session(sqlite_db) as session:
        with pytest.raises(ProposalRefused) as refused:
            validate_submission(values, today=day, session=session)
        assert ("department", f"科室 T-OLD 不存在或已停用 / department T-OLD is unknown or not active on {day}") \
            in refused.value.problems
        assert validate_submission({**values, "department": "T-BX"}, today=day, session=session).department == "T-BX"
