"""Engine account secrets: generated on first start, kept under var/ (git-ignored), never in the repo.

The service and admin passwords are random per installation. Production passes them through the
environment (``SMARTFIN_ENGINE_PASSWORD``, ``SMARTFIN_ENGINE_ADMIN_PASSWORD``) and never writes the file.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from smartfin.kernel.settings import Settings

SECRETS_FILE = "secrets.env"


def secrets_path(settings: Settings) -> Path:
    return settings.var_dir / SECRETS_FILE


def read_secrets(settings: Settings) -> dict[str, str]:
    path = secrets_path(settings)
    if not path.exists():
        return {}
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def ensure_secrets(settings: Settings) -> dict[str, str]:
    """Create var/secrets.env (mode 0600) with random engine passwords unless it exists."""
    existing = read_secrets(settings)
    wanted = {
        "SMARTFIN_ENGINE_ADMIN_PASSWORD": (settings.engine_admin_password.get_secret_value()
                                           if settings.engine_admin_password else None),
        "SMARTFIN_ENGINE_SERVICE_PASSWORD": (settings.engine_password.get_secret_value()
                                             if settings.engine_password else None),
    }
    values = dict(existing)
    for key, from_env in wanted.items():
        values[key] = from_env or existing.get(key) or secrets.token_urlsafe(24)
    if values != existing:
        path = secrets_path(settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("# Generated engine account passwords for this installation. Keep private.\n")
            for key, value in values.items():
                handle.write(f"{key}={value}\n")
    return values


def service_password(settings: Settings) -> str | None:
    """The service account's password: environment first, then var/secrets.env."""
    if settings.engine_password is not None:
        return settings.engine_password.get_secret_value()
    return read_secrets(settings).get("SMARTFIN_ENGINE_SERVICE_PASSWORD")
