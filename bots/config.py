"""How bots are configured: runtime limits, and where a portal account's password comes from.

Portal URLs live in the product settings (``SMARTFIN_ERP_URL`` …); everything specific to running
browsers is here (``SMARTFIN_BOT_…``). Passwords never travel in process variables, logs or traces:
they come from the environment (``SMARTFIN_ERP_PASSWORD``) or from a secrets file readable only by the
service user, one entry per portal account::

    {"erp": [{"username": "kuaiji01", "password": "…"}], "bank": [{"username": "…", "password": "…"}]}
"""

from __future__ import annotations

import json
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from smartfin.kernel.settings import BotSettings, Settings, get_settings

PORTALS = ("erp", "bank", "tax", "insurance")
DEMO_ACCOUNTS = Path("portals") / "demo-accounts.json"


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
    bot = bot or settings.bot
    # the logins as configured now (a rotated password takes effect without restarting the runtime)
    environ = _configured_logins(get_settings()) if environ is None else environ
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


def _configured_logins(settings: Settings) -> dict[str, str]:
    """The portal logins set through the settings, under their variable names."""
    logins: dict[str, str] = {}
    for portal in PORTALS:
        account, password = settings.portal_login(portal)
        prefix = f"SMARTFIN_{portal.upper()}_"
        if account:
            logins[prefix + "ACCOUNT"] = account
        if password:
            logins[prefix + "PASSWORD"] = password
    return logins


def accepted_layouts(bot: BotSettings, portal: str) -> tuple[str, ...]:
    """Screen layouts the page objects may recognise for ``portal``; others are an unexpected page."""
    raw = getattr(bot, f"{portal}_layouts")
    return tuple(name.strip() for name in raw.split(",") if name.strip())
