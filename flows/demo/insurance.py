"""The insurance settlement's part of the demo: yesterday reconciled with the platform, last month cleared with
the fund through the settlement portal, and the refused and deducted items waiting for the insurance officers.

- The insurance officers (医保专管员) of record: ``gao.yan`` for cardiology (CARD), ``tang.bo`` for internal
  medicine (MED) — the only users whose answers count for those departments.
- Yesterday's HIS settlements, the platform's detail and its daily totals, generated with a few planted faults
  (HIS only, platform only, amount mismatch, reversal without original, duplicate), dropped where
  ``insurance-daily`` looks and reconciled by it.
- Last month's clearing (statements per insurance type, refused and deducted items of CARD and MED, DRG/DIP group
  settlements) published by the fund's side on the stand-in settlement portal; ``insurance-monthly`` has the bot
  download it, imports it, books and ages the receivables, and opens one ``insurance-appeal`` per department.
  The statements are issued yesterday, so the appeal window (``rules/insurance/appeal-window.csv``) is open.

A second demo run adds nothing: officers already recorded are kept, a day or month with a run is left as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import requests
from sqlmodel import col, select

from flows.demo.runs import DemoStepFailed, run_flow
from flows.sources import insurance_dir
from smartfin.insurance.samples import generate_clearing, generate_days, write_day_files, write_month_files
from smartfin.insurance.tables import AppealBatch, AppealStatus, InsuranceRun, RunStatus
from smartfin.kernel.clock import hospital_today, hospital_yesterday, shift_month
from smartfin.kernel.money import format_yuan, from_fen
from smartfin.kernel.settings import Settings
from smartfin.processes.insuranceappeal.appeals import assign_officer, officers_of
from smartfin.store.db import session_scope

ACTOR = "demo"
#: department → its insurance officer; the generated items of five departments are shared between these two
OFFICERS = {"CARD": "gao.yan", "MED": "tang.bo"}
ITEM_DEPARTMENTS = {"D01": "CARD", "D02": "MED", "D03": "CARD", "D04": "MED", "D05": "CARD"}
DAY_SETTLEMENTS = 800
MONTH_CASES = 120
SEED = 20261201
ADMIN_TOKEN_FILE = "admin-token"   # written by the stand-in portals into var/portals/


def record_officers() -> list[str]:
    """Record the demo departments' insurance officers from the first of last month, unless recorded."""
    first = (hospital_today().replace(day=1) - timedelta(days=1)).replace(day=1)
    added = []
    with session_scope() as session:
        for department, user in OFFICERS.items():
            if user not in officers_of(session, department, hospital_today()):
                assign_officer(session, department, user, valid_from=first, actor=ACTOR)
                added.append(f"{department} {user}")
    return added


def _has_run(kind: str, period: str) -> bool:
    with session_scope() as session:
        return session.exec(select(InsuranceRun.id).where(
            InsuranceRun.kind == kind, InsuranceRun.period == period,
            InsuranceRun.status != RunStatus.REFUSED)).first() is not None


def reconcile_yesterday(settings: Settings, echo: Callable[[str], None]) -> str:
    """Yesterday's generated settlements in the drop folder, reconciled by ``insurance-daily`` once."""
    day = hospital_yesterday()
    if _has_run("daily", day.isoformat()):
        echo(f"  insurance-daily {day}: reconciled by an earlier run")
        return day.isoformat()
    sample = generate_days(day, 1, DAY_SETTLEMENTS, seed=SEED)
    write_day_files(sample, insurance_dir(settings.flows.recon_root, settings.flows.hospital, day.isoformat()), day)
    result = run_flow("insurance-daily", day)
    echo(f"  insurance-daily {day}: {result['status']}, {result['exceptions']} exceptions "
         f"(HIS against the platform per settlement and fund component)")
    return day.isoformat()


