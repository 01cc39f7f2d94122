"""The demo job: everything on the embedded defaults, and demo data for each capability, set up once.

Steps, each printing what it does and each safe to run again:

1. ``services``: the stack up (engine with the demo users, portals, workers, Prefect, flows), the demo budget;
2. ``spending``: a batch of spending requests, one per path (small, tiered, over budget, split, collective
   decision), each waiting at its tier;
3. ``claims``: reimbursement claims with generated e-invoices (``smartfin.app.demo_claims``);
4. ``procurement``: the public 128-slice CT example at the equipment committee's vote;
5. ``compilation``, ``adjustments``, ``chain``, ``assessment``: the budget closed loop
   (``smartfin.app.demo_budget_loop``): next year's compilation at 一上, adjustments waiting at their tiers,
   request → contract → claim, the year's assessment so far;
6. plugin steps, in entry-point name order (group ``smartfin.demo``): packages the core must not import
   (the flows) add their demo data the same way;
7. what each demo user opens and where, grouped per person.

Idempotent: the budget import recognises the same file, documents carry fixed demo numbers and are
submitted once, a document a previous (interrupted) run left half-way is moved on from where it stands,
and services already running are reused.

**Plugin interface.** An entry point of group ``smartfin.demo`` loads a ``DemoStep``: a callable
``step(settings, echo) -> list[(demo user id, what to open and where)]`` that adds its demo data
idempotently (printing progress through ``echo``) and returns guidance lines. A step that fails, or that
cannot be loaded, fails the demo with a ``DemoError`` naming it.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from contextlib import closing
from decimal import Decimal
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from smartfin.app.demo_budget_loop import adjustments_step, assessment_step, chain_step, compilation_step
from smartfin.app.demo_users import DemoUser, TasklistGuide, advance, demo_password, demo_users
from smartfin.camunda.client import EngineClient
from smartfin.kernel.clock import hospital_now
from smartfin.kernel.settings import PROJECT_ROOT, Settings, get_settings
from smartfin.ledger import BudgetLineKey, FundingSource, import_budget
from smartfin.processes.spending.requests import DOCUMENT_TYPE as REQUEST_TYPE
from smartfin.processes.spending.requests import SpendingRequest
from smartfin.store.db import session_scope

BUDGET_TEMPLATE = Path(__file__).with_name("demo_budget.csv")
DEPARTMENTS_FILE = Path(__file__).with_name("demo_departments.csv")
DEPARTMENT_ROLES_FILE = Path(__file__).with_name("demo_department_roles.csv")
CT_EXAMPLE = PROJECT_ROOT / "rules" / "procurement" / "examples" / "ct-128.yaml"
DEMO_PLUGINS = "smartfin.demo"

Echo = Callable[[str], None]
#: (demo user id, what to open and where)
Guidance = tuple[str, str]
#: adds its demo data idempotently; returns what each demo user should open
DemoStep = Callable[[Settings, Echo], list[Guidance]]

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


class DemoError(RuntimeError):
    """A demo step failed or could not be loaded; the message names the step."""


def import_demo_departments() -> str:
    """Load the demo hospital's departments (names, classes, tree, one renaming) before its budget, which
    the budget import then checks against; the same file again changes nothing."""
    from smartfin.ledger import import_departments

    with session_scope() as session:
        report = import_departments(session, DEPARTMENTS_FILE.read_bytes(), actor="demo",
                                    filename=DEPARTMENTS_FILE.name)
    if not report.ok:
        problems = "; ".join(f"row {i.row} {i.column}: {i.reason}" for i in report.errors)
        raise RuntimeError(f"the demo departments were refused: {problems}")
    return (f"{report.opened} versions opened, {report.closed} closed" if report.changed
            else f"{report.rows} rows loaded already")


def import_demo_department_heads(settings: Settings) -> str:
    """Record every demo department's head (the demo profile's dept-head logins) and put each into her
    department's engine group, so a head sees and signs only her own department's requests."""
    from smartfin.camunda.tasklist_filters import admin_client
    from smartfin.ledger.department_roles import import_department_roles
    from smartfin.processes.department_groups import sync_department_groups

    logins = {user.id for user in demo_users()}
    with session_scope() as session:
        report = import_department_roles(session, DEPARTMENT_ROLES_FILE.read_bytes(), actor="demo",
                                         user_exists=logins.__contains__, filename=DEPARTMENT_ROLES_FILE.name)
    if not report.ok:
        problems = "; ".join(f"row {i.row} {i.column}: {i.reason}" for i in report.errors)
        raise RuntimeError(f"the demo department heads were refused: {problems}")
    with closing(admin_client(settings)) as admin, session_scope() as session:
        synced = sync_department_groups(session, admin)
    return f"{report.added} periods recorded, {report.unchanged} unchanged; {synced.summary()}"


def import_demo_budget(year: int) -> str:
    """Import the demo budget of ``year``, all rows or nothing; lines budgeted already (by an earlier demo,
    whose file may have had fewer lines) are left as they are, so a newer demo adds only its new lines."""
    from smartfin.ledger.control import find_line

    header, *rows = BUDGET_TEMPLATE.read_text(encoding="utf-8").replace("{year}", str(year)).splitlines()
    with session_scope() as session:
        new = [row for row in rows if find_line(session, _budget_key(header, row)) is None]
    if not new:
        return f"{len(rows)} lines budgeted already"
    content = "\n".join([header, *new]).encode("utf-8") + b"\n"
    with session_scope() as session:
        report = import_budget(session, content, actor="demo", filename=f"demo-budget-{year}.csv")
    if not report.ok:
        problems = "; ".join(f"row {i.row} {i.column}: {i.reason}" for i in report.errors)
        raise RuntimeError(f"the demo budget was refused: {problems}")
    return f"{report.lines_created} lines created, {len(rows) - len(new)} budgeted already"


def _budget_key(header: str, row: str) -> BudgetLineKey:
    cells = dict(zip(header.split(","), next(csv.reader([row])), strict=True))
    return BudgetLineKey(int(cells["fiscal_year"]), cells["department"], cells["economic_code"],
                         FundingSource(cells["funding_source"]), cells["project"])


def demo_request_numbers(year: int) -> list[str]:
    return [f"DEMO-{year}-{index:03d}" for index in range(1, len(DEMO_REQUESTS) + 1)]


def submit_demo_batch(year: int, engine: EngineClient) -> list[str]:
    """Each demo request is submitted by its requester's own demo login (password read from the demo
    profile file at run time), as a person at the command line would after ``smartfin login``: the engine
    records the requester as the starter."""
    from smartfin.processes.spending.requests import submit_spending_request

    password = demo_password()
    submitted = []
    for number, (requester, department, category, funding, project, amount, payee, purpose) in zip(
            demo_request_numbers(year), DEMO_REQUESTS, strict=True):
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


# ------------------------------------------------------------------------------------ the core steps

def services_step(settings: Settings, echo: Echo, progress: Callable[[str], None] | None = None) -> list[Guidance]:
    """The stack up, the models deployed, the demo budget of the current year imported."""
    from smartfin.app.stack import bring_up

    bring_up(settings, echo, progress or (lambda message: echo(f"  {message}")))
    year = hospital_now().year
    echo("departments: " + import_demo_departments())
    echo("department heads: " + import_demo_department_heads(settings))
    echo(f"budget {year}: " + import_demo_budget(year))
    return [("liu.yang", f"smartfin budget show --year {year} — every demo budget line with its department's name, "
                         "summed from the journal"),
            ("liu.yang", "smartfin departments list — the demo hospital's departments as a tree"),
            ("liu.yang", "smartfin departments roles list — each department's head; a head sees and signs only "
                         "her department's requests (group dept-head.<code>)"),
            *[(user, f"http://{settings.dashboard_host}:{settings.dashboard_port}/ — the finance dashboard: {what}")
              for user, what in (("liu.yang", "budget execution by department with drill-down to lines and their "
                                              "documents, queues, exceptions, cash and cost"),
                                 ("li.na", "your department's budget execution and your groups' queues"))]]


def spending_step(settings: Settings, echo: Echo) -> list[Guidance]:
    """The batch of spending requests, each waiting at its tier."""
    year = hospital_now().year
    engine = EngineClient.from_settings(settings)
    try:
        submitted = submit_demo_batch(year, engine)
        echo(f"spending requests: {', '.join(submitted) if submitted else 'already submitted'}")
        guide = TasklistGuide(engine)
        lines: list[Guidance] = []
        for number, request in zip(demo_request_numbers(year), DEMO_REQUESTS, strict=True):
            with session_scope() as session:
                row = session.get(SpendingRequest, number)
                pid = row.process_instance_id if row is not None else None
            if pid and number in submitted:
                # the workers route a new request within a second or two: wait until it reaches a person
                advance(engine, pid, {}, what=f"spending request {number}", timeout=60.0)
            if pid:
                lines += guide.lines(number, pid, request[7], requester=request[0], document_type=REQUEST_TYPE)
        lines += guide.later_lines("spending requests")
    finally:
        engine.close()
    lines.append(("zhang.wei", f"smartfin document show DEMO-{year}-001 — a request with its stored chain and "
                               "every decision"))
    lines.append(("ma.lin", "smartfin login --user ma.lin, then smartfin submit-request … --requester zhang.wei — "
                            "a request keyed in on a colleague's behalf (代录), recorded as a proxy entry"))
    return lines


def procurement_step(settings: Settings, echo: Echo) -> list[Guidance]:
    """The public 128-slice CT example, submitted by its proposer, waiting for the committee's ballots."""
    from smartfin.processes.procurement.commands import load_document, submit_proposal
    from smartfin.processes.procurement.proposals import EquipmentProposalRecord

    number = f"DEMO-EQ-{hospital_now().year}-01"
    values: dict[str, Any] = load_document(CT_EXAMPLE)
    proposer = str(values["proposer"])
    engine = EngineClient.from_settings(settings)
    try:
        with session_scope() as session:
            recorded = session.get(EquipmentProposalRecord, number) is not None
        if recorded:
            echo(f"equipment proposal {number}: already submitted")
        else:
            person = engine.as_user(proposer, demo_password())
            try:
                submit_proposal(values, proposal_no=number, engine=person)
            finally:
                person.close()
            echo(f"equipment proposal {number}: {values['deviceName']} submitted by {proposer} "
                 f"({CT_EXAMPLE.relative_to(PROJECT_ROOT)})")
        with session_scope() as session:
            row = session.get(EquipmentProposalRecord, number)
            assert row is not None and row.process_instance_id
            pid = row.process_instance_id
        waiting = advance(engine, pid, {}, what=f"equipment proposal {number}", timeout=120.0)
        votes = [task for task in waiting if task["taskDefinitionKey"] == "committeeVote"]
        if not recorded and not votes:
            raise DemoError(f"equipment proposal {number} should wait for the committee's ballots but stands at: "
                            f"{', '.join(sorted({t['name'] for t in waiting})) or 'its end'}")
        echo(f"  {number}: " + (f"waiting for {len(votes)} committee ballots "
                                f"({', '.join(sorted(t['assignee'] for t in votes))})" if votes
                                else "past the committee vote (changed since the demo set it up)"))
        lines = TasklistGuide(engine).lines(number, pid, f"{values['deviceName']} ¥{Decimal(str(values['price'])):,}",
                                            requester=proposer)
    finally:
        engine.close()
    lines.append((proposer, f"smartfin procurement show {number} — the cost-benefit analysis (NPV, IRR, payback, "
                            "break-even) and the committee's ballots"))
    return lines


