"""Import the cost month's files: direct costs, shared costs, drivers, HIS revenue, workload, charge lines, the
item catalogue and cases — plus the dated configuration (cost-centre profiles, allocation drivers, the HIS map).

Files are read like the budget and the departments (``smartfin.kernel.import_files``): CSV in UTF-8 or GBK
(detected) or ``.xlsx``; one header row naming canonical columns or their Chinese aliases; unknown columns
refused. Amounts are yuan with at most two decimals, stored as fen; quantities are exact decimals ≥ 0.

Rules
-----
* A file with any bad row changes nothing; every problem is listed as (row, column, reason): a missing or
  negative amount, an unknown cost item or kind, a centre that is not a department in force on the month's
  last day, a HIS department without a mapping (``his-map``), a duplicate key.
* Monthly kinds keep one file per (month, kind): importing a kind again for a month REPLACES its rows (never
  adds); the same file (same sha256) again changes nothing. Every import that changes something is audited.
* Rows of money kinds (payroll, materials, depreciation, direct, revenue, charges) may repeat a key — a
  payroll listing per employee group sums per centre; keyed kinds refuse a repeated key: ``shared`` (name),
  ``drivers`` (centre, driver), ``workload`` (centre, measure), ``items`` (item_code), ``cases`` (case_id),
  ``profile`` (centre, valid_from), ``his-map`` (his_department), ``allocation`` (stage, subject, valid_from).
* Configuration kinds are dated, not monthly: a profile or allocation row opens a version from its
  ``valid_from`` (default: the first day of ``--month``, else today); the version before it ends the day
  before; a row with the ``valid_from`` of a stored version corrects that version. ``his-map`` rows set the
  mapping of their HIS code.

The whole file is validated column by column (no object per row), so a month's million charge lines import
in seconds; rows are written with SQLAlchemy core ``insert`` in chunks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd
from sqlalchemy import delete, insert
from sqlmodel import Session, SQLModel, col, select

from smartfin.costing.model import CostItem, Service
from smartfin.costing.tables import (
    CODE_MAX,
    KEY_MAX,
    NAME_MAX,
    AllocationRule,
    AllocationStage,
    CaseInput,
    CentreProfile,
    ChargeInput,
    CostImport,
    DirectInput,
    DriverInput,
    HisDepartmentMap,
    ItemInput,
    RevenueInput,
    SharedInput,
    WorkloadInput,
)
from smartfin.kernel.clock import hospital_today, month_days
from smartfin.kernel.import_files import (
    KEY_COLUMN,
    ROW_COLUMN,
    ImportFormat,
    ImportIssue,
    cell_amount,
    cell_date,
    cell_text,
    is_blank,
    read_import_frame,
)
from smartfin.kernel.money import to_fen
from smartfin.ledger.departments import Department, departments_on
from smartfin.store.audit import record_audit

CHUNK = 20_000  # rows per INSERT statement batch

_CENTRE = {"科室": "centre", "科室编码": "centre", "科室代码": "centre", "成本中心": "centre", "核算单元": "centre",
           "核算科室": "centre", "cost_centre": "centre", "department": "centre"}
_AMOUNT = {"金额": "amount", "金额(元)": "amount", "发生额": "amount", "amount_yuan": "amount"}
_COST_ITEM = {"成本项目": "cost_item", "项目": "cost_item", "item": "cost_item"}
_VALID_FROM = {"生效日期": "valid_from", "启用日期": "valid_from", "开始日期": "valid_from"}

COST_ITEM_ALIASES: dict[str, CostItem] = {
    **{i.value: i for i in CostItem},
    "人员经费": CostItem.PERSONNEL, "人员": CostItem.PERSONNEL, "卫生材料费": CostItem.MATERIALS,
    "卫生材料": CostItem.MATERIALS, "材料": CostItem.MATERIALS, "药品费": CostItem.DRUGS, "药品": CostItem.DRUGS,
    "固定资产折旧费": CostItem.DEPRECIATION, "折旧": CostItem.DEPRECIATION, "无形资产摊销费": CostItem.AMORTISATION,
    "摊销": CostItem.AMORTISATION, "提取医疗风险基金": CostItem.RISK_FUND, "医疗风险基金": CostItem.RISK_FUND,
    "其他运行费用": CostItem.OTHER, "其他": CostItem.OTHER,
}
MATERIAL_KINDS = {"materials": CostItem.MATERIALS, "material": CostItem.MATERIALS, "卫生材料": CostItem.MATERIALS,
                  "材料": CostItem.MATERIALS, "drugs": CostItem.DRUGS, "drug": CostItem.DRUGS, "药品": CostItem.DRUGS}
ASSET_KINDS = {"fixed": CostItem.DEPRECIATION, "固定资产": CostItem.DEPRECIATION,
               "intangible": CostItem.AMORTISATION, "无形资产": CostItem.AMORTISATION}
ITEM_KINDS = {"service": "service", "服务": "service", "医疗服务": "service", "drug": "drug", "药品": "drug",
              "material": "material", "材料": "material", "卫生材料": "material"}
SERVICES = {**{s.value: s.value for s in Service}, "门诊": "outpatient", "门急诊": "outpatient", "住院": "inpatient",
            "无": "none"}
STAGES = {**{s.value: s.value for s in AllocationStage}, "行政后勤": "administrative", "医疗辅助": "auxiliary",
          "公共费用": "shared"}


@dataclass(frozen=True)
class CostFileKind:
    """One kind of cost file: its columns, and whether it belongs to a month or is dated configuration."""

    name: str
    format: ImportFormat
    monthly: bool = True
    table: type[SQLModel] | None = None
    cost_items: tuple[CostItem, ...] = ()   # the items a direct-cost file supplies (see actuals.py)


def _kind(name: str, columns: tuple[str, ...], aliases: dict[str, str], *, required: tuple[str, ...] | None = None,
          monthly: bool = True, table: type[SQLModel] | None = None,
          cost_items: tuple[CostItem, ...] = ()) -> CostFileKind:
    fmt = ImportFormat(f"cost {name} file", columns, required or columns, aliases)
    return CostFileKind(name, fmt, monthly, table, cost_items)


KINDS: dict[str, CostFileKind] = {k.name: k for k in (
    _kind("profile", ("centre", "service", "beds", "area_m2", "headcount", "valid_from"),
          {**_CENTRE, **_VALID_FROM, "服务类型": "service", "门诊住院": "service", "床位": "beds", "床位数": "beds",
           "编制床位": "beds", "面积": "area_m2", "房屋面积": "area_m2", "面积(平方米)": "area_m2", "area": "area_m2",
           "人数": "headcount", "人员数": "headcount", "职工人数": "headcount"},
          required=("centre", "service"), monthly=False),
    _kind("his-map", ("his_department", "centre"),
          {**_CENTRE, "HIS科室": "his_department", "his科室": "his_department", "HIS科室编码": "his_department",
           "his科室编码": "his_department", "his_code": "his_department"}, monthly=False),
    _kind("allocation", ("stage", "subject", "driver", "valid_from"),
          {**_VALID_FROM, "阶段": "stage", "分摊类别": "stage", "对象": "subject", "分摊对象": "subject",
           "动因": "driver", "分摊动因": "driver", "分摊参数": "driver"},
          required=("stage", "driver"), monthly=False),
    _kind("payroll", ("centre", "amount"), {**_CENTRE, **_AMOUNT, "应发工资": "amount", "工资总额": "amount"},
          table=DirectInput, cost_items=(CostItem.PERSONNEL,)),
    _kind("materials", ("centre", "kind", "amount"),
          {**_CENTRE, **_AMOUNT, "类别": "kind", "领用类别": "kind", "领用金额": "amount"},
          table=DirectInput, cost_items=(CostItem.MATERIALS, CostItem.DRUGS)),
    _kind("depreciation", ("centre", "kind", "amount"),
          {**_CENTRE, **_AMOUNT, "类别": "kind", "资产类别": "kind", "折旧额": "amount", "摊销额": "amount"},
          table=DirectInput, cost_items=(CostItem.DEPRECIATION, CostItem.AMORTISATION)),
    _kind("direct", ("centre", "cost_item", "amount"), {**_CENTRE, **_AMOUNT, **_COST_ITEM}, table=DirectInput),
    _kind("shared", ("name", "cost_item", "amount"),
          {**_AMOUNT, **_COST_ITEM, "名称": "name", "费用名称": "name", "公共费用": "name"}, table=SharedInput),
    _kind("drivers", ("centre", "driver", "quantity"),
          {**_CENTRE, "动因": "driver", "分摊动因": "driver", "数量": "quantity", "用量": "quantity"},
          table=DriverInput),
    _kind("revenue", ("ordering_department", "performing_department", "amount"),
          {**_AMOUNT, "开单科室": "ordering_department", "开单科室编码": "ordering_department",
           "执行科室": "performing_department", "执行科室编码": "performing_department", "收入": "amount"},
          table=RevenueInput),
    _kind("workload", ("centre", "measure", "quantity"),
          {**_CENTRE, "指标": "measure", "工作量指标": "measure", "工作量项目": "measure", "数量": "quantity",
           "工作量": "quantity"}, table=WorkloadInput),
    _kind("charges", ("case_id", "item_code", "item_kind", "ordering_department", "performing_department",
                      "quantity", "amount"),
          {**_AMOUNT, "病案号": "case_id", "住院号": "case_id", "病例号": "case_id", "就诊号": "case_id",
           "项目编码": "item_code", "收费项目编码": "item_code", "项目类别": "item_kind", "收费类别": "item_kind",
           "开单科室": "ordering_department", "开单科室编码": "ordering_department",
           "执行科室": "performing_department", "执行科室编码": "performing_department", "数量": "quantity"},
          table=ChargeInput),
    _kind("items", ("item_code", "name", "rvu", "charge"),
          {"项目编码": "item_code", "收费项目编码": "item_code", "项目名称": "name", "名称": "name",
           "成本当量": "rvu", "相对值": "rvu", "收费标准": "charge", "单价": "charge", "价格": "charge"},
          required=("item_code", "rvu", "charge"), table=ItemInput),
    _kind("cases", ("case_id", "department", "drg_group", "payment"),
          {"病案号": "case_id", "住院号": "case_id", "病例号": "case_id", "出院科室": "department",
           "科室": "department", "科室编码": "department", "DRG组": "drg_group", "drg组": "drg_group",
           "病组": "drg_group", "DIP病种": "drg_group", "dip病种": "drg_group", "分组": "drg_group",
           "医保支付": "payment", "支付标准": "payment", "结算金额": "payment"}, table=CaseInput),
)}
MONTHLY_KINDS = tuple(k for k, spec in KINDS.items() if spec.monthly)


@dataclass(slots=True)
class CostImportReport:
    """What an import did — or, when ``errors`` is not empty, why it did nothing."""

    kind: str
    month: str | None
    source: str
    sha256: str
    rows: int = 0
    replaced: bool = False       # an earlier file of the month's kind was replaced
    unchanged: bool = False      # the same file was imported before: nothing changed
    versions: int = 0            # configuration: versions opened or corrected, mappings set
    errors: list[ImportIssue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class CostImportError(ValueError):
    """An import was refused; ``report.errors`` lists why."""

    def __init__(self, report: CostImportReport) -> None:
        self.report = report
        super().__init__("; ".join(str(issue) for issue in report.errors[:20]))


# ------------------------------------------------------------------------------------------- reading

class _Columns:
    """Typed, validated columns of one file; every problem becomes an ``ImportIssue`` with its row."""

    def __init__(self, frame: pd.DataFrame, issues: list[ImportIssue]) -> None:
        self.frame = frame
        self.rows = frame[ROW_COLUMN]
        self.issues = issues

    def fail(self, mask: pd.Series, column: str, reason: str | Callable[[Any], str],
             values: pd.Series | None = None) -> None:
        if not mask.any():
            return
        if isinstance(reason, str):
            self.issues.extend(ImportIssue(int(r), column, reason) for r in self.rows[mask])
        else:
            assert values is not None
            self.issues.extend(ImportIssue(int(r), column, reason(v))
                               for r, v in zip(self.rows[mask], values[mask], strict=True))

    def raw(self, column: str) -> pd.Series:
        if column in self.frame:
            return self.frame[column]
        return pd.Series([""] * len(self.frame), index=self.frame.index, dtype=object)

    def text(self, column: str, *, required: bool = True, max_len: int = KEY_MAX) -> pd.Series:
        values = _texts(self.raw(column))
        if required:
            self.fail(values == "", column, "is missing")
        self.fail(values.str.len() > max_len, column, f"is longer than {max_len} characters")
        return values

    def choice(self, column: str, choices: dict[str, Any], what: str) -> pd.Series:
        values = self.text(column)
        keys = values.str.lower()
        found = keys.map(lambda k: choices.get(k))
        accepted = ", ".join(dict.fromkeys(str(v) for v in choices.values()))
        self.fail(found.isna() & (values != ""), column,
                  lambda v: f"unknown {what} {v!r} (use {accepted})", values)
        return found.fillna("").map(str)

    def amount_fen(self, column: str) -> pd.Series:
        raw = self.raw(column)
        texts = _texts(raw)
        fen = pd.Series(0, index=raw.index, dtype="int64")
        fast = texts.str.fullmatch(r"\d{1,13}(?:\.\d{1,2})?")
        if fast.any():
            parts = texts[fast].str.partition(".")
            fen[fast] = parts[0].astype("int64") * 100 + parts[2].str.ljust(2, "0").astype("int64")
        self.fail((texts == "") & ~fast, column, "is missing")
        for index in texts.index[~fast & (texts != "")]:
            row_no = int(self.rows[index])
            amount = cell_amount(raw[index], column, lambda c, reason, row_no=row_no: self.issues.append(
                ImportIssue(row_no, c, reason)), required=True)
            if amount is not None:
                fen[index] = to_fen(amount)
        return fen

    def quantity(self, column: str, *, required: bool = True) -> pd.Series:
        texts = _texts(self.raw(column))
        values = pd.Series([Decimal(0)] * len(texts), index=texts.index, dtype=object)
        fast = texts.str.fullmatch(r"\d{1,15}(?:\.\d{1,10})?")
        values[fast] = [Decimal(t) for t in texts[fast]]
        if required:
            self.fail(texts == "", column, "is missing")
        for index in texts.index[~fast & (texts != "")]:
            try:
                number = Decimal(texts[index].replace(",", ""))
            except InvalidOperation:
                number = None
            if number is None or not number.is_finite() or number < 0:
                self.issues.append(ImportIssue(int(self.rows[index]), column,
                                               f"must be a number ≥ 0 (got {texts[index]!r})"))
            else:
                values[index] = number
        return values

    def centre(self, column: str, centres: set[str], on: date) -> pd.Series:
        values = self.text(column, max_len=CODE_MAX)
        self.fail(~values.isin(centres) & (values != ""), column,
                  lambda v: f"cost centre {v!r} is not a department in force on {on.isoformat()}", values)
        return values

    def his(self, column: str, his_map: dict[str, str], centres: set[str], on: date) -> pd.Series:
        values = self.text(column)
        mapped = values.map(his_map)
        self.fail(mapped.isna() & (values != ""), column,
                  lambda v: f"HIS department {v!r} is not mapped to a cost centre (import it with the his-map file)",
                  values)
        self.fail(mapped.notna() & ~mapped.isin(centres), column,
                  lambda v: f"HIS department {v!r} maps to {his_map[v]!r}, which is not a department in force on "
                            f"{on.isoformat()}", values)
        return mapped.fillna("")

    def unique(self, keys: list[pd.Series], column: str, what: str) -> None:
        key = pd.Series(list(zip(*keys, strict=True)), index=self.frame.index, dtype=object)
        complete = pd.concat([k != "" for k in keys], axis=1).all(axis=1) if keys else key.notna()
        repeated = key.duplicated(keep="first") & complete
        if repeated.any():
            first_row = dict(zip(key[~key.duplicated(keep="first")], self.rows[~key.duplicated(keep="first")],
                                 strict=True))
            self.fail(repeated, column, lambda k: f"duplicate {what} {'/'.join(map(str, k))!r} "
                                                  f"(first on row {first_row[k]})", key)


def _texts(values: pd.Series) -> pd.Series:
    """Cells as text (``cell_text``), column-wise when the column is all strings (CSV)."""
    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        stripped = values.str.strip()
        return stripped if stripped.str.isascii().all() else stripped.str.normalize("NFKC").str.strip()
    return values.map(cell_text).astype(object)


# ------------------------------------------------------------------------------------------- import

def import_cost_file(session: Session, kind: str, content: bytes, *, month: str | None, filename: str,
                     actor: str) -> CostImportReport:
    """Import one cost file in the caller's transaction, all or nothing (see the module docstring).

    Returns the report instead of raising on bad rows, as the other imports do: whoever keeps the file
    wants every problem at once. ``month`` is required for the monthly kinds; for ``profile`` and
    ``allocation`` it gives the default ``valid_from`` (the month's first day).
    """
    digest = hashlib.sha256(content).hexdigest()
    report = CostImportReport(kind=kind, month=month, source=filename, sha256=digest)
    spec = KINDS.get(kind)
    if spec is None:
        report.errors.append(ImportIssue(0, "kind", f"unknown cost file kind {kind!r} (use {', '.join(KINDS)})"))
        return report
    days: tuple[date, date] | None = None
    if month is not None or spec.monthly:
        try:
            days = month_days(month or "")
        except ValueError as exc:
            report.errors.append(ImportIssue(0, "month", str(exc)))
            return report
    existing = None
    if spec.monthly:
        existing = session.exec(select(CostImport).where(CostImport.month == month, CostImport.kind == kind)).first()
        if existing is not None and existing.sha256 == digest:
            report.rows, report.unchanged = existing.rows, True
            return report
    frame, issues = read_import_frame(content, filename, spec.format)
    report.errors.extend(issues)
    if frame is None:
        return report
    report.rows = len(frame)
    if not len(frame):
        report.errors.append(ImportIssue(1, KEY_COLUMN, "the file has no rows"))
        return report
    columns = _Columns(frame, report.errors)
    if spec.monthly:
        assert days is not None and month is not None
        rows = _MONTHLY[kind](session, columns, days[1])
        if not report.errors:
            _store_month(session, spec, rows, month, existing, report, actor)
    else:
        _CONFIG[kind](session, columns, days[0] if days else hospital_today(), report, actor)
    if report.errors:
        report.errors[:] = dict.fromkeys(report.errors)
        spec.format.sort(report.errors)
    return report


def _store_month(session: Session, spec: CostFileKind, rows: pd.DataFrame, month: str, existing: CostImport | None,
                 report: CostImportReport, actor: str) -> None:
    """Replace the month's rows of this kind by the file's, in one unit with its audit entry."""
    assert spec.table is not None
    table = spec.table.__table__  # type: ignore[attr-defined]
    with session.begin_nested():
        if existing is not None:
            session.execute(delete(table).where(table.c.import_id == existing.id))
            existing.sha256, existing.filename, existing.rows = report.sha256, report.source, report.rows
            existing.imported_by = actor
            record = existing
            report.replaced = True
        else:
            record = CostImport(month=month, kind=spec.name, sha256=report.sha256, filename=report.source,
                                rows=report.rows, imported_by=actor)
        session.add(record)
        session.flush()
        rows = rows.assign(import_id=record.id, month=month)
        for start in range(0, len(rows), CHUNK):
            session.execute(insert(table), rows.iloc[start:start + CHUNK].to_dict("records"))
        record_audit(session, actor=actor, action="cost.input.imported", subject_type="cost_import",
                     subject_id=f"{month}/{spec.name}", details={
                         "file": report.source, "sha256": report.sha256, "rows": report.rows,
                         "replaced": report.replaced})


def _centres(session: Session, on: date) -> set[str]:
    return {d.code for d in departments_on(session, on)}


def _his_map(session: Session) -> dict[str, str]:
    return {m.his_department: m.centre for m in session.exec(select(HisDepartmentMap)).all()}


def _direct(source: str, items: Callable[[_Columns], pd.Series]) -> Callable[[Session, _Columns, date], pd.DataFrame]:
    def read(session: Session, c: _Columns, last: date) -> pd.DataFrame:
        return pd.DataFrame({"row_no": c.rows, "centre": c.centre("centre", _centres(session, last), last),
                             "cost_item": items(c), "amount_fen": c.amount_fen("amount"), "source": source})
    return read


def _shared(session: Session, c: _Columns, last: date) -> pd.DataFrame:
    name = c.text("name")
    c.unique([name], "name", "shared cost")
    return pd.DataFrame({"row_no": c.rows, "name": name, "cost_item": c.choice("cost_item", COST_ITEM_ALIASES,
                                                                               "cost item"),
                         "amount_fen": c.amount_fen("amount")})


def _drivers(session: Session, c: _Columns, last: date) -> pd.DataFrame:
    centre, driver = c.centre("centre", _centres(session, last), last), c.text("driver")
    c.unique([centre, driver], "driver", "centre/driver")
    return pd.DataFrame({"row_no": c.rows, "centre": centre, "driver": driver,
                         "quantity": c.quantity("quantity").map(str)})


def _workload(session: Session, c: _Columns, last: date) -> pd.DataFrame:
    centre, measure = c.centre("centre", _centres(session, last), last), c.text("measure")
    c.unique([centre, measure], "measure", "centre/measure")
    return pd.DataFrame({"row_no": c.rows, "centre": centre, "measure": measure,
                         "quantity": c.quantity("quantity").map(str)})


def _revenue(session: Session, c: _Columns, last: date) -> pd.DataFrame:
    centres, his_map = _centres(session, last), _his_map(session)
    return pd.DataFrame({"row_no": c.rows,
                         "ordering_centre": c.his("ordering_department", his_map, centres, last),
                         "performing_centre": c.his("performing_department", his_map, centres, last),
                         "ordering_his": c.text("ordering_department"),
                         "performing_his": c.text("performing_department"),
                         "amount_fen": c.amount_fen("amount")})


def _charges(session: Session, c: _Columns, last: date) -> pd.DataFrame:
    centres, his_map = _centres(session, last), _his_map(session)
    # an outpatient line belongs to no inpatient case: its case_id is empty
    return pd.DataFrame({"row_no": c.rows, "case_id": c.text("case_id", required=False),
                         "item_code": c.text("item_code"),
                         "item_kind": c.choice("item_kind", ITEM_KINDS, "item kind"),
                         "ordering_centre": c.his("ordering_department", his_map, centres, last),
                         "performing_centre": c.his("performing_department", his_map, centres, last),
                         "quantity": c.quantity("quantity").map(str), "amount_fen": c.amount_fen("amount")})


def _items(session: Session, c: _Columns, last: date) -> pd.DataFrame:
    code = c.text("item_code")
    c.unique([code], "item_code", "item")
    return pd.DataFrame({"row_no": c.rows, "item_code": code, "name": c.text("name", required=False,
                                                                             max_len=NAME_MAX),
                         "rvu": c.quantity("rvu").map(str), "charge_fen": c.amount_fen("charge")})


def _cases(session: Session, c: _Columns, last: date) -> pd.DataFrame:
    case_id = c.text("case_id")
    c.unique([case_id], "case_id", "case")
    return pd.DataFrame({"row_no": c.rows, "case_id": case_id,
                         "centre": c.his("department", _his_map(session), _centres(session, last), last),
                         "drg_group": c.text("drg_group"), "payment_fen": c.amount_fen("payment")})


_MONTHLY: dict[str, Callable[[Session, _Columns, date], pd.DataFrame]] = {
    "payroll": _direct("payroll", lambda c: pd.Series(CostItem.PERSONNEL.value, index=c.rows.index)),
    "materials": _direct("materials", lambda c: c.choice("kind", MATERIAL_KINDS, "materials kind")),
    "depreciation": _direct("depreciation", lambda c: c.choice("kind", ASSET_KINDS, "asset kind")),
    "direct": _direct("direct", lambda c: c.choice("cost_item", COST_ITEM_ALIASES, "cost item")),
    "shared": _shared, "drivers": _drivers, "revenue": _revenue, "workload": _workload, "charges": _charges,
    "items": _items, "cases": _cases,
}


# ------------------------------------------------------------------------------------- configuration

def _valid_from(c: _Columns, default: date) -> pd.Series:
    def read(value: object, row_no: int) -> date:
        if is_blank(value):
            return default
        found = cell_date(value, "valid_from", lambda column, reason: c.issues.append(
            ImportIssue(row_no, column, reason)))
        return found or default
    return pd.Series([read(v, int(r)) for v, r in zip(c.raw("valid_from"), c.rows, strict=True)],
                     index=c.rows.index, dtype=object)


def _import_profile(session: Session, c: _Columns, default_from: date, report: CostImportReport, actor: str) -> None:
    centre = c.text("centre", max_len=CODE_MAX)
    service = c.choice("service", SERVICES, "service")
    beds = c.quantity("beds", required=False)
    c.fail(beds.map(lambda b: b != b.to_integral_value()), "beds", "must be a whole number")
    area, headcount = c.quantity("area_m2", required=False), c.quantity("headcount", required=False)
    starts = _valid_from(c, default_from)
    c.unique([centre, starts.map(str)], "valid_from", "centre/valid_from")
    departments: dict[str, list[Department]] = {}
    for version in session.exec(select(Department)).all():
        departments.setdefault(version.code, []).append(version)
    for row_no, code, start in zip(c.rows, centre, starts, strict=True):
        if code and not any(v.in_force(start) for v in departments.get(code, [])):
            c.issues.append(ImportIssue(int(row_no), "centre",
                                        f"cost centre {code!r} is not a department in force on {start.isoformat()}"))
    if c.issues:
        return
    values = [{"service": s, "beds": int(b), "area_m2": str(a), "headcount": str(h)}
              for s, b, a, h in zip(service, beds, area, headcount, strict=True)]
    _merge_versions(session, CentreProfile, [((code,), start, value) for code, start, value
                                             in zip(centre, starts, values, strict=True)],
                    ("centre",), report, actor, "cost.profile")


def _import_allocation(session: Session, c: _Columns, default_from: date, report: CostImportReport,
                       actor: str) -> None:
    stage = c.choice("stage", STAGES, "allocation stage")
    subject = c.text("subject", required=False)
    driver = c.text("driver")
    starts = _valid_from(c, default_from)
    c.fail((stage == AllocationStage.SHARED.value) & (subject == ""), "subject",
           "a shared-cost rule names the shared cost (e.g. utilities)")
    c.fail((stage == AllocationStage.ADMINISTRATIVE.value) & (subject != ""), "subject",
           "the administrative stage has one driver for every administrative centre: leave subject empty")
    c.unique([stage, subject, starts.map(str)], "valid_from", "stage/subject/valid_from")
    if c.issues:
        return
    _merge_versions(session, AllocationRule, [((st, su), start, {"driver": d}) for st, su, d, start
                                              in zip(stage, subject, driver, starts, strict=True)],
                    ("stage", "subject"), report, actor, "cost.allocation_rule")


def _merge_versions(session: Session, model: Any, rows: list[tuple[tuple[str, ...], date, dict[str, Any]]],
                    key_columns: tuple[str, ...], report: CostImportReport, actor: str, action: str) -> None:
    """Open or correct dated versions, then end each version the day before the next of its key begins."""
    stored: dict[tuple[str, ...], list[Any]] = {}
    for version in session.exec(select(model)).all():
        stored.setdefault(tuple(getattr(version, k) for k in key_columns), []).append(version)
    touched: set[tuple[str, ...]] = set()
    with session.begin_nested():
        for key, start, values in rows:
            same = next((v for v in stored.get(key, []) if v.valid_from == start), None)
            if same is not None:
                if all(getattr(same, k) == v for k, v in values.items()):
                    continue
                for k, v in values.items():
                    setattr(same, k, v)
                session.add(same)
                verb = "corrected"
            else:
                same = model(**dict(zip(key_columns, key, strict=True)), **values, valid_from=start,
                             created_by=actor)
                session.add(same)
                stored.setdefault(key, []).append(same)
                verb = "opened"
            touched.add(key)
            report.versions += 1
            record_audit(session, actor=actor, action=f"{action}.{verb}", subject_type=action.split(".")[1],
                         subject_id="/".join(key) or "-", details={"valid_from": start, **values})
        for key in touched:
            ordered = sorted(stored[key], key=lambda v: v.valid_from)
            for version, following in zip(ordered, [*ordered[1:], None], strict=True):
                end = following.valid_from - timedelta(days=1) if following is not None else None
                if version.valid_to != end:
                    version.valid_to = end
                    session.add(version)
        session.flush()


def _import_his_map(session: Session, c: _Columns, _default_from: date, report: CostImportReport,
                    actor: str) -> None:
    his = c.text("his_department")
    centre = c.text("centre", max_len=CODE_MAX)
    c.unique([his], "his_department", "HIS department")
    known = {code for code in session.exec(select(col(Department.code))).all()}
    c.fail(~centre.isin(known) & (centre != ""), "centre",
           lambda v: f"cost centre {v!r} is not a department", centre)
    if c.issues:
        return
    stored = {m.his_department: m for m in session.exec(select(HisDepartmentMap)).all()}
    with session.begin_nested():
        for his_code, code in zip(his, centre, strict=True):
            mapping = stored.get(his_code)
            if mapping is not None and mapping.centre == code:
                continue
            mapping = mapping or HisDepartmentMap(his_department=his_code, centre=code)
            mapping.centre, mapping.updated_by = code, actor
            session.add(mapping)
            report.versions += 1
        if report.versions:
            record_audit(session, actor=actor, action="cost.his_map.imported", subject_type="cost_his_map",
                         subject_id=report.sha256[:16], details={"file": report.source, "mappings": report.versions})
        session.flush()


_CONFIG: dict[str, Callable[[Session, _Columns, date, CostImportReport, str], None]] = {
    "profile": _import_profile, "allocation": _import_allocation, "his-map": _import_his_map,
}
