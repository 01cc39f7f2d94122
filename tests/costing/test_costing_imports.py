"""The cost month's imports: each kind good and bad, GBK and Chinese headers, re-import replacing, the same
file twice, and the dated configuration — on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import openpyxl
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from smartfin.costing.month import load_inputs
from smartfin.costing.tables import AllocationRule, CentreProfile, ChargeInput, CostImport, DirectInput
from smartfin.store.audit import AuditEntry
from tests.costing.conftest import MONTH, load


def _rows(engine: Engine, table, **where):  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        statement = select(table)
        for name, value in where.items():
            statement = statement.where(getattr(table, name) == value)
        return session.exec(statement).all()


def test_payroll_in_gbk_with_chinese_headers_is_stored_in_fen(hospital: Engine) -> None:
    report = load(hospital, "payroll", "科室编码,金额(元)\nCARD,\"120,000.50\"\nADM,3000\nCARD,0.05\n",
                  encoding="gbk")
    assert report.ok, report.errors
    assert report.rows == 3 and not report.replaced
    stored = sorted((r.row_no, r.centre, r.cost_item, r.amount_fen, r.source)
                    for r in _rows(hospital, DirectInput, month=MONTH))
    assert stored == [(2, "CARD", "personnel", 12_000_050, "payroll"), (3, "ADM", "personnel", 300_000, "payroll"),
                      (4, "CARD", "personnel", 5, "payroll")]
    with Session(hospital) as session:
        audits = session.exec(select(AuditEntry).where(AuditEntry.action == "cost.input.imported")).all()
    assert [a.subject_id for a in audits] == [f"{MONTH}/payroll"]


def test_every_bad_row_is_listed_and_nothing_is_stored(hospital: Engine) -> None:
    report = load(hospital, "materials", "centre,kind,amount\nCARD,materials,-5\nXYZ,drugs,10\nCARD,food,1\n"
                                         "ORTH,drugs,\nORTH,drugs,1.234\n")
    assert not report.ok
    assert [(e.row, e.column) for e in report.errors] == [(2, "amount"), (3, "centre"), (4, "kind"), (5, "amount"),
                                                          (6, "amount")]
    reasons = [e.reason for e in report.errors]
    assert "must not be negative" in reasons[0]
    assert "'XYZ' is not a department in force on 2026-10-31" in reasons[1]
    assert "unknown materials kind 'food'" in reasons[2]
    assert reasons[3] == "is missing" and "more than 2 decimal places" in reasons[4]
    assert _rows(hospital, DirectInput) == [] and _rows(hospital, CostImport) == []


def test_a_re_import_replaces_the_month_and_the_same_file_changes_nothing(hospital: Engine) -> None:
    first = "centre,amount\nCARD,100\nORTH,200\n"
    assert load(hospital, "payroll", first).ok
    again = load(hospital, "payroll", first)
    assert again.unchanged and again.rows == 2
    replaced = load(hospital, "payroll", "centre,amount\nCARD,150\n", filename="payroll-v2.csv")
    assert replaced.ok and replaced.replaced
    assert [(r.centre, r.amount_fen) for r in _rows(hospital, DirectInput)] == [("CARD", 15_000)]
    (record,) = _rows(hospital, CostImport)
    assert (record.filename, record.rows, record.sha256) == ("payroll-v2.csv", 1, replaced.sha256)
    # another month is its own file
    assert load(hospital, "payroll", first, month="2026-11").ok
    assert len(_rows(hospital, DirectInput)) == 3


def test_his_files_map_departments_and_refuse_an_unmapped_one(hospital: Engine) -> None:
    bad = load(hospital, "charges", "病案号,项目编码,项目类别,开单科室,执行科室,数量,金额\n"
                                    "C1,CT01,服务,H01,H77,1,300\n")
    assert [(e.row, e.column) for e in bad.errors] == [(2, "performing_department")]
    assert "HIS department 'H77' is not mapped to a cost centre" in bad.errors[0].reason
    good = load(hospital, "charges", "case_id,item_code,item_kind,ordering_department,performing_department,"
                                     "quantity,amount\nC1,CT01,service,H01,H09,1,300\nC1,D5,drug,H01,H01,2.5,12.40\n")
    assert good.ok, good.errors
    assert sorted((c.case_id, c.item_kind, c.ordering_centre, c.performing_centre, c.quantity, c.amount_fen)
                  for c in _rows(hospital, ChargeInput)) == [
        ("C1", "drug", "CARD", "CARD", "2.5", 1240), ("C1", "service", "CARD", "RAD", "1", 30_000)]


def test_keyed_kinds_refuse_duplicates(hospital: Engine) -> None:
    report = load(hospital, "workload", "centre,measure,quantity\nCSSD,packs,100\nCSSD,packs,3\nCARD,bed_days,x\n")
    assert [(e.row, e.column) for e in report.errors] == [(3, "measure"), (4, "quantity")]
    assert "duplicate centre/measure 'CSSD/packs' (first on row 2)" in report.errors[0].reason
    items = load(hospital, "items", "item_code,name,rvu,charge\nCT01,CT,2.5,300\nCT01,CT again,1,1\n")
    assert [(e.row, e.column) for e in items.errors] == [(3, "item_code")]


def test_an_unknown_column_or_kind_or_month_is_refused(hospital: Engine) -> None:
    assert [(e.column, e.reason) for e in load(hospital, "payroll", "centre,amount,bonus\nCARD,1,2\n").errors] == [
        ("bonus", "unknown column (see the cost payroll file format)")]
    assert "unknown cost file kind 'salary'" in load(hospital, "salary", "centre,amount\n").errors[0].reason
    assert "month must be YYYY-MM" in load(hospital, "payroll", "centre,amount\nCARD,1\n",
                                           month="2026-13").errors[0].reason


def test_an_xlsx_file_is_read_like_a_csv(hospital: Engine) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in (["开单科室", "执行科室", "金额"], ["H01", "H09", 1234.5], ["H02", "H09", 100]):
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    from smartfin.costing.imports import import_cost_file
    with Session(hospital) as session:
        report = import_cost_file(session, "revenue", buffer.getvalue(), month=MONTH, filename="revenue.xlsx",
                                  actor="finance-officer")
        session.commit()
        inputs = load_inputs(session, MONTH)
    assert report.ok, report.errors
    assert sorted(map(tuple, inputs.revenue.values.tolist())) == [("CARD", "RAD", 123_450), ("ORTH", "RAD", 10_000)]


def test_profiles_and_allocation_rules_are_dated_versions(hospital: Engine) -> None:
    assert load(hospital, "profile", "centre,service,beds,area_m2,headcount,valid_from\n"
                                     "CARD,住院,40,850.5,62,2026-01-01\nADM,none,0,300,20,2026-01-01\n",
                month=None).ok
    assert load(hospital, "profile", "centre,service,beds,area_m2,headcount,valid_from\n"
                                     "CARD,inpatient,48,850.5,70,2026-10-01\n", month=None).ok
    versions = sorted((p.centre, p.valid_from, p.valid_to, p.beds, p.headcount)
                      for p in _rows(hospital, CentreProfile))
    assert versions == [("ADM", date(2026, 1, 1), None, 0, "20"),
                        ("CARD", date(2026, 1, 1), date(2026, 9, 30), 40, "62"),
                        ("CARD", date(2026, 10, 1), None, 48, "70")]
    bad = load(hospital, "profile", "centre,service,beds\nNOPE,inpatient,1.5\n", month=MONTH)
    assert [(e.row, e.column) for e in bad.errors] == [(2, "centre"), (2, "beds")]

    assert load(hospital, "allocation", "stage,subject,driver,valid_from\nadministrative,,headcount,2026-01-01\n"
                                        "auxiliary,CSSD,packs,2026-01-01\nshared,utilities,area_m2,2026-01-01\n"
                                        "shared,utilities,electricity_kwh,2026-07-01\n", month=None).ok
    assert len(_rows(hospital, AllocationRule)) == 4
    with Session(hospital) as session:
        inputs = load_inputs(session, MONTH)
        earlier = load_inputs(session, "2026-03")
    card = next(c for c in inputs.centres if c.code == "CARD")
    assert (card.service, card.beds, card.area_m2, card.headcount) == ("inpatient", 48, Decimal("850.5"), Decimal(70))
    assert inputs.rules.auxiliary == {"CSSD": "packs"} and inputs.rules.shared == {"utilities": "electricity_kwh"}
    assert earlier.rules.shared == {"utilities": "area_m2"}
    assert next(c for c in earlier.centres if c.code == "CARD").beds == 40
    assert next(c for c in inputs.centres if c.code == "ORTH").service == "none"  # no profile: no patients
