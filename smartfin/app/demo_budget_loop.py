"""The demo's budget closed loop: adjustments in approval, a commitment chain, the year's assessment so far.

Four demo steps (``smartfin.app.demo`` runs them after the core's documents), each set up as the people
would and safe to run again:

0. ``compilation``: next year's project pool (projects with performance targets per demo department), the
   round opened with guidance and deadlines, the department contacts named (``name_compilation_contacts``:
   the one place that says who compiles for a department), the budget-compilation process started,
   心血管内科's 一上 draft generated from its template, uploaded by its head and her task completed; the
   other heads' 一上 tasks wait in Tasklist;
1. ``adjustments``: 心血管内科 moves travel money to its materials line (one department, below the finance
   head's limit: waits for 郭华, finance-head) and asks 院办 for meeting money (across departments: waits for
   the president's office meeting);
2. ``chain``: an approved spending request for monitor leads → a registered contract with a payment schedule
   for less (the saving released) → a claim citing the contract for the first instalment, verified and
   waiting for the department head's approval;
3. ``assessment``: the current year's performance assessment so far, as HTML and Excel under var/reports/.

Documents carry fixed demo numbers or a fixed demo reason: one recorded already is not submitted again, and
one a previous run left half-way is moved on from where it stands.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import col, select

from extractors.invoice.samples import InvoiceLine, xml_invoice
from smartfin.app.demo_users import (
    TasklistGuide,
    advance,
    complete_as,
    demo_password,
    sign_as_group_member,
    wait_for,
)
from smartfin.camunda.client import EngineClient
from smartfin.kernel.clock import hospital_now, hospital_today
from smartfin.kernel.settings import Settings
from smartfin.store.db import session_scope

Echo = Callable[[str], None]
Guidance = tuple[str, str]

REQUESTER = "zhang.wei"
OFFICER = "wang.fang"
DEPARTMENT = "CARD"
HOSPITAL = "滨江市第一人民医院"

# (demo reason: how a later run finds it, department, movements with {year}, what it shows)
DEMO_ADJUSTMENTS: list[tuple[str, str, str, str]] = [
    ("【演示】心内科差旅费结余调剂至专用材料费 Travel savings to special materials", DEPARTMENT,
     "transfer; {year}/CARD/30211/fiscal; {year}/CARD/30218/fiscal; 5000.00; 下半年学术会议减少，耗材用量上升",
     "within one department, below the finance head's limit"),
    ("【演示】院办办公费调剂心内科会议费 Office supplies to cardiology meetings", DEPARTMENT,
     "transfer; {year}/ADMIN/30201/own; {year}/CARD/30215/own; 8000.00; 区域学术会议场地费超出会议费预算",
     "across departments: the president's office meeting decides"),
]


def chain_numbers(year: int) -> tuple[str, str, str]:
    """The chain's fixed numbers: the spending request, its contract, the claim citing the contract."""
    return f"DEMO-HT-{year}-REQ", f"DEMO-HT-{year}-01", f"DEMO-HTBX-{year}-01"


CHAIN_REQUEST_AMOUNT = Decimal("9600.00")
CHAIN_CONTRACT_AMOUNT = Decimal("8850.00")
CHAIN_SUPPLIER = "深圳迈瑞生物医疗电子股份有限公司"


# ------------------------------------------------------------------------------------------ compilation

