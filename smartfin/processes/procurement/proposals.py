"""Equipment procurement proposals (设备购置论证) as the project keeps them: submission, votes, reviews.

A proposal arrives from the Tasklist start form or from a file given to the command line. Both paths are
checked by ``validate_submission`` — the equipment rules' field checks plus what the process needs
(budget line, proposer, HIS charge codes for devices that get a yearly review) — and every problem names
the form field, so the same words reach the clerk at the command line and in the correction task.

The tables: ``EquipmentProposalRecord`` (one per proposal, its figures and fate), ``CommitteeVote`` (each
member's ballot), ``HisActual`` (monthly actuals imported from HIS exports), ``PostPurchaseReview``
(each yearly variance report). Money is integer fen; reports are stored as JSON text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, Session, SQLModel, select

from extractors.exports.his_charges import ChargeExport
from rules.equipment import (
    CostBenefitReport,
    DocumentLine,
    EquipmentProposal,
    FundingSource,
    ThreeWayMatchResult,
    VarianceReport,
    proposal_from_form,
    validate_form_variables,
)
from rules.equipment.review import ActualRow, actuals_from_charges
from rules.procurement import ProcurementStandards, Tally, standards_on
from rules.procurement.standards import load_standards
from smartfin.kernel.clock import hospital_today, utc_now
from smartfin.kernel.money import InvalidAmount, format_yuan, from_fen, parse_amount, to_fen
from smartfin.kernel.settings import ProcurementSettings
from smartfin.ledger import BudgetLineKey, InvalidBudgetKey, department_problem
from smartfin.processes.documents import BudgetLineDocument, next_document_no

DOCUMENT_TYPE = "procurement-proposal"
PROCESS_KEY = "procurement-evaluation"
DOCUMENTS_MESSAGE = "ProcurementDocumentsReceived"
EQUIPMENT_ECONOMIC_CODE = "31003"  # 专用设备购置 (部门支出经济分类)


def procurement_standards(settings: ProcurementSettings, day: date | None = None) -> ProcurementStandards:
    """The standards in force on ``day`` (default: today in the hospital's time zone)."""
    day = day or hospital_today()
    if settings.standards_file is not None:
        return standards_on(day, load_standards(settings.standards_file))
    return standards_on(day)


def procurement_settings() -> ProcurementSettings:
    """Read afresh on every call: cheap, and a changed environment takes effect without a restart."""
    return ProcurementSettings()



# ----------------------------------------------------------------------------------------------------
# form fields: process variable (camelCase) ↔ equipment rule field (snake_case), with the form's label

FORM_FIELDS: dict[str, tuple[str, str]] = {
    "deviceName": ("device_name", "设备名称 Device"),
    "model": ("model", "型号 Model"),
    "equipmentClass": ("equipment_class", "设备类别 Equipment class"),
    "price": ("price", "购置价格(含配件) Price incl. accessories"),
    "installationCost": ("installation_cost", "安装费 Installation"),
    "roomArea": ("room_area_m2", "机房面积 Room area (m²)"),
    "roomCostPerM2": ("room_cost_per_m2", "机房单位造价 Room cost per m²"),
    "roomDepreciationYears": ("room_depreciation_years", "机房折旧年限 Room depreciation years"),
    "monthlyVolume": ("monthly_volume", "预计月检查量 Expected exams per month"),
    "pricePerExam": ("price_per_exam", "单次收费 Price per exam"),
    "staffCount": ("staff_count", "操作人员数 Operators"),
    "annualCostPerStaff": ("annual_cost_per_staff", "人均年人力成本 Annual cost per operator"),
    "annualMaterials": ("annual_materials", "年材料费 Annual materials"),
    "annualMaintenance": ("annual_maintenance", "年维修保养费 Annual maintenance"),
    "annualUtilities": ("annual_utilities", "年水电费 Annual utilities"),
    "managementFeeRatePct": ("management_fee_rate_pct", "管理费率(%) Management fee rate (%)"),
    "annualOtherCosts": ("annual_other_costs", "其他年费用 Other annual costs"),
    "fundingSource": ("funding_source", "资金来源 Funding source"),
    "economicLifeYears": ("economic_life_years", "经济寿命(年) Economic life (years)"),
    "depreciationYears": ("depreciation_years", "折旧年限 Depreciation years"),
    "designedAnnualCapacity": ("designed_annual_capacity", "设计年产能 Designed annual capacity"),
    "discountRatePct": ("discount_rate_pct", "折现率(%) Discount rate (%)"),
    "chargeCodes": ("charge_codes", "收费编码 HIS charge codes"),
    "permitNumber": ("permit_number", "配置许可证号 Permit number"),
}
RULE_TO_FORM = {rule: key for key, (rule, _label) in FORM_FIELDS.items()}
PROCESS_FIELDS: dict[str, str] = {
    "proposer": "申请人 Proposer",
    "department": "科室编码 Department code",
    "economicCode": "经济分类 Economic code",
    "project": "项目编码 Project",
    "fiscalYear": "预算年度 Fiscal year",
    "justification": "购置理由 Justification",
}
#: what the proposer may change when correcting or revising a proposal (the correction form's fields): the
#: proposal's figures, its department, project and justification — never who proposes it
REVISABLE_FIELDS: tuple[str, ...] = (*FORM_FIELDS, "department", "project", "justification")
_CHARGE_CODE = re.compile(r"^[0-9A-Za-z.\-]{1,32}$")


def field_label(key: str) -> str:
    if key in FORM_FIELDS:
        return FORM_FIELDS[key][1]
    return PROCESS_FIELDS.get(key, key)


class ProposalRefused(ValueError):
    """A submission that cannot go on; ``problems`` are (form field, bilingual reason) pairs."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = list(problems)
        super().__init__(describe_problems(self.problems))

    @property
    def fields(self) -> list[str]:
        return [name for name, _ in self.problems]


def describe_problems(problems: Sequence[tuple[str, str]]) -> str:
    """One line per problem: ``monthlyVolume（预计月检查量 Expected exams per month）: reason``."""
    return "\n".join(f"{name}（{field_label(name)}）: {reason}" for name, reason in problems)


def _json_safe(value: object) -> object:
    """A submitted value as JSON can keep it exactly: floats become the decimal text the clerk typed."""
    if isinstance(value, float):
        return str(Decimal(str(value)))
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def submitted_values(variables: Mapping[str, Any]) -> dict[str, Any]:
    """The proposal's own fields out of a bag of process variables, JSON-safe."""
    keys = list(FORM_FIELDS) + list(PROCESS_FIELDS)
    return {k: _json_safe(variables[k]) for k in keys if k in variables and variables[k] is not None}


@dataclass(frozen=True)
class ProposalSubmission(BudgetLineDocument):
    """A validated proposal with what the process adds: who proposes it and which budget line pays."""

    proposal: EquipmentProposal
    proposer: str
    department: str
    economic_code: str
    project: str
    fiscal_year: int
    justification: str
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def funding_source(self) -> str:  # type: ignore[override]
        """Debt is no ledger funding source: its ``budget_key`` raises InvalidBudgetKey."""
        return self.proposal.funding_source.value if self.proposal.funding_source else ""


def _rule_values(values: Mapping[str, Any], standards: ProcurementStandards) -> dict[str, Any]:
    rule = {FORM_FIELDS[k][0]: v for k, v in values.items() if k in FORM_FIELDS}
    if rule.get("discount_rate_pct") in (None, ""):
        rule["discount_rate_pct"] = str(standards.default_discount_rate_pct)
    return rule


def submission_problems(values: Mapping[str, Any], standards: ProcurementStandards | None = None,
                        *, today: date | None = None) -> list[tuple[str, str]]:
    """Every problem of a submission, named by form field; empty means ``validate_submission`` succeeds."""
    try:
        validate_submission(values, standards, today=today)
    except ProposalRefused as refused:
        return refused.problems
    return []


def validate_submission(values: Mapping[str, Any], standards: ProcurementStandards | None = None,
                        *, today: date | None = None, session: Session | None = None) -> ProposalSubmission:
    """Check a proposal as submitted (form or file) and return it typed, or refuse with all problems; with
    ``session``, also that the department is one in force that day (once department master data is loaded)."""
    day = today or hospital_today()
    standards = standards or procurement_standards(procurement_settings(), day)
    rule_values = _rule_values(values, standards)
    problems: list[tuple[str, str]] = [(RULE_TO_FORM.get(e.field, e.field), e.message)
                                       for e in validate_form_variables(rule_values)]

    def text(name: str, limit: int, *, required: bool = True) -> str:
        value = values.get(name)
        value = "" if value is None else str(value).strip()
        if required and not value:
            problems.append((name, "必填 / is required"))
        elif len(value) > limit:
            problems.append((name, f"不得超过 {limit} 个字符 / is longer than {limit} characters"))
        return value

    proposer = text("proposer", 64)
    department = text("department", 32)
    economic_code = text("economicCode", 10, required=False) or procurement_settings().economic_code
    project = text("project", 32, required=False)
    justification = text("justification", 4000, required=False)
    fiscal_year = day.year
    if values.get("fiscalYear") not in (None, ""):
        try:
            fiscal_year = int(Decimal(str(values["fiscalYear"]).strip()))
        except (InvalidOperation, ValueError):
            problems.append(("fiscalYear", f"不是年份 / is not a year: {values['fiscalYear']!r}"))
    charge_codes = _charge_codes(values.get("chargeCodes"))
    bad_codes = [c for c in charge_codes if not _CHARGE_CODE.match(c)]
    if bad_codes:
        problems.append(("chargeCodes", f"收费编码无效 / invalid charge codes {', '.join(bad_codes)}"))

    proposal = None
    if not any(name in FORM_FIELDS for name, _ in problems):
        proposal = proposal_from_form(rule_values)
        original_value = proposal.price + proposal.installation_cost
        if original_value >= standards.policy.post_purchase_review_threshold and not proposal.charge_codes:
            # Without the device's charge codes the yearly review cannot find its revenue in HIS.
            problems.append(("chargeCodes", f"原值 ≥ ¥{standards.policy.post_purchase_review_threshold:,.0f} "
                                            "的设备须填写 HIS 收费编码以便购置后评价 / required for devices "
                                            "that get a yearly post-purchase review"))
        if department and proposal.funding_source is not FundingSource.DEBT:
            try:
                BudgetLineKey(fiscal_year, department, economic_code, submission_funding(proposal), project)
            except InvalidBudgetKey as exc:
                problems.append((_KEY_PARTS.get(exc.field, exc.field), str(exc)))
    if department and session is not None:
        problem = department_problem(session, department, day)
        if problem is not None:
            problems.append(("department", problem))
    if problems or proposal is None:
        raise ProposalRefused(problems)
    return ProposalSubmission(proposal, proposer, department, economic_code, project, fiscal_year,
                              justification, submitted_values(values))


_KEY_PARTS = {"department": "department", "economic_code": "economicCode", "project": "project",
              "fiscal_year": "fiscalYear", "funding_source": "fundingSource"}


def submission_funding(proposal: EquipmentProposal) -> str:
    return proposal.funding_source.value if proposal.funding_source else ""


def _charge_codes(raw: object) -> list[str]:
    if raw is None:
        return []
    items = raw.split(",") if isinstance(raw, str) else list(raw)  # type: ignore[call-overload]
    return [str(c).strip() for c in items if str(c).strip()]


def proposal_of(values: Mapping[str, Any], standards: ProcurementStandards | None = None) -> EquipmentProposal:
    """Rebuild the typed proposal from the values stored with it (for the review, years later)."""
    standards = standards or procurement_standards(procurement_settings())
    return proposal_from_form(_rule_values(values, standards))


# ----------------------------------------------------------------------------------------------------
# reports as engine variables (money as exact strings, structures as Json)


def _text(value: Decimal | int | None) -> str:
    return "" if value is None else str(value)


def report_document(report: CostBenefitReport) -> dict[str, Any]:
    """Every figure of the cost-benefit report, JSON-ready, money to the fen as strings."""
    costs = report.operating_cost
    return {
        "annualVolume": report.annual_volume,
        "annualRevenue": format_yuan(report.annual_revenue),
        "operatingCost": {"materials": format_yuan(costs.materials), "staff": format_yuan(costs.staff),
                          "utilities": format_yuan(costs.utilities),
                          "maintenance": format_yuan(costs.maintenance),
                          "managementFee": format_yuan(costs.management_fee), "other": format_yuan(costs.other)},
        "cashOperatingCost": format_yuan(report.cash_operating_cost),
        "annualNetCashInflow": format_yuan(report.annual_net_cash_inflow),
        "depreciation": {"equipment": format_yuan(report.depreciation.equipment),
                         "room": format_yuan(report.depreciation.room)},
        "annualDepreciation": format_yuan(report.annual_depreciation),
        "equipmentPrice": format_yuan(report.equipment_price),
        "roomCost": format_yuan(report.room_cost),
        "totalInvestment": format_yuan(report.total_investment),
        "staticPaybackYears": _text(report.static_payback_years),
        "staticPaybackEquipmentOnlyYears": _text(report.static_payback_equipment_only_years),
        "averageRoi": _text(report.average_roi),
        "discountRatePct": _text(report.discount_rate_pct),
        "npv": format_yuan(report.npv),
        "irr": _text(report.irr),
        "discountedPaybackYears": _text(report.discounted_payback_years),
        "variableCostPerExam": format_yuan(report.variable_cost_per_exam),
        "fixedAnnualCost": format_yuan(report.fixed_annual_cost),
        "breakEvenAnnualVolume": _text(report.break_even_annual_volume),
        "utilisation": _text(report.utilisation),
        "lifeCycleCost": format_yuan(report.life_cycle_cost),
        "lifeCycleCostDiscounted": format_yuan(report.life_cycle_cost_discounted),
        "findings": [{"code": f.code, "severity": f.severity.value, "message": f.message,
                      "evidence": dict(f.evidence)} for f in report.findings],
        "blocked": report.blocked,
        "summaryZh": report.summary_zh,
        "summaryEn": report.summary_en,
    }


def findings_text(report: CostBenefitReport) -> str:
    return "\n".join(f"[{f.severity.value}] {f.code}: {f.message}" for f in report.findings)


def variance_document(report: VarianceReport, review_no: int) -> dict[str, Any]:
    """The variance report JSON-ready: the table as rows of strings and the summary."""
    return {"reviewNo": review_no, "months": report.months, "periods": list(report.periods),
            "table": report.table(), "text": variance_text(report), "summaryZh": report.summary_zh,
            "summaryEn": report.summary_en}


def variance_text(report: VarianceReport) -> str:
    """The variance table as aligned text for a read-only form field."""
    rows = report.table()
    widths = [max(len(str(row[i])) for row in rows[1:]) for i in range(len(rows[0]))]
    header = " | ".join(rows[0])
    lines = [" | ".join(str(cell).rjust(widths[i]) for i, cell in enumerate(row)) for row in rows[1:]]
    return "\n".join([header, *lines])


def match_document(result: ThreeWayMatchResult) -> dict[str, Any]:
    def text(value: Decimal | None) -> str:
        return "" if value is None else str(value)

    return {
        "exceptionNeeded": result.exception_needed, "summary": result.summary,
        "poTotal": format_yuan(result.po_total), "invoiceTotal": format_yuan(result.invoice_total),
        "lines": [{"itemCode": m.item_code, "status": m.status.value, "statusText": m.status_text,
                   "orderedQuantity": text(m.ordered_quantity), "receivedQuantity": text(m.received_quantity),
                   "invoicedQuantity": text(m.invoiced_quantity), "orderedUnitPrice": text(m.ordered_unit_price),
                   "invoicedAmount": text(m.invoiced_amount), "expectedAmount": text(m.expected_amount),
                   "reason": m.reason} for m in result.lines],
    }


# ----------------------------------------------------------------------------------------------------
# purchase documents (PO, goods receipt, invoice) as they arrive in process variables or files

DOCUMENT_NAMES = {"purchaseOrder": "采购订单 purchase order", "goodsReceipt": "入库单 goods receipt",
                  "invoice": "发票 invoice"}


class DocumentsInvalid(ValueError):
    """Purchase documents that cannot be matched; names document, line and field."""


def parse_document_lines(name: str, raw: object, *, amount_required: bool = True) -> list[DocumentLine]:
    """Lines ``[{itemCode, quantity, amount, description}]`` (snake_case keys accepted) as typed values."""
    if not isinstance(raw, list) or not raw:
        raise DocumentsInvalid(f"{name}: 须为非空的行列表 / must be a non-empty list of lines")
    lines = []
    for number, item in enumerate(raw, start=1):
        where = f"{name} line {number}"
        if not isinstance(item, Mapping):
            raise DocumentsInvalid(f"{where}: 须为对象 / must be an object with itemCode, quantity, amount")
        code = str(item.get("itemCode", item.get("item_code", "")) or "").strip()
        if not code:
            raise DocumentsInvalid(f"{where}, itemCode: 必填 / is required")
        try:
            quantity = Decimal(str(_json_safe(item.get("quantity"))).strip())
        except (InvalidOperation, ValueError):
            raise DocumentsInvalid(f"{where}, quantity: 不是数字 / is not a number: "
                                   f"{item.get('quantity')!r}") from None
        if not quantity.is_finite() or quantity <= 0:
            raise DocumentsInvalid(f"{where}, quantity: 必须大于零 / must be greater than zero")
        amount = None
        raw_amount = item.get("amount")
        if raw_amount not in (None, "") or amount_required:
            try:
                amount = parse_amount(_json_safe(raw_amount), field=f"{where}, amount")
            except InvalidAmount as exc:
                raise DocumentsInvalid(f"{where}, amount: {exc.reason} / 金额无效") from None
        lines.append(DocumentLine(code, quantity, amount, str(item.get("description", "") or "")))
    return lines


def document_variables(documents: Mapping[str, Any]) -> dict[str, Any]:
    """Check a set of purchase documents and return them as the message's process variables."""
    missing = [k for k in DOCUMENT_NAMES if k not in documents]
    if missing:
        raise DocumentsInvalid(f"缺少单据 / missing documents: {', '.join(missing)}")
    parse_document_lines("purchaseOrder", documents["purchaseOrder"])
    parse_document_lines("goodsReceipt", documents["goodsReceipt"], amount_required=False)
    parse_document_lines("invoice", documents["invoice"])
    return {k: [{kk: _json_safe(vv) for kk, vv in line.items()} for line in documents[k]]
            for k in DOCUMENT_NAMES}


# ----------------------------------------------------------------------------------------------------
# tables


class ProposalStatus:
    SUBMITTED = "submitted"
    INVALID = "invalid"  # waiting for the proposer's correction
    SENT_BACK = "sent-back"  # a committee or meeting sent it back for revision (退回修改)
    EVALUATED = "evaluated"
    BLOCKED = "blocked"
    RESERVED = "reserved"
    CONTRACTED = "contracted"
    DELIVERED = "delivered"
    REJECTED = "rejected"
    NO_BUDGET = "no-budget"
    WITHDRAWN = "withdrawn"
    ABANDONED = "abandoned"
    CLOSED = ("blocked", "rejected", "no-budget", "withdrawn", "abandoned")


class EquipmentProposalRecord(BudgetLineDocument, SQLModel, table=True):
    """One equipment proposal: who asked, which line pays, the evaluation, and what became of it."""

    __tablename__ = "equipment_proposal"

    proposal_no: str = Field(primary_key=True, max_length=40)
    proposer: str = Field(index=True, max_length=64)
    department: str = Field(max_length=32)
    economic_code: str = Field(max_length=10)
    funding_source: str = Field(max_length=16)
    project: str = Field(default="", max_length=32)
    fiscal_year: int
    device_name: str = Field(max_length=200)
    equipment_class: str = Field(max_length=16)
    price_fen: int
    total_investment_fen: int
    charge_codes: str = Field(default="", max_length=500)
    values_json: str = Field(default="{}")
    report_json: str = Field(default="{}")
    status: str = Field(default=ProposalStatus.SUBMITTED, max_length=20, index=True)
    committee_outcome: str | None = Field(default=None, max_length=16)
    committee_summary: str | None = Field(default=None, max_length=1000)
    contract_no: str | None = Field(default=None, max_length=64)
    contract_amount_fen: int | None = None
    president_minutes: str | None = Field(default=None, max_length=100)
    party_minutes: str | None = Field(default=None, max_length=100)
    match_json: str | None = None
    closing_reason: str | None = Field(default=None, max_length=2000)
    process_instance_id: str | None = Field(default=None, max_length=64)
    submitted_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)
    #: who keyed the proposal in when not the proposer: a proxy (代录) or the service's intake
    entered_by: str | None = Field(default=None, max_length=64)

    @property
    def total_investment(self) -> Decimal:
        return from_fen(self.total_investment_fen)

    @property
    def values(self) -> dict[str, Any]:
        return dict(json.loads(self.values_json or "{}"))

    @property
    def report(self) -> dict[str, Any]:
        return dict(json.loads(self.report_json or "{}"))


