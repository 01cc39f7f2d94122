"""The demo job: everything on the embedded defaults, and a batch of requests that shows each path.

It is idempotent: the budget file is imported once (the import recognises the same file), requests
carry fixed demo numbers and are submitted once, and services already running are reused.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from smartfin.camunda.client import EngineClient
from smartfin.kernel.clock import hospital_now
from smartfin.kernel.settings import PROJECT_ROOT, get_settings
from smartfin.ledger import import_budget
from smartfin.processes.spending.requests import SpendingRequest
from smartfin.store.db import session_scope

BUDGET_TEMPLATE = Path(__file__).with_name("demo_budget.csv")
DEMO_USERS_FILE = PROJECT_ROOT / "engine" / "src" / "main" / "resources" / "application-demo.yaml"

# (requester, department, category, funding source, project, amount, payee, purpose)
DEMO_REQUESTS: list[tuple[str, str, str, str, str, str, str, str]] = [
    ("zhang.wei", "CARD", "materials", "fiscal", "", "3680.00", "国药控股北京有限公司",
     "介入导管耗材补货 Catheter consumables restock"),
    ("zhang.wei", "CARD", "meeting", "own", "", "86.50", "院内食堂", "科室病例讨论会茶歇 Case conference refreshments"),
    ("zhang.wei", "CARD", "travel", "fiscal", "", "4200.00", "中国国际航空",
     "参加全国心血管年会 National cardiology congress"),
    ("li.na", "RAD", "maintenance", "fiscal", "", "48500.00", "西门子医疗系统有限公司",
     "MRI 冷头维修 MRI cold-head repair"),
    ("zhang.wei", "CARD", "meeting", "own", "", "26500.00", "北京国际会议中心",
     "区域学术会议场地 Regional symposium venue (over budget)"),
    ("zhang.wei", "CARD", "materials", "fiscal", "", "4800.00", "迈瑞医疗", "监护仪配件 Monitor parts (1/2)"),
    ("zhang.wei", "CARD", "materials", "fiscal", "", "4750.00", "迈瑞医疗", "监护仪配件 Monitor parts (2/2)"),
    ("li.na", "RAD", "equipment", "earmarked", "PRJ-CT-01", "650000.00", "联影医疗",
     "CT 配套工作站 CT workstation (collective decision)"),
]


def demo_users() -> tuple[str, list[dict[str, Any]]]:
    """The demo logins exactly as the engine's demo profile creates them."""
    config = yaml.safe_load(DEMO_USERS_FILE.read_text(encoding="utf-8"))["smartfin"]["demo"]
    return str(config["password"]), list(config["users"])


def import_demo_budget(year: int) -> str:
    content = BUDGET_TEMPLATE.read_text(encoding="utf-8").replace("{year}", str(year)).encode("utf-8")
    with session_scope() as session:
        report = import_budget(session, content, actor="demo", filename=f"demo-budget-{year}.csv")
    if not report.ok:
        problems = "; ".join(f"row {i.row} {i.column}: {i.reason}" for i in report.errors)
        raise RuntimeError(f"the demo budget was refused: {problems}")
    return f"{report.lines_created} lines created, {report.unchanged} unchanged"


def submit_demo_batch(year: int, engine: EngineClient) -> list[str]:
    """Each demo request is submitted by its requester's own demo login (password read from the demo
    profile file at run time), as a person at the command line would after ``smartfin login``: the engine
    records the requester as the starter."""
    from smartfin.processes.spending.requests import submit_spending_request

    password, _ = demo_users()
    submitted = []
    for index, (requester, department, category, funding, project, amount, payee, purpose) in enumerate(
            DEMO_REQUESTS, start=1):
        number = f"DEMO-{year}-{index:03d}"
        with session_scope() as session:
            if session.get(SpendingRequest, number) is not None:
                continue
        person = engine.as_user(requester, password)
        try:
            submit_spending_request({"department": department, "category": category, "fundingSource": funding,
                                     "project": project, "amount": amount, "payee": payee, "purpose": purpose},
                                    request_no=number, engine=person)
        finally:
            person.close()
        submitted.append(number)
    return submitted


def run(echo: Callable[[str], None], progress: Callable[[str], None], requests_only: bool = False) -> None:
    from smartfin.app.stack import bring_up

    # the demo users (shared, known password) exist only while the demo runs the engine
    settings = get_settings().model_copy(update={"engine_demo": True})
    year = hospital_now().year
    if not requests_only:
        bring_up(settings, echo, progress)
        echo(f"budget {year}: " + import_demo_budget(year))
    submitted = submit_demo_batch(year, EngineClient.from_settings(settings))
    echo(f"demo requests: {', '.join(submitted) if submitted else 'already submitted'}")
    password, users = demo_users()
    echo("")
    echo(f"Tasklist: {settings.tasklist_url}")
    echo(f"Demo logins (password '{password}', demo profile only — see README):")
    for user in users:
        echo(f"  {user['id']:12} {user['last-name']}{user['first-name']:4} {', '.join(user['groups'])}")
    echo("Stop everything with: smartfin down")
