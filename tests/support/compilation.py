"""Driving the budget-compilation process on the real engine as the demo people would: department heads upload
their workbooks and complete their tasks, the budget committee records control numbers, each deciding body
attaches its minutes and decides."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

import requests
from sqlmodel import select

from smartfin.app.demo_users import complete_as as complete_once
from smartfin.app.demo_users import demo_password, wait_for
from smartfin.budgeting import ControlSetting, open_round, set_control_numbers, template_workbook, upload_draft
from smartfin.budgeting.tables import CompilationRound
from smartfin.camunda.client import EngineClient, EngineRequestError
from smartfin.ledger import import_departments
from smartfin.ledger.keys import FundingSource as F
from smartfin.processes.approvals import members_of
from smartfin.processes.compilation.records import attach_minutes, document_no, set_contact
from smartfin.store.db import session_scope
from tests.budgeting.workbooks import fill

#: department → its head (the budget contact finance names)
HEADS = {"CARD": "li.na", "RAD": "qian.yu", "LAB": "feng.tao"}
SIGNERS = {"budget-committee": "sun.li", "president": "zhao.lei", "party-committee": "zhou.qiang"}
DEPARTMENTS_CSV = ("code,name,class,valid_from\nCARD,心血管内科,clinical,2020-01-01\n"
                   "RAD,放射科,medical-technical,2020-01-01\nLAB,检验科,medical-technical,2020-01-01\n")


def unopened_year(first: int = 2060) -> int:
    """The first fiscal year from ``first`` on that no compilation round holds yet. A test that takes its year
    from here cannot collide with another test's round on the shared session database (one round per year);
    tests with a fixed year keep below 2060."""
    with session_scope() as session:
        taken = set(session.exec(select(CompilationRound.fiscal_year)).all())
    year = first
    while year in taken:
        year += 1
    return year


def prepare_year(year: int, *, first_deadline: date = date(2026, 1, 10),
                 second_deadline: date = date(2026, 1, 20)) -> None:
    """Departments in the master data, the year's round opened by finance, each department's contact named."""
    with session_scope() as session:
        report = import_departments(session, DEPARTMENTS_CSV.encode(), actor="wang.fang", filename="d.csv")
        assert report.ok, report.errors
    with session_scope() as session:
        open_round(session, year, guidance="零基预算 zero-based", first_deadline=first_deadline,
                   second_deadline=second_deadline, template_version=f"{year}.1", actor="wang.fang")
        for department, head in HEADS.items():
            set_contact(session, department, head, actor="wang.fang", on=date(2026, 11, 30))


def complete_as(engine: EngineClient, user: str, task: dict[str, Any], variables: dict[str, Any]) -> None:
    """Complete ``task`` as ``user``, again when the engine answers an optimistic-locking conflict: a draft task
    made past its deadline has its overdue escalation running beside it, and both touch the same execution."""
    for attempt in range(5):
        try:
            complete_once(engine, user, task, variables)
            return
        except EngineRequestError as exc:
            if "updated by another transaction concurrently" not in str(exc) or attempt == 4:
                raise


def start(engine: EngineClient, year: int) -> str:
    return str(engine.start_process("budget-compilation", document_no(year), {})["id"])


def tasks_of(engine: EngineClient, pid: str, key: str, count: int, timeout: float = 60) -> list[dict[str, Any]]:
    """The open tasks ``key`` of the instance once there are ``count`` of them."""
    return wait_for(lambda: (lambda found: found if len(found) == count else None)(
        engine.tasks(processInstanceId=pid, taskDefinitionKey=key)), timeout, message=f"{count} × {key}")


def upload(year: int, department: str, amount: object, source: F = F.FISCAL, code: str = "30201") -> None:
    """The department's head fills her workbook and uploads it (the round the compilation is in)."""
    with session_scope() as session:
        data = fill(template_workbook(session, year, department), {(code, source): amount})
    with session_scope() as session:
        upload_draft(session, data, filename=f"{department}.xlsx", uploaded_by=HEADS[department],
                     department=department)


def submit_round(engine: EngineClient, pid: str, year: int, key: str, amounts: dict[str, object]) -> None:
    """Every department uploads its draft and its head completes the task."""
    for task in tasks_of(engine, pid, key, len(amounts)):
        department = next(d for d, head in HEADS.items() if head == task["assignee"])
        upload(year, department, amounts[department])
        complete_as(engine, HEADS[department], task, {})