class CommitteeVote(SQLModel, table=True):
    """One committee member's ballot on one proposal, with the reason given."""

    __tablename__ = "committee_vote"
    __table_args__ = (UniqueConstraint("proposal_no", "member"),)

    id: int | None = Field(default=None, primary_key=True)
    proposal_no: str = Field(index=True, max_length=40)
    member: str = Field(max_length=64)
    vote: str = Field(max_length=10)
    comment: str = Field(default="", max_length=2000)
    voted_at: str = Field(default="", max_length=40)


class HisActual(SQLModel, table=True):
    """Actual use of a device in one month under one charge code, from an HIS export."""

    __tablename__ = "his_actual"
    __table_args__ = (UniqueConstraint("proposal_no", "period", "charge_code"),)

    id: int | None = Field(default=None, primary_key=True)
    proposal_no: str = Field(index=True, max_length=40)
    period: str = Field(max_length=7)
    charge_code: str = Field(max_length=32)
    volume: str = Field(max_length=32)  # exact decimal text: refunds can leave fractions
    revenue_fen: int
    source: str = Field(default="", max_length=300)
    imported_at: datetime = Field(default_factory=utc_now)


class PostPurchaseReview(SQLModel, table=True):
    """One yearly post-purchase review: the periods it covered and its variance report."""

    __tablename__ = "post_purchase_review"
    __table_args__ = (UniqueConstraint("proposal_no", "review_no"),)

    id: int | None = Field(default=None, primary_key=True)
    proposal_no: str = Field(index=True, max_length=40)
    review_no: int
    first_period: str = Field(max_length=7)
    last_period: str = Field(max_length=7)
    months: int
    report_json: str
    summary: str = Field(max_length=2000)
    created_at: datetime = Field(default_factory=utc_now)

    @property
    def report(self) -> dict[str, Any]:
        return dict(json.loads(self.report_json))


