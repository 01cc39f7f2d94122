"""Installation secrets: generated on first start, kept under var/ (git-ignored), never in the repo.

The service and admin passwords and the salt of the claims' random audit sample are random per
installation. Production passes them through the environment (``SMARTFIN_ENGINE_PASSWORD``,
``SMARTFIN_ENGINE_ADMIN_PASSWORD``, ``SMARTFIN_AUDIT_SAMPLE_SALT``) and never writes the file.
"""

from __future__ import annotations

import fcntl
import os
import secrets
from pathlib import Path

from smartfin.kernel.settings import Settings

SECRETS_FILE = "secrets.env"
AUDIT_SAMPLE_SALT = "SMARTFIN_AUDIT_SAMPLE_SALT"


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
        AUDIT_SAMPLE_SALT: (settings.audit_sample_salt.get_secret_value()
                            if settings.audit_sample_salt else None),
    }
    values = dict(existing)
    for key, from_env in wanted.items():
        values[key] = from_env or existing.get(key) or secrets.token_urlsafe(24 if key != AUDIT_SAMPLE_SALT else 32)
    if values != existing:
        _write(secrets_path(settings), values)
    return values


def _write(path: Path, values: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("# Generated secrets of this installation (engine accounts, audit sample salt). Keep private.\n")
        for key, value in values.items():
            handle.write(f"{key}={value}\n")


def audit_sample_salt(settings: Settings) -> str:
    """The secret salt of the claims' random audit sample: environment, else var/secrets.env.

    Generated once (under a lock, so concurrent workers agree) when neither has it; the file keeps its
    other entries and mode 0600. Changing the salt redraws the sample, so it is kept, not rotated.
    """
    if settings.audit_sample_salt is not None:
        return settings.audit_sample_salt.get_secret_value()
    return generated_secret(settings, AUDIT_SAMPLE_SALT)


def generated_secret(settings: Settings, key: str) -> str:
    """The value of ``key`` in var/secrets.env, generated once (under a lock, so concurrent starts agree).

    Used for the installation's own passwords (the cluster's database roles), which exist nowhere else.
    """
    known = read_secrets(settings).get(key)
    if known:
        return known
    path = secrets_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = os.open(path.with_name(SECRETS_FILE + ".lock"), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        values = read_secrets(settings)
        if not values.get(key):
            values[key] = secrets.token_urlsafe(32)
            _write(path, values)
        return values[key]
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        os.close(lock)


def service_password(settings: Settings) -> str | None:
    """The service account's password: environment first, then var/secrets.env."""
    if settings.engine_password is not None:
        return settings.engine_password.get_secret_value()
    return read_secrets(settings).get("SMARTFIN_ENGINE_SERVICE_PASSWORD")