def publish_month(settings: Settings, month: str) -> None:
    """The fund's side: last month's clearing files put on the stand-in settlement portal (its admin endpoint)."""
    sample = generate_clearing(month, settings.flows.hospital, seed=SEED % 97, cases=MONTH_CASES, late="offsite")
    issued = hospital_yesterday()
    sample.statements["issued_on"] = issued
    sample.items["department"] = sample.items["department"].map(ITEM_DEPARTMENTS)
    folder = settings.var_dir / "demo" / "insurance" / month
    token_file = settings.var_dir / "portals" / ADMIN_TOKEN_FILE
    if not token_file.exists():
        raise DemoStepFailed(f"the stand-in settlement portal's admin token is missing ({token_file})")
    token = token_file.read_text(encoding="utf-8").strip()
    for kind, path in write_month_files(sample, folder).items():
        try:
            response = requests.put(f"{settings.insurance_url.rstrip('/')}/__admin/files/{month}/{kind}",
                                    data=path.read_bytes(), headers={"X-Admin-Token": token}, timeout=30)
        except requests.RequestException as exc:
            raise DemoStepFailed(f"the stand-in settlement portal did not take {kind} of {month}: {exc}") from exc
        if not response.ok:
            raise DemoStepFailed(f"the stand-in settlement portal refused {kind} of {month}: {response.text[:200]}")


def clear_last_month(settings: Settings, echo: Callable[[str], None]) -> tuple[str, list[AppealBatch]]:
    """Last month published on the portal, fetched by the bot and cleared by ``insurance-monthly`` once; its
    appeal batches."""
    month = shift_month(f"{hospital_today():%Y-%m}", -1)
    if _has_run("monthly", month):
        echo(f"  insurance-monthly {month}: cleared by an earlier run")
    elif not settings.stand_in_portals:
        echo(f"  insurance-monthly {month}: not run (no stand-in settlement portal; `smartfin flows run "
             "insurance-monthly` fetches from the configured one)")
    else:
        publish_month(settings, month)
        result = run_flow("insurance-monthly", month=month, as_of=hospital_today(), fetch=True, open_appeals=True)
        outstanding = format_yuan(from_fen(sum(int(a["outstanding_fen"]) for a in result["aging"])))
        echo(f"  insurance-monthly {month}: files {', '.join(sorted(result['imports']))} fetched by the portal bot; "
             f"{result['status']}, {result['exceptions']} exceptions, receivables outstanding ¥{outstanding}; "
             f"appeals opened {', '.join(result['appeals']) or 'none'}")
    with session_scope() as session:
        batches = list(session.exec(select(AppealBatch).where(AppealBatch.month == month)
                                    .order_by(col(AppealBatch.business_key))).all())
        session.expunge_all()
    return month, batches


def insurance_demo(settings: Settings, echo: Callable[[str], None], reader: str) -> list[tuple[str, str]]:
    """Add the insurance demo data once and tell the officers and the finance reader where to look."""
    added = record_officers()
    echo(f"insurance officers recorded: {', '.join(added)}" if added
         else "insurance officers: recorded by an earlier run")
    day = reconcile_yesterday(settings, echo)
    month, batches = clear_last_month(settings, echo)
    reports = settings.flows.reports_root / "insurance"
    guidance = [(reader, f"医保对账 insurance reconciliation: {reports / day / 'index.html'} (yesterday, with its "
                         f"exceptions) and {reports / month / 'index.html'} (clearing {month}, receivables aging); "
                         "`smartfin insurance aging` — what the fund still owes, by age")]
    for batch in batches:
        user = OFFICERS.get(batch.department)
        if user is None or batch.status != AppealStatus.OPEN:
            continue
        guidance.append((user, f"Tasklist {settings.tasklist_url} → 医保拒付扣款申诉 {batch.business_key}: "
                               f"{batch.item_count} refused and deducted items of {batch.department} "
                               f"(¥{format_yuan(from_fen(batch.amount_fen))}); tick the items to appeal with one "
                               f"argument line each, the rest are accepted — due {batch.due_on}"))
    return guidance
