"""The demo's reimbursement claims: four claims of the cardiology department with generated e-invoices.

Each shows one path of the ``reimbursement`` process, set up as the people would: zhang.wei submits with
her own demo login, and the demo signs in Tasklist's stead as whoever the next task belongs to.

1. a clean claim for cath-lab consumables: verified by hand by the finance officer, then it waits for the
   department head's approval;
2. a trip to a congress in Shanghai whose hotel costs more per night than the lodging standard: the audit
   blocks it and it waits in the finance officer's review with the finding;
3. the invoice of claim 1 submitted again: the hospital-wide invoice registry finds the duplicate and the
   finance officer refuses the claim at review;
4. surgical masks, approved all the way (verification, every step of the routed chain, the finance audit):
   the control step checks the signatures, the voucher is prepared from the record and the posting bot
   keys it into the (stand-in) ERP, and the actual is booked.

Claims carry fixed demo numbers (``DEMO-BX-<year>-01`` …): a claim already recorded is not submitted again,
and a claim a previous run left half-way is moved on from wherever it stands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from extractors.invoice.samples import InvoiceLine, pdf_invoice, xml_invoice
from smartfin.app.demo_users import (
    TaskAct,
    TasklistGuide,
    advance,
    complete_as,
    demo_password,
    sign_as_group_member,
)
from smartfin.camunda.client import EngineClient
from smartfin.kernel.clock import hospital_today
from smartfin.kernel.settings import Settings
from smartfin.processes.approvals import recorded_decisions
from smartfin.processes.reimbursement.claims import DOCUMENT_TYPE as CLAIM_TYPE
from smartfin.processes.reimbursement.claims import Claim, ClaimStatus, submit_claim
from smartfin.store.db import session_scope

CLAIMANT = "zhang.wei"
OFFICER = "wang.fang"
HOSPITAL = "滨江市第一人民医院"
DEPARTMENT = "CARD"


class DemoDataError(RuntimeError):
    """A demo document did not end where the demo puts it; the message says where it stands instead."""


@dataclass(frozen=True)
class DemoClaim:
    """One demo claim: what is submitted, what the demo does on its tasks, where it must end."""

    suffix: str
    label: str
    category: str
    purpose: str
    files: Callable[[int, date], list[tuple[str, bytes]]]
    expect: str  # the task key it waits at, or the claim status it ends in
    travel: Callable[[date], dict[str, Any]] | None = None
    acts: tuple[str, ...] = ()

    def number(self, year: int) -> str:
        return f"DEMO-BX-{year}-{self.suffix}"


def _consumables(year: int, today: date) -> list[tuple[str, bytes]]:
    name, data, _ = xml_invoice(
        f"demo-{year}-consumables", issued=today - timedelta(days=3), seller="北京康泰医疗器械有限公司",
        buyer=HOSPITAL, remarks="导管室 2 号间",
        lines=[InvoiceLine("*医疗器械*一次性使用压力延长管", Decimal(4), Decimal("395.00"), Decimal("0.13"),
                           unit="盒", spec="150cm")])
    return [(name, data)]


def _congress_trip(today: date) -> dict[str, Any]:
    return {"destination": "上海", "province": "上海", "departed": (today - timedelta(days=6)).isoformat(),
            "returned": (today - timedelta(days=3)).isoformat(), "grade": "general"}


def _congress(year: int, today: date) -> list[tuple[str, bytes]]:
    hotel = xml_invoice(
        f"demo-{year}-hotel", issued=today - timedelta(days=3), seller="上海锦程酒店管理有限公司", buyer=HOSPITAL,
        remarks="住宿3晚 大床房",
        lines=[InvoiceLine("*住宿服务*住宿费", Decimal(3), Decimal("780.00"), Decimal("0.06"), unit="天")])
    fee = pdf_invoice(
        f"demo-{year}-congress", "digital-standard", issued=today - timedelta(days=6),
        seller="上海博远会务服务有限公司", buyer=HOSPITAL, remarks="中国心脏大会注册费",
        lines=[InvoiceLine("*会议服务*学术会议注册费", Decimal(1), Decimal("1800.00"), Decimal("0.06"), unit="人")])
    return [(hotel[0], hotel[1]), (f"dzfp_{fee[2]['number']}_上海博远会务服务有限公司.pdf", fee[1])]


def _masks(year: int, today: date) -> list[tuple[str, bytes]]:
    name, data, _ = xml_invoice(
        f"demo-{year}-masks", issued=today - timedelta(days=5), seller="北京仁和医用耗材有限公司", buyer=HOSPITAL,
        lines=[InvoiceLine("*医用耗材*医用外科口罩", Decimal(10), Decimal("26.00"), Decimal("0.13"), unit="包",
                           spec="17.5*9.5cm")])
    return [(name, data)]


CLEAN = DemoClaim("01", "clean, waiting for approval", "materials",
                  "导管室耗材 一次性使用压力延长管 Cath-lab consumables", _consumables, "approveClaim",
                  acts=("verifyManually",))
IN_REVIEW = DemoClaim("02", "in review with a finding", "travel",
                      "参加中国心脏大会（上海） China Heart Congress, Shanghai", _congress, "reviewInvoices",
                      travel=_congress_trip)
DUPLICATE = DemoClaim("03", "the invoice of 01 again, refused as a duplicate", "materials",
                      "导管室耗材补报 Cath-lab consumables", _consumables, ClaimStatus.REJECTED,
                      acts=("reviewInvoices",))
PAID = DemoClaim("04", "approved all the way, voucher posted", "materials",
                 "病区防护用品 医用外科口罩 Surgical masks for the ward", _masks, ClaimStatus.PAID,
                 acts=("verifyManually", "approveClaim", "financeAudit"))
DEMO_CLAIMS = (CLEAN, IN_REVIEW, DUPLICATE, PAID)


def claim_record(number: str) -> Claim | None:
    with session_scope() as session:
        row = session.get(Claim, number)
        if row is not None:
            session.expunge(row)
        return row


def _finding_codes(row: Claim) -> list[str]:
    return [str(f.get("code")) for f in row.findings_list]


class ClaimsDemo:
    """Submits and moves on the demo claims of one year, then says who finds what where."""

    def __init__(self, settings: Settings, engine: EngineClient, echo: Callable[[str], None], year: int) -> None:
        self.settings = settings
        self.engine = engine
        self.echo = echo
        self.year = year
        self.today = hospital_today()
        self.password = demo_password()
        self.invoice_dir = settings.var_dir / "demo" / "invoices"

    # ------------------------------------------------------------------------------ what the demo does

    def _acts(self, claim: DemoClaim) -> dict[str, TaskAct]:
        number = claim.number(self.year)
        original = CLEAN.number(self.year)

        def verify(task: dict[str, Any]) -> None:
            checked = {"decision": "consistent", "comment": "全国增值税发票查验平台查验一致 / checked: consistent"}
            complete_as(self.engine, OFFICER, task, checked, password=self.password)
            self.echo(f"  {number}: {OFFICER} verified the invoices by hand (SMARTFIN_INVOICE_VERIFIER=manual)")

        def approve(task: dict[str, Any]) -> None:
            group = sign_as_group_member(self.engine, task, comment="同意 approved", password=self.password)
            self.echo(f"  {number}: approved by the {group} ({task['name']})")

        def finance_audit(task: dict[str, Any]) -> None:
            complete_as(self.engine, OFFICER, task, {"decision": "approve", "comment": "审核通过 audit passed"},
                        password=self.password)
            self.echo(f"  {number}: finance audit passed ({OFFICER}); voucher and posting follow")

        def refuse_duplicate(task: dict[str, Any]) -> None:
            row = claim_record(number)
            codes = _finding_codes(row) if row else []
            if "INVOICE_DUPLICATE" not in codes:
                raise DemoDataError(f"{number} is in review without the duplicate finding (findings: {codes}); "
                                    f"the demo refuses only a duplicate")
            reason = f"重复报销：发票已在 {original} 中报销 / duplicate: the invoice is claimed in {original}"
            complete_as(self.engine, OFFICER, task, {"reviewAction": "reject", "reviewComment": reason},
                        password=self.password)
            self.echo(f"  {number}: {OFFICER} refused it at review (duplicate of {original})")

        available = {"verifyManually": verify, "approveClaim": approve, "financeAudit": finance_audit,
                     "reviewInvoices": refuse_duplicate}
        return {key: available[key] for key in claim.acts}

    def _save_files(self, number: str, files: list[tuple[str, bytes]]) -> list[Path]:
        folder = self.invoice_dir / number
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, data in files:
            path = folder / name
            path.write_bytes(data)
            paths.append(path)
        return paths

    def submit(self, claim: DemoClaim) -> bool:
        """Submit the claim as its claimant unless it is recorded already; whether it was submitted now."""
        number = claim.number(self.year)
        if claim_record(number) is not None:
            return False
        files = claim.files(self.year, self.today)
        person = self.engine.as_user(CLAIMANT, self.password)
        try:
            submit_claim(files, department=DEPARTMENT, category=claim.category, purpose=claim.purpose,
                         claim_no=number, travel=claim.travel(self.today) if claim.travel else None,
                         engine=person)
        finally:
            person.close()
        paths = self._save_files(number, files)
        self.echo(f"  {number}: submitted by {CLAIMANT} ({claim.label}) with "
                  f"{', '.join(p.name for p in paths)}")
        return True

    def run_one(self, claim: DemoClaim) -> None:
        """Submit (once) and move the claim on until it waits where the demo leaves it."""
        number = claim.number(self.year)
        fresh = self.submit(claim)
        row = claim_record(number)
        assert row is not None and row.process_instance_id
        acted: list[str] = []

        def counted(act: TaskAct) -> TaskAct:
            def run(task: dict[str, Any]) -> None:
                act(task)
                acted.append(task["taskDefinitionKey"])
            return run

        acts = {key: counted(act) for key, act in self._acts(claim).items()}
        waiting = advance(self.engine, row.process_instance_id, acts, what=f"claim {number}", timeout=180.0)
        fresh = fresh or bool(acted)  # this run submitted it or moved it on (after an interrupted run)
        row = claim_record(number)
        assert row is not None
        keys = sorted({task["taskDefinitionKey"] for task in waiting})
        where = ", ".join(sorted({task["name"] for task in waiting})) if waiting else f"ended {row.status}"
        if claim.expect in keys or (not waiting and row.status == claim.expect):
            self.echo(f"  {number}: {where}" + ("" if fresh else " (set up by an earlier run)"))
            return
        if fresh:
            raise DemoDataError(f"claim {number} ({claim.label}) should wait at or end in {claim.expect!r} but "
                                f"stands at: {where}; findings {_finding_codes(row)}, closing reason "
                                f"{row.closing_reason!r}")
        self.echo(f"  {number}: now {where} (changed since the demo set it up)")

    def run(self) -> list[tuple[str, str]]:
        self.echo(f"reimbursement claims of {DEPARTMENT} with generated e-invoices (files: {self.invoice_dir}):")
        for claim in DEMO_CLAIMS:
            self.run_one(claim)
        return self.guidance()

    # ------------------------------------------------------------------------------- what to open

    def guidance(self) -> list[tuple[str, str]]:
        guide = TasklistGuide(self.engine, password=self.password)
        numbers = {claim.suffix: claim.number(self.year) for claim in DEMO_CLAIMS}
        lines: list[tuple[str, str]] = []
        for claim in DEMO_CLAIMS:
            row = claim_record(numbers[claim.suffix])
            if row is not None and row.process_instance_id:
                note = "finding: " + ", ".join(_finding_codes(row)) if claim is IN_REVIEW else claim.label
                lines += guide.lines(row.claim_no, row.process_instance_id, note, requester=row.claimant,
                                     document_type=CLAIM_TYPE)
        lines += guide.later_lines("claims")
        first, paid = numbers[CLEAN.suffix], numbers[PAID.suffix]
        signed: dict[str, list[str]] = {}
        with session_scope() as session:
            for decision in recorded_decisions(session, CLAIM_TYPE, paid):
                signed.setdefault(decision.user_id, []).append(decision.task_key)
        lines += [(user, f"smartfin document show {paid} — the paid claim you signed ({', '.join(tasks)}): each "
                         f"signature checked against the engine's history before the voucher")
                  for user, tasks in signed.items()]
        lines += [
            (CLAIMANT, f"smartfin claim show {first} (… {paid}) — your four claims: files read, findings, status"),
            (CLAIMANT, f"the generated e-invoices you submitted: {self.invoice_dir}/"),
            (OFFICER, f"smartfin claim show {numbers[DUPLICATE.suffix]} — the duplicate refused (INVOICE_DUPLICATE)"),
            (OFFICER, f"smartfin document show {paid} — the journal of the paid claim: reserved, then the actual"),
            (OFFICER, f"stand-in ERP {self.settings.erp_url}/voucher/search?ref=reimbursement-claim:{paid} — the "
                      f"voucher the posting bot keyed (ERP logins: {self.settings.var_dir / 'portals'}/"
                      f"demo-accounts.json); smartfin posting-status reimbursement-claim:{paid}"),
            ("liu.yang", f"smartfin budget show --department {DEPARTMENT} — pre-encumbrance and actual of the claims"),
        ]
        return lines