def claims_step(settings: Settings, echo: Echo) -> list[Guidance]:
    """Reimbursement claims with generated e-invoices (see ``smartfin.app.demo_claims``)."""
    from smartfin.app.demo_claims import ClaimsDemo

    engine = EngineClient.from_settings(settings)
    try:
        return ClaimsDemo(settings, engine, echo, hospital_now().year).run()
    finally:
        engine.close()


CORE_STEPS: list[tuple[str, DemoStep]] = [
    ("spending", spending_step), ("claims", claims_step), ("procurement", procurement_step),
    ("compilation", compilation_step), ("adjustments", adjustments_step), ("chain", chain_step),
    ("assessment", assessment_step),
]


# ------------------------------------------------------------------------------------ plugins, running

def plugin_steps() -> list[tuple[str, DemoStep]]:
    """The installed plugin steps (entry point group ``smartfin.demo``) in entry-point name order."""
    steps = []
    for plugin in sorted(entry_points(group=DEMO_PLUGINS), key=lambda p: p.name):
        try:
            step = plugin.load()
        except Exception as exc:
            raise DemoError(f"demo step {plugin.name!r} ({plugin.value}) could not be loaded: "
                            f"{type(exc).__name__}: {exc}") from exc
        if not callable(step):
            raise DemoError(f"demo step {plugin.name!r} ({plugin.value}) is not callable")
        steps.append((plugin.name, step))
    return steps


