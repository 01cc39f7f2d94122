"""The one typed settings object of the product, read from the environment (prefix ``SMARTFIN_``).

Every default is the embedded single-machine form (H2 engine, SQLite, local portals, a local Prefect
server); production changes values through the environment, never code. No other module reads
configuration from ``os.environ``: each part reads its section of ``get_settings()``.

Sections keep the variable names they always had: ``SMARTFIN_BOT_…`` (bots), ``SMARTFIN_PROCUREMENT_…``
(procurement), and the flows' ``SMARTFIN_…`` names. The README's configuration table is checked
against this module by a test.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from smartfin.kernel.clock import HOSPITAL_TZ

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


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
    insurance_income_account: str | None = Field(
        default=None, description="bank account the insurance fund pays into (医保收入户); one of "
        "SMARTFIN_BANK_ACCOUNTS, whose statements insurance-monthly reads")
    statement_source: str = Field(
        default="folder", description="`folder`: statements dropped into the drop folder; `portal`: downloaded "
        "by the bank bot")
    insurance_source: Literal["folder", "portal"] = Field(
        default="folder", description="`folder`: the fund's clearing files dropped into the drop folder; "
        "`portal`: insurance-monthly downloads them from the settlement portal first (SMARTFIN_INSURANCE_URL; "
        "`smartfin up` with the stand-in portals sets it)")
    insurance_appeals: bool = Field(
        default=False, description="insurance-monthly opens the insurance-appeal processes of the month's refused "
        "and deducted items (needs the engine; `smartfin up` sets it)")

    reconciliation_dir: Path | None = Field(default=None, description="drop folders; unset = var/reconciliation/")
    inbox_dir: Path | None = Field(default=None, description="invoice inbox folder; unset = var/inbox/")
    posting_dir: Path | None = Field(default=None, description="approved vouchers to post; unset = var/posting/")
    reports_dir: Path | None = Field(default=None, description="chart reports; unset = var/reports/")

    bank_cron: str = Field(default="30 6 * * *", description="schedule of bank-daily")
    three_way_cron: str = Field(default="0 7 * * *", description="schedule of three-way-daily")
    inbox_cron: str = Field(default="*/5 * * * *", description="schedule of inbox-scan")
    posting_cron: str = Field(default="0 18 * * 1-5", description="schedule of posting-batch")
    budget_cron: str = Field(default="0 8 1 * *", description="schedule of budget-monthly")
    lapse_cron: str = Field(default="15 6 * * *", description="schedule of budget-lapse")
    cost_cron: str = Field(default="30 7 5 * *", description="schedule of cost-monthly (after the month's imports)")
    insurance_daily_cron: str = Field(default="0 8 * * *", description="schedule of insurance-daily (yesterday)")
    insurance_monthly_cron: str = Field(default="0 9 25 * *", description="schedule of insurance-monthly (the "
                                        "month before, once the fund's clearing statement is out)")
    cash_cron: str = Field(default="0 9 * * 1", description="schedule of cash-forecast (Monday, after bank-daily)")
    delegation_sync_cron: str = Field(default="*/15 * * * *", description="schedule of delegation-sync")
    timezone: str = Field(default=str(HOSPITAL_TZ), description="time zone of the schedules")

    var_dir: Path = Field(default=PROJECT_ROOT / "var", description="the product's var/ (same variable)")

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



class BotSettings(BaseSettings):
    """Runtime limits of the bots; see the README's bots section for each variable."""

    model_config = SettingsConfigDict(env_prefix="SMARTFIN_BOT_", env_file=None, extra="ignore")

    headless: bool = Field(default=True, description="run the browser without a window")
    secrets_file: Path | None = Field(default=None, description="portal accounts (default var/secrets/"
                                                                "portal-accounts.json)")
    sessions_per_account: int = Field(default=2, ge=1, description="contexts one portal account may use at once")
    step_timeout_ms: int = Field(default=15_000, description="how long one click/wait may take")
    item_timeout_s: float = Field(default=180.0, description="how long one work item may take in all")
    download_timeout_ms: int = Field(default=30_000, description="how long to wait for a download to start")
    attempts: int = Field(default=2, ge=1, description="tries of an item on technical errors, in process")
    retry_delay_s: float = Field(default=1.0, description="pause before an item's next try")
    trace: bool = Field(default=True, description="record a Playwright trace per item (kept on failure only)")
    evidence_days: int = Field(default=30, description="days evidence of failed items is kept")
    erp_layouts: str = Field(default="classic,revised", description="ERP screen layouts the page objects accept")
    bank_layouts: str = Field(default="classic,revised", description="bank screen layouts accepted")
    tax_layouts: str = Field(default="classic,revised", description="verification screen layouts accepted")