def set_controls(engine: EngineClient, pid: str, year: int, amounts: dict[str, Decimal]) -> None:
    """The committee records the control numbers (fiscal funds) and completes its task."""
    task = tasks_of(engine, pid, "setControlNumbers", 1)[0]
    with session_scope() as session:
        set_control_numbers(session, year, [ControlSetting(d, "fiscal", str(a)) for d, a in amounts.items()],
                            decision="预委〔2026〕3号", actor=SIGNERS["budget-committee"])
    complete_as(engine, SIGNERS["budget-committee"], task, {})


def attach(engine: EngineClient, year: int, body: str, number: str) -> None:
    with session_scope() as session:
        attach_minutes(session, year, body, number, date(2026, 12, 1), f"{body} minutes {number}".encode(),
                       filename=f"{number}.pdf", actor=SIGNERS[body], is_member=members_of(engine))


def decide(engine: EngineClient, pid: str, year: int, body: str, *, decision: str = "approve",
           number: str | None = None) -> None:
    """The body's member decides on the open approval task, citing minutes ``number`` (attached first)."""
    number = number or f"{body}-{year}-1"
    attach(engine, year, body, number)
    task = tasks_of(engine, pid, "approveBudget", 1)[0]
    complete_as(engine, SIGNERS[body], task, {"decision": decision, "minutesNo": number, "comment": "审议通过"})


def task_variable(engine: EngineClient, task_id: str, name: str) -> Any:
    """A variable as the task sees it. Read again when the engine answers while a sibling path of the same scope
    (the overdue escalation of a task made past its deadline) is ending: its execution tree is then briefly
    unreadable (ENGINE-03077)."""
    def read() -> tuple[Any] | None:
        try:
            return (engine.get(f"/task/{task_id}/variables/{name}")["value"],)
        except EngineRequestError as exc:
            if "ENGINE-03077" not in str(exc):
                raise
            return None
    return wait_for(read, 10, message=f"variable {name} of task {task_id}")[0]


#: who opened the round in ``prepare_year``: the budget office a sent-back budget returns to
BUDGET_OFFICE = "wang.fang"


def through_second_round(engine: EngineClient, pid: str, year: int, amounts: dict[str, object]) -> None:
    """一上 and 二上 with the same amounts, the control numbers equal to them: the budget goes to approval."""
    submit_round(engine, pid, year, "firstSubmitDraft", amounts)
    set_controls(engine, pid, year, {d: Decimal(str(a)) for d, a in amounts.items()})
    submit_round(engine, pid, year, "secondSubmitDraft", amounts)


def send_back(engine: EngineClient, pid: str, year: int, body: str, reason: str, number: str,
              user: str | None = None) -> dict[str, Any]:
    """A member of ``body`` (or ``user``) sends the open approval task back, citing minutes ``number``."""
    attach(engine, year, body, number)
    task = tasks_of(engine, pid, "approveBudget", 1)[0]
    complete_as(engine, user or SIGNERS[body], task, {"decision": "sendBack", "minutesNo": number, "comment": reason})
    return task


def revise(engine: EngineClient, pid: str, action: str = "resubmit", reopen: str = "",
           user: str = BUDGET_OFFICE) -> dict[str, Any]:
    """The budget office answers the send-back on its revision task."""
    task = tasks_of(engine, pid, "reviseBudget", 1)[0]
    complete_as(engine, user, task, {"revisionAction": action, "reopenDepartments": reopen, "comment": "已修改"})
    return task


def page_login(base: str, user: str) -> tuple[requests.Session, str]:
    """A browser session of ``user`` on the budget upload page served at ``base``, and the page's form token."""
    browser = requests.Session()
    answer = browser.post(f"{base}/login", data={"user": user, "password": demo_password()},
                          headers={"Origin": base})
    assert answer.status_code == 200, answer.text
    token = re.search(r"name='csrf' value='([0-9a-f]+)'", answer.text)
    assert token, answer.text
    return browser, token.group(1)


def page_upload(browser: requests.Session, base: str, token: str | None, department: str, data: bytes,
                name: str = "draft.xlsx", origin: str | None = None) -> requests.Response:
    """Post a workbook to the upload page as the form does (department, form token, file)."""
    fields = {"department": department, **({"csrf": token} if token else {})}
    return browser.post(f"{base}/upload", data=fields, files={"draft": (name, data)},
                        headers={"Origin": origin or base})
