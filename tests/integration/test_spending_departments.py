"""Spending requests and the department master data, on the real engine with the product's workers.

The session's database is shared by every integration test, and those submit requests for departments
they never load: the ``departments`` fixture loads a few and removes them again when its test ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import col, select

from smartfin.camunda.client import EngineClient
from smartfin.kernel.clock import hospital_today
from smartfin.ledger import Department, import_departments
from smartfin.processes.spending.requests import InvalidRequest, SpendingRequest, submit_spending_request
from smartfin.store.db import session_scope
from tests.support.engine import as_user, ended_at, open_task, process_ended

pytestmark = pytest.mark.engine

CODES = ("T-MED", "T-CARD", "T-REJ")


@pytest.fixture
def departments() -> Iterator[str]:
    """Master data for T-CARD (in force) and T-REJ (closed yesterday), removed after the test; yields today."""
    today = hospital_today()
    content = ("code,name,name_en,class,parent,valid_from,valid_to\n"
               "T-MED,测试内科,,clinical,,2020-01-01,\n"
               "T-CARD,测试心内科,Test cardiology,临床服务类,T-MED,2020-01-01,\n"
               f"T-REJ,测试停用科室,,clinical,,2020-01-01,{today - timedelta(days=1)}\n")
    with session_scope() as session:
        assert session.exec(select(Department)).first() is None, "the suite's database has no master data"
        report = import_departments(session, content.encode(), actor="test", filename="test-departments.csv")
        assert report.ok, report.errors
    try:
        yield today.isoformat()
    finally:
        with session_scope() as session:
            for row in session.exec(select(Department).where(col(Department.code).in_(CODES))).all():
                session.delete(row)


def submit(camunda: EngineClient, department: str, *, request_no: str | None = None, category: str = "materials",
           funding: str = "fiscal") -> str:
    return submit_spending_request({"department": department, "category": category, "amount": "120.00",
                                    "fundingSource": funding, "requester": "zhang.wei", "payee": "国药控股",
                                    "purpose": "科室主数据 department master data"}, request_no=request_no,
                                   engine=camunda)


def instance_of(number: str) -> str:
    with session_scope() as session:
        row = session.get(SpendingRequest, number)
        assert row is not None and row.process_instance_id
        return row.process_instance_id


def test_without_master_data_any_department_goes_on_and_tasklist_shows_its_code(camunda, workers, budget):
    with session_scope() as session:
        assert session.exec(select(Department)).first() is None
    pid = instance_of(submit(camunda, "T-CARD"))
    open_task(camunda, pid)
    assert camunda.process_variables(pid)["departmentName"] == "T-CARD"


def test_once_loaded_a_known_department_goes_on_and_tasklist_shows_its_name(camunda, workers, budget,
                                                                           departments):
    pid = instance_of(submit(camunda, "T-CARD"))
    task = open_task(camunda, pid)
    assert task["taskDefinitionKey"] == "approveRequest"
    assert camunda.process_variables(pid)["departmentName"] == "测试心内科"


@pytest.mark.parametrize("department, category, funding", [("T-MEET", "meeting", "own"),   # a line, no department
                                                           ("T-REJ", "materials", "fiscal")])  # closed yesterday
def test_once_loaded_an_unknown_or_closed_department_is_refused_before_anything_is_written(
        camunda, budget, departments, department, category, funding):
    number = f"DEPT-{department}-{departments}"
    with pytest.raises(InvalidRequest) as refused:
        submit(camunda, department, request_no=number, category=category, funding=funding)
    assert refused.value.problems == [("department", f"科室 {department} 不存在或已停用 / department {department} "
                                                     f"is unknown or not active on {departments}")]
    with session_scope() as session:
        assert session.get(SpendingRequest, number) is None
    assert camunda.get("/process-instance", businessKey=number) == []


def test_once_loaded_a_tasklist_start_for_an_unknown_department_closes_as_invalid(camunda, workers, budget,
                                                                                departments):
    instance = as_user(camunda, "zhang.wei").start_process("spending-approval", f"TL-DEPT-{departments}", {
        "department": "T-MEET", "category": "meeting", "fundingSource": "own", "amount": "80.00",
        "payee": "院内食堂", "purpose": "Tasklist start form"})
    process_ended(camunda, instance["id"])
    assert ended_at(camunda, instance["id"]) == {"requestRefused"}
    reason = camunda.historic_variables(instance["id"])["closingReason"]
    assert "department T-MEET is unknown or not active on" in reason