#: department → its head, who compiles the department's budget in the demo
COMPILATION_HEADS = {"CARD": "li.na", "RAD": "qian.yu", "LAB": "feng.tao"}
FINANCE = "wang.fang"
POOL_HEADER = "年度,项目编码,项目名称,科室,资金来源,优先级,状态,指标类型,指标维度,指标名称,计量单位,方向,目标值"
POOL_ROWS = (
    "{y},P-CARD-{y}-01,胸痛中心能力提升,CARD,fiscal,1,入选,产出指标,数量,急诊PCI手术例数,例,>=,320",
    "{y},P-CARD-{y}-01,胸痛中心能力提升,CARD,fiscal,1,入选,产出指标,时效,门球时间,分钟,<=,90",
    "{y},P-CARD-{y}-01,胸痛中心能力提升,CARD,fiscal,1,入选,效益指标,满意度,患者满意度,%,>=,95",
    "{y},P-CARD-{y}-02,心脏康复门诊建设,CARD,own,2,储备,产出指标,数量,康复门诊人次,人次,>=,1200",
    "{y},P-RAD-{y}-01,影像云平台,RAD,fiscal,1,入选,产出指标,时效,报告出具时间,小时,<=,24",
    "{y},P-RAD-{y}-01,影像云平台,RAD,fiscal,1,入选,效益指标,社会效益,基层医院接入数,家,>=,12",
    "{y},P-LAB-{y}-01,检验结果互认,LAB,fiscal,1,入选,产出指标,质量,室间质评合格率,%,>=,98",
    "{y},P-LAB-{y}-01,检验结果互认,LAB,fiscal,1,入选,效益指标,满意度,临床科室满意度,%,>=,90",
)
#: what 心血管内科 proposes in 一上: (economic code, funding source) → yuan
CARD_FIRST_DRAFT = {("30218", "fiscal"): Decimal("860000.00"), ("30211", "fiscal"): Decimal("28000.00"),
                    ("30215", "own"): Decimal("30000.00"), ("30201", "own"): Decimal("12000.00")}
CARD_PROJECT_AMOUNT = Decimal("450000.00")


def upload_page_url(settings: Settings) -> str:
    """Where department heads download their template and upload their draft."""
    return f"http://{settings.upload_page_host}:{settings.upload_page_port}"


def name_compilation_contacts(session: Any, on: date) -> None:
    """Who compiles each demo department's budget: its head. The one place the demo says so; naming again
    what is recorded changes nothing."""
    from smartfin.processes.compilation.records import contact_of, set_contact

    for department, head in COMPILATION_HEADS.items():
        if contact_of(session, department) != head:
            set_contact(session, department, head, actor=FINANCE, on=on)


def _prepare_round(year: int, echo: Echo) -> None:
    """Project pool, round and contacts of ``year``: each only when missing."""
    from smartfin.budgeting import import_projects, pool_projects
    from smartfin.budgeting.rounds import find_round, open_round

    today = hospital_today()
    with session_scope() as session:
        if not pool_projects(session, year):
            content = "\n".join([POOL_HEADER, *(row.format(y=year) for row in POOL_ROWS)]) + "\n"
            report = import_projects(session, content.encode("utf-8"), actor=FINANCE,
                                     filename=f"demo-projects-{year}.csv")
            if report.errors:
                problems = "; ".join(f"row {i.row} {i.column}: {i.reason}" for i in report.errors)
                raise RuntimeError(f"the demo project pool was refused: {problems}")
            echo(f"  project pool {year}: {report.projects_created} projects, {report.targets} performance targets")
        else:
            echo(f"  project pool {year}: loaded already")
        if find_round(session, year) is None:
            open_round(session, year, guidance="零基预算，收支平衡；项目须入库并设绩效目标 Zero-based, balanced; "
                                               "projects from the pool with performance targets",
                       first_deadline=today + timedelta(days=21), second_deadline=today + timedelta(days=45),
                       template_version=f"{year}.1", actor=FINANCE)
            echo(f"  round {year} opened: 一上 due {today + timedelta(days=21)}, 二上 due "
                 f"{today + timedelta(days=45)}")
        name_compilation_contacts(session, today)