def next_proposal_no(session: Session, on: date | None = None) -> str:
    """``EQ-2026-000042``: sequential per year, allocated inside the caller's transaction."""
    return next_document_no(session, EquipmentProposalRecord.proposal_no, "EQ", (on or hospital_today()).year)


def record_proposal(session: Session, proposal_no: str, submission: ProposalSubmission,
                    report: CostBenefitReport | None = None, *, status: str = ProposalStatus.SUBMITTED,
                    process_instance_id: str | None = None) -> EquipmentProposalRecord:
    """Store or update the proposal under its number (a corrected resubmission replaces the figures)."""
    row = session.get(EquipmentProposalRecord, proposal_no)
    proposal = submission.proposal
    total = report.total_investment if report is not None else (
        proposal.price + proposal.installation_cost + proposal.room_area_m2 * proposal.room_cost_per_m2)
    fields = {
        "proposer": submission.proposer, "department": submission.department,
        "economic_code": submission.economic_code, "funding_source": submission.funding_source,
        "project": submission.project, "fiscal_year": submission.fiscal_year,
        "device_name": proposal.device_name, "equipment_class": proposal.equipment_class.value,
        "price_fen": to_fen(proposal.price), "total_investment_fen": to_fen(Decimal(total).quantize(Decimal("0.01"))),
        "charge_codes": ",".join(proposal.charge_codes),
        "values_json": json.dumps(submission.values, ensure_ascii=False, sort_keys=True),
        "status": status, "updated_at": utc_now(),
    }
    if report is not None:
        fields["report_json"] = json.dumps(report_document(report), ensure_ascii=False)
    if row is None:
        row = EquipmentProposalRecord(proposal_no=proposal_no, **fields)
    else:
        for name, value in fields.items():
            setattr(row, name, value)
    if process_instance_id:
        row.process_instance_id = process_instance_id
    session.add(row)
    session.flush()
    return row