class ProcurementSettings(BaseSettings):
    """Configuration of the procurement process (environment prefix ``SMARTFIN_PROCUREMENT_``).

    ``committee_members`` (comma-separated engine user ids) is used when the engine does not list the
    members of ``committee_group`` to the service account (user queries need READ on users).
    ``standards_file`` replaces the shipped ``rules/procurement/standards.csv``.
    """

    model_config = SettingsConfigDict(env_prefix="SMARTFIN_PROCUREMENT_", env_file=None, extra="ignore")

    committee_group: str = Field(default="equipment-committee", description="engine group that votes")
    committee_members: str = Field(default="", description="comma-separated members when the engine does not "
                                   "list the group to the service account")
    standards_file: Path | None = Field(default=None, description="replaces rules/procurement/standards.csv")
    economic_code: str = Field(default="31003", description="economic code of equipment (专用设备购置)")
    review_interval: str | None = Field(default=None, description="ISO-8601 interval of post-purchase "
                                        "reviews; unset = the standards'")

    @property
    def configured_members(self) -> list[str]:
        return [m.strip() for m in self.committee_members.split(",") if m.strip()]



class NotifySettings(BaseSettings):
    """Notifications by e-mail and chat webhook (environment prefix ``SMARTFIN_NOTIFY_``).

    A channel without an address is off: no ``smtp_host``, no e-mail; no ``webhook_url``, no chat posts.
    Passwords and the webhook's signing secret come from the environment or var/secrets.env, never a file
    in the repository, and never appear in logs or in the outbox's recorded errors.
    """

    model_config = SettingsConfigDict(env_prefix="SMARTFIN_NOTIFY_", env_file=None, extra="ignore")

    smtp_host: str | None = Field(default=None, description="mail server; unset = no e-mail is sent")
    smtp_port: int = Field(default=25, description="its port")
    smtp_security: Literal["none", "starttls", "ssl"] = Field(
        default="starttls", description="`starttls`, `ssl` (SMTPS) or `none` (a local relay or sink only)")
    smtp_user: str | None = Field(default=None, description="login at the mail server; unset = no login")
    smtp_password: SecretStr | None = Field(default=None, description="its password; read from var/secrets.env "
                                            "(SMARTFIN_NOTIFY_SMTP_PASSWORD) when unset")
    mail_from: str = Field(default="smartfin@hospital.invalid", description="sender address of the mails")
    webhook_url: str | None = Field(default=None, description="chat robot URL (WeCom/DingTalk markdown); unset = "
                                    "no chat posts")
    webhook_secret: SecretStr | None = Field(default=None, description="the robot's signing secret (DingTalk "
                                             "style); read from var/secrets.env when unset; none = unsigned")
    alert_groups: str = Field(default="finance-officer", description="comma-separated engine groups told of "
                              "reconciliation exceptions, cost and cash alerts")
    poll_s: float = Field(default=15.0, description="seconds between two rounds of the notifier")
    digest_at: str = Field(default="08:00", description="hospital time (HH:MM) of the daily digest")
    max_attempts: int = Field(default=8, ge=1, description="tries of one message before it is marked failed")
    retry_backoff_s: float = Field(default=60.0, description="first retry delay, doubled per try (at most an hour)")
    lookback_hours: float = Field(default=24.0, description="on the very first start, tasks created this long "
                                  "ago are still announced")
    demo_mail_port: int = Field(default=8025, description="port of the demo's local mail sink (`smartfin demo` "
                                "without SMARTFIN_NOTIFY_SMTP_HOST: mails land in var/notify/mailbox/)")

    @property
    def groups_alerted(self) -> list[str]:
        return [g.strip() for g in self.alert_groups.split(",") if g.strip()]