def _filled_first_draft(year: int) -> bytes:
    """心血管内科's template filled as its head would: basic expenditure and its approved pool project."""
    import io

    import openpyxl

    from smartfin.budgeting import template_workbook
    from smartfin.budgeting.workbook import BASIC, BASIC_FIRST_INPUT, FIRST_ROW, PROJECTS, SOURCES

    with session_scope() as session:
        template = template_workbook(session, year, "CARD")
    book = openpyxl.load_workbook(io.BytesIO(template))
    sheet = book[BASIC]
    rows = {sheet.cell(row=r, column=1).value: r for r in range(FIRST_ROW, sheet.max_row + 1)}
    sources = [source.value for source in SOURCES]
    for (code, source), amount in CARD_FIRST_DRAFT.items():
        sheet.cell(row=rows[code], column=BASIC_FIRST_INPUT + sources.index(source), value=float(amount))
    projects = book[PROJECTS]
    project = f"P-CARD-{year}-01"
    row = next(r for r in range(FIRST_ROW, projects.max_row + 1) if projects.cell(row=r, column=1).value == project)
    projects.cell(row=row, column=6, value="31002")
    projects.cell(row=row, column=7, value=float(CARD_PROJECT_AMOUNT))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def compilation_step(settings: Settings, echo: Echo) -> list[Guidance]:
    """Next year's compilation under way: 心血管内科's 一上 draft in, the other heads' tasks waiting."""
    from smartfin.budgeting import current_drafts, upload_draft
    from smartfin.processes.compilation.records import document_no

    year = hospital_now().year + 1
    number = document_no(year)
    echo(f"budget compilation {year} (两上两下):")
    _prepare_round(year, echo)
    engine = EngineClient.from_settings(settings)
    lines: list[Guidance] = []
    try:
        started = engine.get("/history/process-instance", processInstanceBusinessKey=number)
        if started:
            pid = str(started[0]["id"])
            echo(f"  {number}: already started")
        else:
            pid = str(engine.start_process("budget-compilation", number, {})["id"])
            echo(f"  {number}: started for {', '.join(COMPILATION_HEADS)}")
        with session_scope() as session:
            drafted = {draft.department for draft in current_drafts(session, year, "first")}
        if "CARD" not in drafted:
            with session_scope() as session:
                upload_draft(session, _filled_first_draft(year), filename=f"CARD-{year}-一上.xlsx",
                             uploaded_by=COMPILATION_HEADS["CARD"], department="CARD")
            echo(f"  CARD: 一上 draft uploaded by {COMPILATION_HEADS['CARD']} (filled from its template)")

        def complete_card(task: dict[str, Any]) -> None:
            complete_as(engine, COMPILATION_HEADS["CARD"], task, {}, password=demo_password())
            echo(f"  CARD: {COMPILATION_HEADS['CARD']} completed her 一上 task")

        def waiting_heads() -> tuple[list[dict[str, Any]]] | None:
            tasks = engine.tasks(processInstanceId=pid, taskDefinitionKey="firstSubmitDraft")
            card = [t for t in tasks if t.get("assignee") == COMPILATION_HEADS["CARD"]]
            for task in card:
                complete_card(task)
            made = engine.get("/history/task", processInstanceId=pid, taskDefinitionKey="firstSubmitDraft")
            if card or {str(t.get("assignee")) for t in made} < set(COMPILATION_HEADS.values()):
                return None  # the heads' tasks are still being made, or CARD's came back
            return (tasks,)

        [tasks] = wait_for(waiting_heads, 60.0, message=f"the 一上 tasks of {number}")
        echo(f"  {number}: 一上 waiting for " + (", ".join(sorted(str(t["assignee"]) for t in tasks)) or "nobody"))
        lines += TasklistGuide(engine).lines(number, pid, f"{year} 年度预算一上")
    finally:
        engine.close()
    page = upload_page_url(settings)
    for department, head in COMPILATION_HEADS.items():
        if department != "CARD":
            lines.append((head, f"{page} — log in as {head}, download the {department} {year} template, fill it, "
                                f"upload it, then complete 提交科室预算草案 in Tasklist"))
    lines += [(COMPILATION_HEADS["CARD"], f"{page} — your {year} 一上 draft of CARD (uploaded by the demo) and the "
                                          "template to correct it"),
              (FINANCE, f"smartfin budget consolidate --year {year} --round first — the 一上 proposals so far"),
              (FINANCE, f"smartfin budget projects list --year {year} — next year's project pool with its "
                        "performance targets")]
    return lines


# ------------------------------------------------------------------------------------------ adjustments

def _adjustment_by_reason(reason: str, year: int) -> tuple[str, str | None] | None:
    from smartfin.processes.adjustment.adjustments import BudgetAdjustment

    with session_scope() as session:
        row = session.exec(select(BudgetAdjustment).where(BudgetAdjustment.reason == reason,
                                                          BudgetAdjustment.fiscal_year == year)
                           .order_by(col(BudgetAdjustment.submitted_at))).first()
        return (row.adjustment_no, row.process_instance_id) if row is not None else None