def get_proposal(session: Session, proposal_no: str) -> EquipmentProposalRecord:
    row = session.get(EquipmentProposalRecord, proposal_no)
    if row is None:
        raise LookupError(f"设备购置申请 {proposal_no} 不存在 / equipment proposal {proposal_no} is not registered")
    return row


def set_status(session: Session, proposal_no: str, status: str, reason: str | None = None,
               **fields: Any) -> EquipmentProposalRecord:
    row = get_proposal(session, proposal_no)
    row.status = status
    if reason is not None:
        row.closing_reason = reason[:2000]
    for name, value in fields.items():
        setattr(row, name, value)
    row.updated_at = utc_now()
    session.add(row)
    return row


def record_votes(session: Session, proposal_no: str, result: Tally) -> list[CommitteeVote]:
    """Store the latest vote's ballots and the committee's outcome (a re-delivered tally changes nothing).

    A proposal sent back and resubmitted is voted on again: the table then holds the new round's ballots,
    and every round's ballots stay in the audit log (``committee-*`` entries) with their reasons.
    """
    stored = []
    members = {ballot.member for ballot in result.ballots}
    for earlier in session.exec(select(CommitteeVote).where(CommitteeVote.proposal_no == proposal_no)).all():
        if earlier.member not in members:
            session.delete(earlier)
    for ballot in result.ballots:
        existing = session.exec(select(CommitteeVote).where(CommitteeVote.proposal_no == proposal_no,
                                                            CommitteeVote.member == ballot.member)).first()
        if existing is None:
            existing = CommitteeVote(proposal_no=proposal_no, member=ballot.member)
        existing.vote, existing.comment, existing.voted_at = ballot.vote.value, ballot.comment[:2000], ballot.time
        session.add(existing)
        stored.append(existing)
    set_status(session, proposal_no, get_proposal(session, proposal_no).status,
               committee_outcome=result.outcome, committee_summary=result.summary[:1000])
    return stored


