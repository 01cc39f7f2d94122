"""The flows' part of `smartfin demo`: yesterday's reconciliations with their exceptions waiting in Tasklist,
and the approved claim's voucher posted into the ERP.

A plugin of the core demo (entry point group ``smartfin.demo`` in pyproject.toml): the core runs
:func:`step` after its own steps — the engine, the portals, the worker and the Prefect server are up — and
prints the guidance it returns. The core never imports this package.

What it adds (each once, however often the demo runs):

* yesterday's bank day of the settlement account and the latest three-way day (the day before yesterday:
  the channels settle T+1), with realistic inputs in the drop folders (:mod:`flows.demo.inputs`), reconciled
  by the daily flows, their exceptions in one ``reconciliation-review`` per day
  (:mod:`flows.demo.reconciliation`);
* the approved claim's voucher, waited for and posted into the ERP by the posting batch
  (:mod:`flows.demo.vouchers`);
* last month's budget execution report of the demo budget, page and Excel workbook, for the chief accountant
  (:mod:`flows.demo.budget`);
* last month's cost accounting for the demo departments — imports, allocation, unit, item and case costs,
  reports, and cost reviews for the department head where an indicator breaches its target
  (:mod:`flows.demo.cost`);
* the week's cash forecast from the demo bank statement on two years of generated history, the chief
  accountant's cash alert when it falls below the minimum balance, and its report (:mod:`flows.demo.cash`);
* the insurance settlement: the departments' insurance officers, yesterday reconciled with the platform, last
  month's clearing fetched from the stand-in settlement portal by the bot, cleared and aged, and its refused and
  deducted items waiting for the officers in Tasklist (:mod:`flows.demo.insurance`).

The flows run in this process against the Prefect server the demo started, the way `smartfin flows run`
runs them (``flows.deployments.run_now``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from smartfin.kernel.settings import Settings

#: how long the demo waits for the approved claim's voucher (its process posts it within seconds)
VOUCHER_WAIT_S = 240.0
FINANCE_OFFICERS = "finance-officer"
CHIEF_ACCOUNTANTS = "chief-accountant"
DEPARTMENT_HEADS = "dept-head"


def demo_user_in(group: str) -> str:
    """The first demo user of an engine group, as the engine's demo profile creates them."""
    from smartfin.app.demo_users import demo_users

    for user in demo_users():
        if group in user.groups:
            return user.id
    raise LookupError(f"no demo user in group {group!r} (engine demo profile)")


def finance_officer() -> str:
    """The demo user who works through reconciliation exceptions and posted vouchers (a finance officer)."""
    return demo_user_in(FINANCE_OFFICERS)


def step(settings: Settings, echo: Callable[[str], None], *,
         voucher_timeout_s: float = VOUCHER_WAIT_S) -> list[tuple[str, str]]:
    """Add the flows' demo data and return, per demo user, what to open and where.

    Raises :class:`flows.demo.runs.DemoStepFailed` with the reason when a flow fails or the approved
    claim's voucher does not arrive within ``voucher_timeout_s``.
    """
    from flows.deployments import apply_prefect_environment

    apply_prefect_environment(settings.flows)  # before Prefect is first imported in this process
    from flows.demo.budget import budget_report
    from flows.demo.cash import cash_forecast_demo
    from flows.demo.cost import cost_month
    from flows.demo.insurance import insurance_demo
    from flows.demo.reconciliation import reconcile_demo_days
    from flows.demo.vouchers import post_demo_vouchers

    officer = finance_officer()
    # each flow's outcome is echoed in one line; Prefect's own run log stays in the Prefect UI
    prefect_log = logging.getLogger("prefect")
    level = prefect_log.level
    prefect_log.setLevel(max(level, logging.WARNING))
    try:
        guidance = reconcile_demo_days(settings, echo, officer)
        guidance += post_demo_vouchers(settings, echo, officer, timeout_s=voucher_timeout_s)
        guidance += budget_report(echo, demo_user_in(CHIEF_ACCOUNTANTS))
        guidance += cost_month(settings, echo, demo_user_in(CHIEF_ACCOUNTANTS), demo_user_in(DEPARTMENT_HEADS))
        guidance += cash_forecast_demo(settings, echo, demo_user_in(CHIEF_ACCOUNTANTS))
        guidance += insurance_demo(settings, echo, officer)
    finally:
        prefect_log.setLevel(level)
    return guidance