def adjustments_step(settings: Settings, echo: Echo) -> list[Guidance]:
    """Two budget adjustments submitted by the cardiology requester, each waiting at its tier."""
    from smartfin.processes.adjustment.adjustments import DOCUMENT_TYPE, submit_adjustment

    year = hospital_now().year
    engine = EngineClient.from_settings(settings)
    lines: list[Guidance] = []
    try:
        guide = TasklistGuide(engine)
        for reason, department, movements, label in DEMO_ADJUSTMENTS:
            found = _adjustment_by_reason(reason, year)
            if found is None:
                person = engine.as_user(REQUESTER, demo_password())
                try:
                    number = submit_adjustment({"department": department, "reason": reason,
                                                "effectiveOn": hospital_today().isoformat(),
                                                "movements": movements.format(year=year)}, engine=person)
                finally:
                    person.close()
                echo(f"  budget adjustment {number}: submitted by {REQUESTER} ({label})")
                found = _adjustment_by_reason(reason, year)
            else:
                echo(f"  budget adjustment {found[0]}: already submitted")
            assert found is not None and found[1]
            number, pid = found
            waiting = advance(engine, pid, {}, what=f"budget adjustment {number}", timeout=60.0)
            echo(f"  {number}: " + (", ".join(sorted({t['name'] for t in waiting})) or "ended"))
            lines += guide.lines(number, pid, reason.removeprefix("【演示】"), requester=REQUESTER,
                                 document_type=DOCUMENT_TYPE)
        lines += guide.later_lines("budget adjustments")
    finally:
        engine.close()
    lines.append(("guo.hua", "smartfin adjustment show ADJ-… — the movements, the tier and the lines' balances "
                             "before you decide"))
    return lines


# ------------------------------------------------------------------------------------------ the chain

def _request_pid(number: str) -> str | None:
    from smartfin.processes.spending.requests import SpendingRequest

    with session_scope() as session:
        row = session.get(SpendingRequest, number)
        return row.process_instance_id if row is not None else None


def _approved_request(engine: EngineClient, number: str, echo: Echo) -> None:
    """The chain's spending request, submitted by its requester and approved all the way (once)."""
    from smartfin.processes.spending.requests import submit_spending_request

    password = demo_password()
    if _request_pid(number) is None:
        person = engine.as_user(REQUESTER, password)
        try:
            submit_spending_request({"department": DEPARTMENT, "category": "materials", "fundingSource": "fiscal",
                                     "amount": str(CHAIN_REQUEST_AMOUNT), "payee": CHAIN_SUPPLIER,
                                     "purpose": "心电监护导联线及血氧探头 ECG leads and SpO2 probes (contract)"},
                                    request_no=number, engine=person)
        finally:
            person.close()
        echo(f"  {number}: submitted by {REQUESTER} (¥{CHAIN_REQUEST_AMOUNT:,})")
    pid = _request_pid(number)
    assert pid
    signed: list[str] = []

    def sign(task: dict[str, Any]) -> None:
        signed.append(sign_as_group_member(engine, task, comment="同意 approved", password=password))

    waiting = advance(engine, pid, {"approveRequest": sign}, what=f"spending request {number}", timeout=60.0)
    if signed:
        echo(f"  {number}: approved by {', '.join(signed)}")
    if waiting:
        raise RuntimeError(f"spending request {number} should be approved but waits at: "
                           f"{', '.join(sorted({t['name'] for t in waiting}))}")


def _registered_contract(request_no: str, contract_no: str, echo: Echo) -> None:
    from smartfin.processes.contracts.contracts import Contract, register_contract, validate_contract

    with session_scope() as session:
        if session.get(Contract, contract_no) is not None:
            echo(f"  contract {contract_no}: already registered")
            return
    today = hospital_today()
    half = (CHAIN_CONTRACT_AMOUNT / 2).quantize(Decimal("0.01"))
    draft = validate_contract(contract_no=contract_no, request_no=request_no, supplier=CHAIN_SUPPLIER,
                              amount=str(CHAIN_CONTRACT_AMOUNT), signed_on=today.isoformat(), department=DEPARTMENT,
                              payments=[f"{today.isoformat()}:{half}",
                                        f"{(today + timedelta(days=60)).isoformat()}:{CHAIN_CONTRACT_AMOUNT - half}"])
    with session_scope() as session:
        register_contract(session, draft, registrar=OFFICER)
    echo(f"  contract {contract_no}: registered by {OFFICER} for {request_no}, ¥{CHAIN_CONTRACT_AMOUNT:,} in two "
         f"instalments; ¥{CHAIN_REQUEST_AMOUNT - CHAIN_CONTRACT_AMOUNT:,} saving released to the line")