class ClusterSettings(BaseSettings):
    """The production form rehearsed on one machine (`smartfin up --profile cluster`), prefix ``SMARTFIN_CLUSTER_``.

    PostgreSQL, the engine nodes and the balancer are found by address only, so the same values describe a
    single machine (all on 127.0.0.1) or several hosts (each address another host). Passwords are generated
    into var/secrets.env (mode 0600) and reach the services only through their environment.
    """

    model_config = SettingsConfigDict(env_prefix="SMARTFIN_CLUSTER_", env_file=None, extra="ignore")

    pg_host: str = Field(default="127.0.0.1", description="address PostgreSQL listens on and clients use")
    pg_port: int = Field(default=5433, description="its port")
    pg_dir: Path | None = Field(default=None, description="its data directory; unset = var/cluster/pg/")
    pg_bin: Path | None = Field(default=None, description="PostgreSQL server binaries; unset = the newest "
                                "/usr/lib/postgresql/*/bin")
    engine_nodes: str = Field(default="127.0.0.1:8081,127.0.0.1:8082", description="host:port of each engine "
                              "node (comma-separated); all share the engine database")
    balancer_host: str = Field(default="127.0.0.1", description="address the balancer (HAProxy) binds to; "
                               "0.0.0.0 to serve other hosts")
    balancer_port: int = Field(default=8090, description="its port: the engine URL of workers, CLI and Tasklist")
    worker_long_poll_ms: int = Field(default=500, description="long poll of the cluster's workers: a poll is woken "
                                     "only by tasks created on its own node, so it is kept short")
    engine_database: str = Field(default="smartfin_engine", description="engine database (role of the same name)")
    project_database: str = Field(default="smartfin", description="database of the project's tables (role "
                                  "of the same name)")
    prefect_database: str = Field(default="smartfin_prefect", description="database of the Prefect server "
                                  "(role of the same name)")
    prefect_host: str = Field(default="127.0.0.1", description="address the cluster's Prefect server binds to "
                              "and clients use; 0.0.0.0 to serve other hosts")
    prefect_port: int = Field(default=4210, description="its port (API and UI)")
    work_pool: str = Field(default="smartfin", description="Prefect work pool (type process) the flow deployments "
                           "are registered on and the Prefect worker polls")
    flow_heartbeat_s: int = Field(default=30, ge=30, description="seconds between a running flow's heartbeats; "
                                  "three missed ones mark the run crashed and schedule it again")

    @property
    def nodes(self) -> list[tuple[str, int]]:
        found = []
        for item in self.engine_nodes.split(","):
            host, _, port = item.strip().rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"SMARTFIN_CLUSTER_ENGINE_NODES: {item!r} is not host:port")
            found.append((host, int(port)))
        return found

    @property
    def balancer_url(self) -> str:
        host = "127.0.0.1" if self.balancer_host in ("0.0.0.0", "::") else self.balancer_host
        return f"http://{host}:{self.balancer_port}"

    @property
    def prefect_api_url(self) -> str:
        host = "127.0.0.1" if self.prefect_host in ("0.0.0.0", "::") else self.prefect_host
        return f"http://{host}:{self.prefect_port}/api"