def run_step(name: str, step: DemoStep, settings: Settings, echo: Echo) -> list[Guidance]:
    """Run one step; any failure becomes a ``DemoError`` naming the step (never swallowed)."""
    echo(f"— {name} —")
    try:
        lines = step(settings, echo)
    except Exception as exc:
        raise DemoError(f"demo step {name!r} failed: {type(exc).__name__}: {exc}") from exc
    if not isinstance(lines, list) or not all(
            isinstance(line, tuple) and len(line) == 2 and all(isinstance(part, str) for part in line)
            for line in lines):
        raise DemoError(f"demo step {name!r} returned {type(lines).__name__}, not a list of "
                        f"(demo user id, what to open) pairs")
    return lines


def guidance_text(settings: Settings, lines: list[Guidance], users: list[DemoUser], password: str) -> list[str]:
    """What each demo user opens and where: every demo user in the profile's order (then any other user a
    step named), the person's name and groups, then their lines without repeats, Tasklist's first."""
    per_user: dict[str, list[str]] = {user.id: [] for user in users}
    for user, text in lines:
        entries = per_user.setdefault(user, [])
        if text not in entries:
            entries.append(text)
    for entries in per_user.values():
        entries.sort(key=lambda entry: not entry.startswith("Tasklist"))  # what waits for the person first
    known = {user.id: user for user in users}
    out = ["", f"Tasklist: {settings.tasklist_url}",
           f"What to open, per person (log in as the user; demo password '{password}', demo profile only — see "
           f"README):"]
    for user_id, entries in per_user.items():
        user = known.get(user_id)
        head = f"{user.id:12} {user.name:4} {', '.join(user.groups)}" if user else f"{user_id:12} (not a demo login)"
        out.append(head)
        out += [f"    · {entry}" for entry in entries] or ["    · nothing waiting for this person in the demo data"]
    out.append("Stop everything with: smartfin down")
    return out


def demo_steps(progress: Callable[[str], None] | None = None, *, requests_only: bool = False
               ) -> list[tuple[str, DemoStep]]:
    """Every step in running order: the services (unless ``requests_only``), the core's data steps, then
    the installed plugin steps in entry-point name order."""
    steps: list[tuple[str, DemoStep]] = [] if requests_only else [
        ("services", lambda settings, echo: services_step(settings, echo, progress))]
    return steps + CORE_STEPS + plugin_steps()


def run(echo: Echo, progress: Callable[[str], None], requests_only: bool = False) -> None:
    """The demo: services, then the core steps, then every plugin step, then the guidance per person."""
    # the demo users (shared, known password) exist only while the demo runs the engine
    settings = get_settings().model_copy(update={"engine_demo": True})
    lines: list[Guidance] = []
    for name, step in demo_steps(progress, requests_only=requests_only):
        lines += run_step(name, step, settings, echo)
    for line in guidance_text(settings, lines, demo_users(), demo_password()):
        echo(line)
