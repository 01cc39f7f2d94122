"""Settings of the scheduled flows, read from the environment (prefix ``SMARTFIN_``) like the product's.

Kept beside the flows rather than in :mod:`smartfin.config` because only the flows and their services
read them; every default is the embedded single-machine form (local Prefect server on SQLite under
var/, drop folders under var/).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from smartfin.config import HOSPITAL_TZ, get_settings


class BankAccount(BaseModel):
    """One of the hospital's bank accounts reconciled every day."""

    account: str = Field(description="account number as on the statement")
    bank: str = Field(default="icbc", description="column map of the bank's CSV/Excel export (extractors/statements)")
    currency: str = "CNY"
    portal_account: str = Field(default="default", description="online-bank login used to download statements; "
                                "one session per login at a time")
    statement_format: Literal["camt053", "csv", "xlsx"] = Field(
        default="camt053", description="format the bank bot downloads (statement_source=portal); csv and xlsx "
        "are read through the `bank` column map")


class FlowSettings(BaseSettings):
    """Configuration of the flows and of the Prefect server they are served from."""

    model_config = SettingsConfigDict(env_prefix="SMARTFIN_", env_file=None, extra="ignore")

    prefect_api_url: str | None = Field(
        default=None, description="Prefect API of a production server; unset = the local server started by `up`")
    prefect_port: int = Field(default=4200, description="port of the local Prefect server")
    prefect_database_url: str | None = Field(
        default=None, description="database of the local Prefect server, e.g. "
        "postgresql+asyncpg://prefect:…@db/prefect; unset = SQLite under var/prefect/")
    prefect_home: Path | None = Field(default=None, description="Prefect's own files; unset = var/prefect/")

    hospital: str = Field(default="H001", description="hospital code: the scope of the three-way reconciliation")
    bank_accounts: list[BankAccount] = Field(default_factory=list, description="accounts reconciled daily (JSON)")
    settlement_account: str | None = Field(
        default=None, description="account the payment channels settle into (three-way); default: the first")
    statement_source: str = Field(
        default="folder", description="`folder`: statements dropped into the drop folder; `portal`: downloaded "
        "by the bank bot")

    reconciliation_dir: Path | None = Field(default=None, description="drop folders; unset = var/reconciliation/")
    inbox_dir: Path | None = Field(default=None, description="invoice inbox folder; unset = var/inbox/")
    posting_dir: Path | None = Field(default=None, description="approved vouchers to post; unset = var/posting/")
    reports_dir: Path | None = Field(default=None, description="chart reports; unset = var/reports/")

    bank_cron: str = "30 6 * * *"
    three_way_cron: str = "0 7 * * *"
    inbox_cron: str = "*/5 * * * *"
    posting_cron: str = "0 18 * * 1-5"
    budget_cron: str = "0 8 1 * *"
    timezone: str = "Asia/Shanghai"

    @property
    def var_dir(self) -> Path:
        return get_settings().var_dir

    @property
    def effective_prefect_home(self) -> Path:
        return self.prefect_home or self.var_dir / "prefect"

    @property
    def effective_prefect_api_url(self) -> str:
        return self.prefect_api_url or f"http://127.0.0.1:{self.prefect_port}/api"

    @property
    def effective_prefect_database_url(self) -> str:
        return self.prefect_database_url or f"sqlite+aiosqlite:///{self.effective_prefect_home / 'prefect.db'}"

    @property
    def recon_root(self) -> Path:
        return self.reconciliation_dir or self.var_dir / "reconciliation"

    @property
    def inbox_root(self) -> Path:
        return self.inbox_dir or self.var_dir / "inbox"

    @property
    def posting_root(self) -> Path:
        return self.posting_dir or self.var_dir / "posting"

    @property
    def reports_root(self) -> Path:
        return self.reports_dir or self.var_dir / "reports"

    def account(self, number: str) -> BankAccount:
        for candidate in self.bank_accounts:
            if candidate.account == number:
                return candidate
        known = [a.account for a in self.bank_accounts]
        raise LookupError(f"账户未配置 / bank account {number!r} is not configured "
                          f"(SMARTFIN_BANK_ACCOUNTS lists {known})")


@lru_cache(maxsize=1)
def get_flow_settings() -> FlowSettings:
    """Read once per process; tests call ``get_flow_settings.cache_clear()`` after changing the env."""
    return FlowSettings()


def yesterday() -> date:
    """The business day a morning run reconciles: yesterday in the hospital's time zone."""
    return (datetime.now(HOSPITAL_TZ) - timedelta(days=1)).date()
