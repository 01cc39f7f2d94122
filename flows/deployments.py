"""The scheduled flows as deployments: served from one process (`smartfin flows serve`), or registered on a
work pool (`smartfin flows deploy --pool`) whose Prefect workers run them.

Each deployment carries its cron schedule (hospital time zone, overridable through ``SMARTFIN_*_CRON``).
On one machine they run in the serving process; the local Prefect server started by `smartfin up` stores
the runs (SQLite under var/prefect/ by default, PostgreSQL by ``SMARTFIN_PREFECT_DATABASE_URL``), or a
production Prefect server when ``SMARTFIN_PREFECT_API_URL`` names it. In the cluster profile `up` registers
them on the cluster's work pool instead, referring to each flow by module path: the workers run the
installed project, nothing is built or pushed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smartfin.kernel.settings import FlowSettings, get_settings

if TYPE_CHECKING:
    from prefect.states import State


@dataclass(frozen=True)
class ScheduledFlow:
    """A flow, the name of its deployment and when it runs."""

    name: str
    flow: Callable[..., Any]
    cron: str
    description: str


def scheduled_flows(settings: FlowSettings | None = None) -> list[ScheduledFlow]:
    """Every flow the product schedules, with its cron from the settings."""
    from flows.bank import daily_bank_reconciliation
    from flows.budget import budget_execution_monitor, budget_lapse
    from flows.cash import cash_forecast
    from flows.cost import cost_monthly
    from flows.delegations import delegation_sync
    from flows.inbox import invoice_inbox
    from flows.insurance import insurance_daily, insurance_monthly
    from flows.posting import posting_batch
    from flows.threeway import daily_three_way_reconciliation

    s = settings or get_settings().flows
    return [
        ScheduledFlow("bank-daily", daily_bank_reconciliation, s.bank_cron,
                      "银行对账单下载与银行对账 Statement download and bank reconciliation, yesterday"),
        ScheduledFlow("three-way-daily", daily_three_way_reconciliation, s.three_way_cron,
                      "HIS/渠道/银行三方对账 Three-way reconciliation, the day before yesterday (T+1 settled)"),
        ScheduledFlow("inbox-scan", invoice_inbox, s.inbox_cron,
                      "发票收件箱 Invoice inbox: new files become reimbursement claims"),
        ScheduledFlow("posting-batch", posting_batch, s.posting_cron,
                      "凭证批量过账 Approved vouchers posted into the ERP"),
        ScheduledFlow("budget-monthly", budget_execution_monitor, s.budget_cron,
                      "预算执行监控 Budget execution monitor, the month just closed"),
        ScheduledFlow("budget-lapse", budget_lapse, s.lapse_cron,
                      "预占失效释放 Approved requests' reservations past their validity or fiscal year released"),
        ScheduledFlow("cost-monthly", cost_monthly, s.cost_cron,
                      "成本核算月结 Cost accounting, the month just closed: allocation, unit costs, reviews, reports"),
        ScheduledFlow("insurance-daily", insurance_daily, s.insurance_daily_cron,
                      "医保日对账 Insurance settlements: HIS against the platform, yesterday"),
        ScheduledFlow("insurance-monthly", insurance_monthly, s.insurance_monthly_cron,
                      "医保月度清算 Insurance clearing, receivables and aging, DRG/DIP, the month before"),
        ScheduledFlow("cash-forecast", cash_forecast, s.cash_cron,
                      "资金预测 13-week cash forecast from the latest statements; minimum-balance alert, report"),
        ScheduledFlow("delegation-sync", delegation_sync, s.delegation_sync_cron,
                      "授权代理同步 Deputy groups in the engine follow the delegations' validity periods"),
    ]


def flow_by_name(name: str) -> ScheduledFlow:
    flows = {f.name: f for f in scheduled_flows()}
    flows.update({getattr(f.flow, "name", f.name): f for f in flows.values()})
    if name not in flows:
        known = sorted(f.name for f in scheduled_flows())
        raise LookupError(f"未知流程 / unknown flow {name!r}; choose one of {known}")
    return flows[name]


def run_now(name: str, business_date: date | None = None, open_reviews: bool = True,
            **parameters: Any) -> tuple[ScheduledFlow, State[Any]]:
    """Run one flow now, in this process, against the configured Prefect API; its final state.

    ``business_date`` is the day reconciled (reconciliation flows), the as-of date (budget monitor) or a
    day of the month worked out (cost-monthly, unless ``month="YYYY-MM"`` is among the parameters);
    ``open_reviews`` whether a reconciliation or the cost month opens review processes; ``parameters``
    are further parameters of the flow. `smartfin flows run` and the demo both run flows this way.
    Raises ``LookupError`` for an unknown flow; what the flow raises is in the returned state.
    """
    apply_prefect_environment()
    chosen = flow_by_name(name)
    kwargs: dict[str, Any] = dict(parameters)
    if chosen.name in ("bank-daily", "three-way-daily"):
        kwargs.update(business_date=business_date, open_reviews=open_reviews)
    elif chosen.name in ("budget-monthly", "budget-lapse", "cash-forecast"):
        kwargs.update(as_of=business_date)
    elif chosen.name == "insurance-daily":
        kwargs.update(business_date=business_date)
    elif chosen.name == "insurance-monthly":
        kwargs.setdefault("month", f"{business_date:%Y-%m}" if business_date else None)
        if not open_reviews:  # otherwise the settings decide whether the month's appeals are opened
            kwargs.setdefault("open_appeals", False)
    elif chosen.name == "cost-monthly":
        kwargs.setdefault("month", f"{business_date:%Y-%m}" if business_date else None)
        kwargs.update(open_reviews=open_reviews)
    state: State[Any] = chosen.flow(**kwargs, return_state=True)
    return chosen, state


def run_workbook(name: str, result: Any) -> Path | None:
    """The Excel workbook a finished run wrote under the reports folder, which ``smartfin flows run NAME --xlsx``
    hands out; None for a flow that writes none. Each report-writing flow returns its workbook's path, except the
    bank flow, whose rows (one per account) name the day its workbook belongs to."""
    if flow_by_name(name).name == "bank-daily":
        from flows.bank import bank_workbook_path

        return bank_workbook_path(date.fromisoformat(result[0]["business_date"])) if result else None
    workbook = result.get("workbook") if isinstance(result, dict) else None
    return Path(workbook) if workbook else None


def prefect_environment(settings: FlowSettings | None = None) -> dict[str, str]:
    """Prefect's settings for every SmartFin process that talks to it: explicit API URL, own home,
    no analytics. The local server's own database URL is added for the server process."""
    s = settings or get_settings().flows
    return {
        "PREFECT_HOME": str(s.effective_prefect_home),
        "PREFECT_API_URL": s.effective_prefect_api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }


def server_environment(settings: FlowSettings | None = None) -> dict[str, str]:
    s = settings or get_settings().flows
    return {**prefect_environment(s), "PREFECT_SERVER_DATABASE_CONNECTION_URL": s.effective_prefect_database_url,
            "PREFECT_UI_API_URL": s.effective_prefect_api_url}


def apply_prefect_environment(settings: FlowSettings | None = None) -> None:
    """Set Prefect's variables in this process (before Prefect reads them) unless already set."""
    for key, value in prefect_environment(settings).items():
        os.environ.setdefault(key, value)
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)


def serve_all(settings: FlowSettings | None = None) -> None:
    """Register every deployment with its schedule and run their flows from this process until stopped."""
    from prefect import serve

    serve(*deployments(settings), limit=4)


def deployments(settings: FlowSettings | None = None, work_pool: str | None = None) -> list[Any]:
    """The Prefect deployments (not yet applied) of every scheduled flow; with ``work_pool``, deployments of
    that pool whose entrypoint is the flow's module path (``flows.bank.daily_bank_reconciliation``)."""
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron

    s = settings or get_settings().flows
    pooled: dict[str, Any] = ({"work_pool_name": work_pool, "entrypoint_type": EntrypointType.MODULE_PATH}
                              if work_pool else {})
    return [f.flow.to_deployment(name=f.name, schedules=[Cron(f.cron, timezone=s.timezone)],  # type: ignore[attr-defined]
                                 description=f.description, tags=["smartfin"], **pooled)
            for f in scheduled_flows(s)]


def deploy_to_pool(work_pool: str, settings: FlowSettings | None = None) -> list[str]:
    """Create or update every scheduled flow's deployment on ``work_pool`` (schedules included, so a changed
    ``SMARTFIN_*_CRON`` takes effect on the next `up`); the ids. Nothing is built or pushed: the pool's
    workers import the flows from the installed project.

    Each deployment is applied by itself (``RunnerDeployment.apply``, what ``prefect.deploy`` does after its
    checks): Prefect 3.8.8's ``deploy`` asks for the pool's workers with a request its own server refuses
    (HTTP 422, offset/limit null). The pool is read first, so a missing pool is named, not created untyped.
    """
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    apply_prefect_environment(settings)
    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(work_pool)
        except ObjectNotFound:
            raise ValueError(f"Prefect has no work pool {work_pool!r}: `smartfin up --profile cluster` "
                             "creates it") from None
    return [str(d.apply(work_pool_name=work_pool)) for d in deployments(settings, work_pool)]
