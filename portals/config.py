"""Launch configuration of the stand-in portals: where data lives, who may log in, which faults are on.

Accounts are never built into the code: they come from a seed file given to the launcher, or demo
accounts with random passwords are generated once and written next to the data, so a demo machine
never ships a known password.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from portals.auth import PortalUser

PORTAL_NAMES = ("erp", "bank", "tax", "insurance")
LOGIN_PORTALS = ("erp", "bank", "insurance")
DEMO_ACCOUNTS_FILE = "demo-accounts.json"
ADMIN_TOKEN_FILE = "admin-token"
FAULT_ENV = {name: f"PORTALS_{name.upper()}_FAULTS" for name in PORTAL_NAMES}

_DEMO_PEOPLE = {
    "erp": [("kuaiji01", "会计 王敏"), ("chuna01", "出纳 李强")],
    "bank": [("yiyuan_caiwu", "财务处 网银操作员"), ("yiyuan_fuhe", "财务处 网银复核员")],
    "insurance": [("yb_caiwu", "财务处 医保结算员")],
}


@dataclass
class PortalConfig:
    """Everything `start_portals` needs; defaults match a demo on one machine."""

    data_dir: Path
    admin_token: str
    users: dict[str, list[PortalUser]]
    idle_timeout_seconds: float = 300
    erp_search_delay_seconds: float = 0.5
    tax_invoices: list[dict[str, Any]] | None = None
    faults: dict[str, dict[str, Any]] = field(default_factory=dict)


def parse_seed_users(data: Mapping[str, Any]) -> dict[str, list[PortalUser]]:
    """Seed format: {"erp": [{"username", "password", "display_name"}], "bank": [...]}."""
    users: dict[str, list[PortalUser]] = {}
    for portal in LOGIN_PORTALS:
        entries = data.get(portal, [])
        if not isinstance(entries, list):
            raise ValueError(f"seed users for {portal} must be a list")
        users[portal] = [
            PortalUser(str(e["username"]), str(e["password"]), str(e.get("display_name", e["username"])))
            for e in entries
        ]
    return users


def load_seed_users(path: Path) -> dict[str, list[PortalUser]]:
    return parse_seed_users(json.loads(path.read_text(encoding="utf-8")))


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)


def demo_accounts(data_dir: Path) -> tuple[dict[str, list[PortalUser]], Path]:
    """Demo accounts with random passwords, generated once and kept in the data dir."""
    path = data_dir / DEMO_ACCOUNTS_FILE
    if not path.exists():
        data = {
            portal: [
                {"username": username, "password": secrets.token_urlsafe(9), "display_name": name}
                for username, name in people
            ]
            for portal, people in _DEMO_PEOPLE.items()
        }
        _write_private(path, json.dumps(data, ensure_ascii=False, indent=2))
    return load_seed_users(path), path


def admin_token(data_dir: Path, given: str | None) -> tuple[str, Path | None]:
    """The admin token from the command line/env, else one generated once into the data dir."""
    if given:
        return given, None
    path = data_dir / ADMIN_TOKEN_FILE
    if not path.exists():
        _write_private(path, secrets.token_urlsafe(24))
    return path.read_text(encoding="utf-8").strip(), path


def faults_from_env(environ: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Faults switched on at launch, e.g. PORTALS_ERP_FAULTS='{"latency_ms": 300}'."""
    faults = {}
    for portal, variable in FAULT_ENV.items():
        if environ.get(variable):
            value = json.loads(environ[variable])
            if not isinstance(value, dict):
                raise ValueError(f"{variable} must hold a JSON object")
            faults[portal] = value
    return faults


def default_environ() -> Mapping[str, str]:
    return os.environ