def _first_instalment(today: date) -> list[tuple[str, bytes]]:
    half = (CHAIN_CONTRACT_AMOUNT / 2).quantize(Decimal("0.01"))
    net = (half / Decimal("1.13")).quantize(Decimal("0.01"))
    name, data, _ = xml_invoice(
        f"demo-{today.year}-contract-leads", issued=today - timedelta(days=1), seller=CHAIN_SUPPLIER, buyer=HOSPITAL,
        remarks="合同首期款",
        lines=[InvoiceLine("*医疗器械*心电导联线及血氧探头", Decimal(1), net, Decimal("0.13"), unit="批")])
    return [(name, data)]


def _claim_citing(contract_no: str, claim_no: str, engine: EngineClient, echo: Echo) -> str:
    from smartfin.processes.reimbursement.claims import Claim, submit_claim

    password = demo_password()
    with session_scope() as session:
        row = session.get(Claim, claim_no)
        pid = row.process_instance_id if row is not None else None
    if pid is None:
        person = engine.as_user(REQUESTER, password)
        try:
            submit_claim(_first_instalment(hospital_today()), department=DEPARTMENT, category="materials",
                         purpose=f"合同 {contract_no} 首期款 First instalment of contract {contract_no}",
                         claim_no=claim_no, references={"contract_no": contract_no}, engine=person)
        finally:
            person.close()
        echo(f"  {claim_no}: submitted by {REQUESTER}, citing contract {contract_no}")
        with session_scope() as session:
            row = session.get(Claim, claim_no)
            pid = row.process_instance_id if row is not None else None
    assert pid

    def verify(task: dict[str, Any]) -> None:
        complete_as(engine, OFFICER, task, {"decision": "consistent", "comment": "查验一致 / checked: consistent"},
                    password=password)

    waiting = advance(engine, pid, {"verifyManually": verify}, what=f"claim {claim_no}", timeout=120.0)
    echo(f"  {claim_no}: " + (", ".join(sorted({t['name'] for t in waiting})) or "ended"))
    return pid


def chain_step(settings: Settings, echo: Echo) -> list[Guidance]:
    """Request → contract → claim: one reservation carried along the chain, the saving released."""
    from smartfin.processes.reimbursement.claims import DOCUMENT_TYPE as CLAIM_TYPE

    request_no, contract_no, claim_no = chain_numbers(hospital_now().year)
    engine = EngineClient.from_settings(settings)
    try:
        echo("commitment chain (request → contract → claim):")
        _approved_request(engine, request_no, echo)
        _registered_contract(request_no, contract_no, echo)
        pid = _claim_citing(contract_no, claim_no, engine, echo)
        guide = TasklistGuide(engine)
        lines = guide.lines(claim_no, pid, f"citing contract {contract_no}", requester=REQUESTER,
                            document_type=CLAIM_TYPE)
        lines += guide.later_lines("the contract's claim")
    finally:
        engine.close()
    chain = (f"smartfin document chain {request_no} — the request, contract {contract_no} (payment schedule, the "
             f"saving released) and claim {claim_no}, one reservation carried along")
    return [*lines, (REQUESTER, chain), (OFFICER, chain), ("liu.yang", chain)]


# ------------------------------------------------------------------------------------------ assessment

def assessment_step(settings: Settings, echo: Echo) -> list[Guidance]:
    """The current year's performance assessment as of today, as an HTML page and an Excel workbook."""
    from smartfin.budgeting.assessment import assess
    from smartfin.budgeting.assessment_report import assessment_html, assessment_workbook
    from smartfin.kernel.spreadsheet import SpreadsheetFormat, write_export

    year, today = hospital_now().year, hospital_today()
    folder = settings.var_dir / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    page = folder / f"assessment-{year}-{today:%m-%d}.html"
    with session_scope() as session:
        result = assess(session, year, today)
    page.write_text(assessment_html(result), encoding="utf-8")
    write_export(page.with_suffix(".xlsx"), assessment_workbook(result), SpreadsheetFormat.XLSX, replace=True)
    echo(f"  assessment {year} as of {result.as_of}: {page} and {page.with_suffix('.xlsx').name}")
    return [("liu.yang", f"{page} (and .xlsx) — 预算绩效评价 the year so far: execution against time progress, "
                         f"balance rate, indicators; smartfin budget assess --year {year}"),
            ("guo.hua", f"{page} — the departments' scores so far this year")]
