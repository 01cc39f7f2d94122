"""The cost month's part of the demo: last month worked out for the demo hospital's own departments.

The demo departments (``smartfin/app/demo_departments.csv``: wards and clinics, radiology and the laboratory,
the sterile supply, the offices) get a cost-centre profile, and a month of cost inputs is generated for them —
payroll, materials issued, depreciation, shared utilities, HIS revenue, workload, charge lines and discharged
cases — written as the files a hospital would import (``var/demo/cost/<month>/``), loaded through the product's
imports and worked out by ``cost-monthly``: allocation, unit, item and case costs, a page per clinical
department and the month's workbook, and a ``cost-review`` for each department whose indicator breaches its
target. A month already published is left as it is, so running the demo again adds nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from sqlmodel import col, select

from flows.cost import last_closed_month, report_file_name, report_folder
from flows.demo.runs import run_flow
from smartfin.costing.model import Centre, Service
from smartfin.kernel.settings import Settings
from smartfin.ledger.departments import DepartmentClass
from smartfin.processes.costreview.reviews import CostReview

# the demo departments as cost centres: (code, service, beds, area m², headcount); the generated month sizes
# an inpatient centre's beds by its bed-days, so none are given here
PROFILE = (("MED", Service.OUTPATIENT, 0, "620", "38"), ("CARD", Service.INPATIENT, 0, "2450", "61"),
           ("RAD", Service.NONE, 0, "980", "42"), ("LAB", Service.NONE, 0, "760", "36"),
           ("CSSD", Service.NONE, 0, "540", "22"), ("ADMIN", Service.NONE, 0, "420", "18"),
           ("FIN", Service.NONE, 0, "310", "24"), ("EQUIP", Service.NONE, 0, "280", "15"))
AUXILIARY = {"CSSD": "packs"}
SEED = 20261130


def demo_centres(month: str) -> tuple[Centre, ...]:
    """The demo departments in force on the month's last day, with their demo profile."""
    from flows.cost import month_end
    from smartfin.ledger.departments import department_on
    from smartfin.store.db import session_scope

    centres = []
    with session_scope() as session:
        for code, service, beds, area, headcount in PROFILE:
            department = department_on(session, code, month_end(month))
            if department is None:
                raise LookupError(f"demo department {code} is not loaded (smartfin/app/demo_departments.csv)")
            centres.append(Centre(code, department.name, DepartmentClass(department.department_class), service,
                                  beds, Decimal(area), Decimal(headcount)))
    return tuple(centres)


def cost_month(settings: Settings, echo: Callable[[str], None], reader: str, head: str) -> list[tuple[str, str]]:
    """Work out last month for the demo hospital once; say where its reports and reviews are."""
    from smartfin.costing.month import published_run
    from smartfin.costing.samples import generate_month, import_month_files, write_month_files
    from smartfin.store.db import session_scope

    month = last_closed_month()
    with session_scope() as session:
        done = published_run(session, month) is not None
    if done:
        echo(f"  cost month {month}: published by an earlier run")
    else:
        inputs = generate_month(month, items=80, charge_lines=6_000, cases=240, seed=SEED,
                                hospital=demo_centres(month), auxiliary=AUXILIARY)
        paths = write_month_files(inputs, settings.var_dir / "demo" / "cost" / month)
        paths.pop("departments")  # the demo departments are loaded already
        rows = import_month_files(paths, month, actor="demo")
        echo(f"  cost month {month}: {sum(rows.values()):,} rows imported from {paths['payroll'].parent}")
        result = run_flow("cost-monthly", month=month)
        echo(f"  cost-monthly {month}: total cost ¥{Decimal(result['total_cost']):,.2f}, {result['breaches']} "
             f"indicators over target, {len(result['reviews'])} cost reviews opened")
    folder = report_folder(month)
    guidance = [(reader, f"成本报告 cost reports {month}: {folder / report_file_name('CARD')} (one page per clinical "
                         f"department) and {folder / f'cost-{month}.xlsx'}; `smartfin cost show CARD --month {month}` "
                         "— where its allocated cost came from")]
    with session_scope() as session:
        reviews = session.exec(select(CostReview).where(CostReview.month == month)
                               .order_by(col(CostReview.business_key))).all()
    guidance += [(head, f"Tasklist «部门负责人待办 Department head tasks» → 成本分析说明与整改措施 Explain the cost "
                        f"and commit to a measure · {r.business_key} — {r.centre_name} {r.indicator_name} "
                        f"{r.value} (target {r.target})") for r in reviews]
    if reviews:
        guidance.append((reader, f"`smartfin cost reviews --month {month}` — the {len(reviews)} cost reviews and "
                                 "where each stands"))
    return guidance