class Settings(BaseSettings):
    """Runtime configuration; see the README's configuration table for each variable."""

    model_config = SettingsConfigDict(env_prefix="SMARTFIN_", env_file=None, extra="ignore")

    var_dir: Path = Field(default=PROJECT_ROOT / "var", description="runtime data: databases, logs, archives")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the project's tables; SQLite under var/ when unset"
    )

    engine_url: str = Field(default="http://127.0.0.1:8080", description="base URL of the Camunda engine")
    engine_rest_path: str = Field(default="/engine-rest", description="path of the engine's REST API")
    engine_webapp_path: str = Field(default="/camunda", description="path of Tasklist, Cockpit and Admin")
    engine_user: str = Field(default="smartfin-service", description="the service account Python uses")
    engine_password: SecretStr | None = Field(
        default=None, description="service account password; read from var/secrets.env when unset"
    )
    engine_jdbc_url: str | None = Field(
        default=None, description="engine database (PostgreSQL); embedded H2 under var/ when unset"
    )
    engine_jdbc_user: str | None = Field(default=None, description="user of the engine database")
    engine_jdbc_password: SecretStr | None = Field(default=None, description="password of the engine database")
    credentials_dir: Path | None = Field(
        default=None, description="where `smartfin login` keeps the engine login (file 0600, folder 0700); "
        "unset = var/credentials/")
    engine_demo: bool = Field(default=False, description="create the demo users and groups in the engine "
                              "(`smartfin demo` turns it on; without it they are removed at start)")
    engine_start_timeout: float = Field(default=180.0, description="seconds `up` waits for the engine")

    worker_id: str = Field(default="smartfin-worker", description="worker id the engine records on locks")
    worker_max_tasks: int = Field(default=10, description="external tasks one worker handles at once")
    worker_lock_ms: int = Field(default=60_000, description="lock duration of a fetched task (extended while "
                                "in hand)")
    worker_long_poll_ms: int = Field(default=20_000, description="long-polling wait of fetchAndLock")
    worker_retries: int = Field(default=3, description="tries of a failing task before an incident")
    worker_retry_backoff_ms: int = Field(default=5_000, description="first retry delay, doubled per try")

    erp_url: str = Field(default="http://127.0.0.1:8101", description="legacy ERP (voucher entry) base URL")
    bank_url: str = Field(default="http://127.0.0.1:8102", description="online bank portal base URL")
    tax_url: str = Field(default="http://127.0.0.1:8103", description="invoice verification portal base URL")
    upload_page_host: str = Field(default="127.0.0.1", description="address the budget upload page binds to")
    upload_page_port: int = Field(default=8110, description="port of the budget upload page (`smartfin up`)")
    dashboard_host: str = Field(default="127.0.0.1", description="address the finance dashboard binds to")
    dashboard_port: int = Field(default=8111, description="port of the finance dashboard (`smartfin up`)")
    dashboard_public_url: str | None = Field(default=None, description="the dashboard's address as approvers' "
                                             "browsers reach it (links in approval forms); unset = host and port")
    upload_page_max_bytes: int = Field(default=10 * 1024 * 1024, description="largest draft workbook the upload "
                                       "page takes")
    insurance_url: str = Field(default="http://127.0.0.1:8104", description="medical-insurance settlement portal "
                               "(医保结算平台) base URL")
    stand_in_portals: bool = Field(default=True,
                                   description="start the stand-in portals with `smartfin up` (demo/test only)")

    engine_admin_password: SecretStr | None = Field(
        default=None, description="engine administrator password; read from var/secrets.env when unset")
    audit_sample_salt: SecretStr | None = Field(
        default=None, description="secret salt of the random audit sample of claims; read from var/secrets.env "
        "(generated once) when unset")
    hospital_name: str = Field(default="滨江市第一人民医院", description="the hospital's registered name: the buyer "
                               "title every invoice with a buyer tax id must carry")
    hospital_uscc: str = Field(default="12330100427703821M", description="the hospital's unified social credit "
                               "code (统一社会信用代码), the buyer tax id of its invoices")
    hospital_city: str | None = Field(default=None, description="the hospital's city (e.g. 杭州): a trip's "
                                      "tickets must leave from it and return to it (one-way trips where the claim "
                                      "says so), else review; unset = not checked")
    invoice_verifier: str = Field(default="manual", description="`manual` (a person checks on the national "
                                  "platform) or `tax-portal` (the verification bot)")
    chromium: Path | None = Field(default=None, description="browser the bots launch; unset = Debian's "
                                  "headless shell or Chromium")
    posting_pause_at: str | None = Field(default=None, description="test hook: the posting journal stops dead at "
                                         "this named point (crash-recovery tests)")
    erp_account: str | None = Field(default=None, description="ERP login of the bots (else the secrets file)")
    erp_password: SecretStr | None = Field(default=None, description="its password")
    bank_account: str | None = Field(default=None, description="online-bank login of the bots")
    bank_password: SecretStr | None = Field(default=None, description="its password")
    tax_account: str | None = Field(default=None, description="verification-portal login, where one is needed")
    tax_password: SecretStr | None = Field(default=None, description="its password")
    insurance_account: str | None = Field(default=None, description="insurance settlement portal login of the bots")
    insurance_password: SecretStr | None = Field(default=None, description="its password")

    bot: BotSettings = Field(default_factory=lambda: BotSettings(), description="bots (SMARTFIN_BOT_…)")
    flows: FlowSettings = Field(default_factory=lambda: FlowSettings(), description="scheduled flows")
    procurement: ProcurementSettings = Field(default_factory=lambda: ProcurementSettings(),
                                             description="procurement evaluation (SMARTFIN_PROCUREMENT_…)")
    notify: NotifySettings = Field(default_factory=lambda: NotifySettings(),
                                   description="notifications (SMARTFIN_NOTIFY_…)")
    cluster: ClusterSettings = Field(default_factory=lambda: ClusterSettings(),
                                     description="the cluster profile (SMARTFIN_CLUSTER_…)")

    approval_escalation_after: str = Field(
        default="P2D", description="ISO-8601 duration after which an idle approval task is escalated"
    )
    cost_review_escalation_after: str = Field(
        default="P5D", description="ISO-8601 duration after which a department head's unanswered cost review "
        "(成本分析整改) is escalated"
    )

    def portal_login(self, portal: str) -> tuple[str | None, str | None]:
        """The account and password configured for ``portal`` by environment (``SMARTFIN_ERP_ACCOUNT`` …)."""
        account = getattr(self, f"{portal}_account", None)
        password = getattr(self, f"{portal}_password", None)
        return account, (password.get_secret_value() if password else None)

    @property
    def sqlite_path(self) -> Path:
        return self.var_dir / "smartfin.db"

    @property
    def credentials_root(self) -> Path:
        return self.credentials_dir or self.var_dir / "credentials"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path}"

    @property
    def engine_rest_url(self) -> str:
        return self.engine_url.rstrip("/") + self.engine_rest_path

    @property
    def dashboard_url(self) -> str:
        """Where approvers' browsers reach the dashboard (and a claim's original files)."""
        return (self.dashboard_public_url or f"http://{self.dashboard_host}:{self.dashboard_port}").rstrip("/")

    @property
    def tasklist_url(self) -> str:
        return self.engine_url.rstrip("/") + self.engine_webapp_path + "/app/tasklist/"


