"""How bots are configured: runtime limits, and where a portal account's password comes from.

Portal URLs live in the product settings (``SMARTFIN_ERP_URL`` …); everything specific to running
browsers is here (``SMARTFIN_BOT_…``). Passwords never travel in process variables, logs or traces:
they come from the environment (``SMARTFIN_ERP_PASSWORD``) or from a secrets file readable only by the
service user, one entry per portal account::

    {"erp": [{"username": "kuaiji01", "password": "…"}], "bank": [{"username": "…", "password": "…"}]}
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from smartfin.config import Settings, get_settings

PORTALS = ("erp", "bank", "tax")
DEMO_ACCOUNTS = Path("portals") / "demo-accounts.json"


class BotSettings(BaseSettings):
    """Runtime limits of the bots; see the README's bots section for each variable."""

    model_config = SettingsConfigDict(env_prefix="SMARTFIN_BOT_", env_file=None, extra="ignore")

    headless: bool = True
    secrets_file: Path | None = Field(default=None, description="portal accounts (default var/secrets/"
                                                                "portal-accounts.json)")
    sessions_per_account: int = Field(default=2, ge=1, description="contexts one portal account may use at once")
    step_timeout_ms: int = Field(default=15_000, description="how long one click/wait may take")
    item_timeout_s: float = Field(default=180.0, description="how long one work item may take in all")
    download_timeout_ms: int = Field(default=30_000, description="how long to wait for a download to start")
    attempts: int = Field(default=2, ge=1, description="tries of an item on technical errors, in process")
    retry_delay_s: float = 1.0
    trace: bool = Field(default=True, description="record a Playwright trace per item (kept on failure only)")
    evidence_days: int = Field(default=30, description="days evidence of failed items is kept")
    erp_layouts: str = Field(default="classic,revised", description="ERP screen layouts the page objects accept")
    bank_layouts: str = "classic,revised"
    tax_layouts: str = "classic,revised"


@dataclass(frozen=True)
class PortalAccount:
    """A portal login; the password is kept out of ``repr`` so it cannot leak into a log line."""

    portal: str
    username: str
    password: str = field(repr=False)

    @property
    def key(self) -> str:
        return f"{self.portal}-{self.username}"


class CredentialsMissing(RuntimeError):
    """No usable account for a portal: says which variables or file to set."""


def secrets_path(settings: Settings, bot: BotSettings) -> Path:
    return bot.secrets_file or settings.var_dir / "secrets" / "portal-accounts.json"


def _read_secrets(path: Path) -> dict[str, list[dict[str, str]]]:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CredentialsMissing(f"{path} is readable by other users (mode {oct(mode & 0o777)}); "
                                 f"chmod 600 it before bots may use it")
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise CredentialsMissing(f"{path} must hold a JSON object keyed by portal name")
    return data


def portal_account(portal: str, settings: Settings | None = None, bot: BotSettings | None = None,
                   environ: Mapping[str, str] | None = None, *, username: str | None = None) -> PortalAccount:
    """The account a bot logs in with: environment first, then the secrets file.

    ``SMARTFIN_<PORTAL>_ACCOUNT`` picks the user (default: the first in the file);
    ``SMARTFIN_<PORTAL>_PASSWORD`` gives its password directly. With the stand-in portals switched on,
    their generated demo accounts serve as the secrets file when none exists.
    """
    settings = settings or get_settings()
    bot = bot or BotSettings()
    environ = os.environ if environ is None else environ
    prefix = f"SMARTFIN_{portal.upper()}_"
    configured = environ.get(prefix + "ACCOUNT")
    username = username or configured
    password = environ.get(prefix + "PASSWORD") if username == configured else None
    if username and password:
        return PortalAccount(portal, username, password)
    path = secrets_path(settings, bot)
    if not path.exists() and settings.stand_in_portals and (settings.var_dir / DEMO_ACCOUNTS).exists():
        path = settings.var_dir / DEMO_ACCOUNTS
    if not path.exists():
        raise CredentialsMissing(f"no {portal} account: set {prefix}ACCOUNT and {prefix}PASSWORD, or write "
                                 f"{secrets_path(settings, bot)} (mode 600)")
    entries = _read_secrets(path).get(portal, [])
    for entry in entries:
        if username in (None, entry.get("username")) and entry.get("password"):
            return PortalAccount(portal, str(entry["username"]), str(entry["password"]))
    raise CredentialsMissing(f"{path} has no password for the {portal} account {username or '(any)'}")


def accepted_layouts(bot: BotSettings, portal: str) -> tuple[str, ...]:
    """Screen layouts the page objects may recognise for ``portal``; others are an unexpected page."""
    raw = getattr(bot, f"{portal}_layouts")
    return tuple(name.strip() for name in raw.split(",") if name.strip())