def votes_of(session: Session, proposal_no: str) -> list[CommitteeVote]:
    return list(session.exec(select(CommitteeVote).where(CommitteeVote.proposal_no == proposal_no)
                             .order_by(CommitteeVote.id)).all())  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------------
# HIS actuals and reviews


@dataclass(frozen=True)
class HisImport:
    """What an HIS import stored and what it could not read."""

    proposal_no: str
    rows_read: int
    periods: tuple[str, ...]
    errors: tuple[str, ...]
    skipped_other_codes: int


def import_his_actuals(session: Session, proposal_no: str, export: ChargeExport, source: str = "") -> HisImport:
    """Store the device's monthly actuals from a parsed export; a re-import of a month replaces it.

    Replacing, not adding, is what makes importing the same (or a corrected) export twice harmless.
    """
    get_proposal(session, proposal_no)
    actuals = actuals_from_charges(export.rows)
    for actual in actuals:
        row = session.exec(select(HisActual).where(HisActual.proposal_no == proposal_no,
                                                   HisActual.period == actual.period,
                                                   HisActual.charge_code == actual.charge_code)).first()
        if row is None:
            row = HisActual(proposal_no=proposal_no, period=actual.period, charge_code=actual.charge_code,
                            volume=str(actual.volume), revenue_fen=to_fen(actual.revenue), source=source[:300])
        else:
            row.volume, row.revenue_fen, row.source = str(actual.volume), to_fen(actual.revenue), source[:300]
            row.imported_at = utc_now()
        session.add(row)
    return HisImport(proposal_no, len(export.rows), tuple(sorted({a.period for a in actuals})),
                     tuple(str(e) for e in export.errors), export.skipped_other_codes)


def reviews_of(session: Session, proposal_no: str) -> list[PostPurchaseReview]:
    return list(session.exec(select(PostPurchaseReview).where(PostPurchaseReview.proposal_no == proposal_no)
                             .order_by(PostPurchaseReview.review_no)).all())  # type: ignore[arg-type]


def unreviewed_actuals(session: Session, proposal_no: str) -> list[ActualRow]:
    """Actual rows of the months after the last review's last month, oldest first."""
    reviews = reviews_of(session, proposal_no)
    after = reviews[-1].last_period if reviews else ""
    rows = session.exec(select(HisActual).where(HisActual.proposal_no == proposal_no, HisActual.period > after)
                        .order_by(HisActual.period, HisActual.charge_code)).all()  # type: ignore[arg-type]
    return [ActualRow(r.period, r.charge_code, Decimal(r.volume), from_fen(r.revenue_fen)) for r in rows]


def months_spanned(periods: Sequence[str]) -> int:
    """Months from the first to the last ``YYYY-MM`` inclusive: a month without charges still counts."""
    first, last = min(periods), max(periods)
    return (int(last[:4]) - int(first[:4])) * 12 + int(last[5:7]) - int(first[5:7]) + 1