def _shown_default(field: Any) -> str:
    if field.default_factory is not None or field.default is None:
        return "—"
    value = field.default
    if isinstance(value, Path):
        return (value.relative_to(PROJECT_ROOT).as_posix() + "/") if value.is_relative_to(PROJECT_ROOT) else str(value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value) if value != "" else "(empty)"


def settings_table() -> str:
    """The README's configuration table, made from this module: every variable, its default, its meaning.

    A test compares it with the README, so the table cannot drift from the code.
    """
    rows = ["| variable | default | meaning |", "|---|---|---|"]

    def walk(cls: type[BaseSettings]) -> None:
        prefix = str(cls.model_config.get("env_prefix", "")).upper()
        for name, field in cls.model_fields.items():
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseSettings):
                continue
            if cls is FlowSettings and name == "var_dir":
                continue  # the product's SMARTFIN_VAR_DIR, listed once
            meaning = (field.description or "").replace("|", "\\|")
            rows.append(f"| `{prefix}{name.upper()}` | `{_shown_default(field)}` | {meaning} |")

    for section in (Settings, FlowSettings, BotSettings, ProcurementSettings, NotifySettings, ClusterSettings):
        walk(section)
    return "\n".join(rows) + "\n"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings are read once per process; tests call ``get_settings.cache_clear()`` after changing env."""
    return Settings()
