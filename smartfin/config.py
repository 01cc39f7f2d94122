"""One typed settings object for the whole product, read from the environment (prefix ``SMARTFIN_``).

Every default is the embedded single-machine form (H2 engine, SQLite, local portals); production changes
values here through the environment, never code.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Business dates (fiscal year, "today" for deadlines, the tax platform's day) are the hospital's, not UTC.
HOSPITAL_TZ = ZoneInfo("Asia/Shanghai")


class Settings(BaseSettings):
    """Runtime configuration; see the README's configuration table for each variable."""

    model_config = SettingsConfigDict(env_prefix="SMARTFIN_", env_file=None, extra="ignore")

    var_dir: Path = Field(default=PROJECT_ROOT / "var", description="runtime data: databases, logs, archives")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the project's tables; SQLite under var/ when unset"
    )

    engine_url: str = Field(default="http://127.0.0.1:8080", description="base URL of the Camunda engine")
    engine_rest_path: str = "/engine-rest"
    engine_webapp_path: str = "/camunda"
    engine_user: str = "smartfin-service"
    engine_password: SecretStr | None = Field(
        default=None, description="service account password; read from var/secrets.env when unset"
    )
    engine_jdbc_url: str | None = Field(
        default=None, description="engine database (PostgreSQL); embedded H2 under var/ when unset"
    )
    engine_jdbc_user: str | None = None
    engine_jdbc_password: SecretStr | None = None
    engine_demo: bool = Field(default=True, description="create the demo users and groups in the engine")
    engine_start_timeout: float = 180.0

    worker_id: str = "smartfin-worker"
    worker_max_tasks: int = 10
    worker_lock_ms: int = 60_000
    worker_long_poll_ms: int = 20_000
    worker_retries: int = 3
    worker_retry_backoff_ms: int = 5_000

    erp_url: str = Field(default="http://127.0.0.1:8101", description="legacy ERP (voucher entry) base URL")
    bank_url: str = Field(default="http://127.0.0.1:8102", description="online bank portal base URL")
    tax_url: str = Field(default="http://127.0.0.1:8103", description="invoice verification portal base URL")
    stand_in_portals: bool = Field(default=True,
                                   description="start the stand-in portals with `smartfin up` (demo/test only)")

    approval_escalation_after: str = Field(
        default="P2D", description="ISO-8601 duration after which an idle approval task is escalated"
    )

    @property
    def sqlite_path(self) -> Path:
        return self.var_dir / "smartfin.db"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path}"

    @property
    def engine_rest_url(self) -> str:
        return self.engine_url.rstrip("/") + self.engine_rest_path

    @property
    def tasklist_url(self) -> str:
        return self.engine_url.rstrip("/") + self.engine_webapp_path + "/app/tasklist/"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings are read once per process; tests call ``get_settings.cache_clear()`` after changing env."""
    return Settings()
