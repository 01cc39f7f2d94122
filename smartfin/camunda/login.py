"""Who is at the keyboard: ``smartfin login`` keeps one engine login, the commands act as that user.

The engine (Camunda 7 REST, HTTP basic authentication) has no tokens, so the login is the user id and
password, checked against the engine before it is kept, in a file only the OS user can read (file
0600 in a 0700 directory, ``credentials_dir`` or ``var/credentials/``). Commands that submit or decide
for a person start and correlate with this login, so the engine records that person as the starter
(``initiator``, the historic ``startUserId``) and applies that person's authorizations.

The password is never printed or logged; the credential's ``repr`` hides it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smartfin.camunda.client import EngineAuthError, EngineClient, EngineError
from smartfin.kernel.settings import Settings, get_settings

CREDENTIAL_FILE = "engine-login.json"


class LoginError(EngineError):
    """No usable login: none kept, or the engine refuses it; the message says to log in (again)."""


@dataclass(frozen=True)
class Credential:
    """One engine login; the password stays out of ``repr`` and so out of logs and tracebacks."""

    user: str
    password: str = field(repr=False)
    engine: str = ""


def credential_path(settings: Settings | None = None) -> Path:
    settings = settings or get_settings()
    return settings.credentials_root / CREDENTIAL_FILE


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def store_credential(credential: Credential, settings: Settings | None = None) -> Path:
    """Write the login (replacing an earlier one) readable by the OS user only."""
    path = credential_path(settings)
    _private_dir(path.parent)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"user": credential.user, "password": credential.password, "engine": credential.engine}, handle)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)
    return path


def load_credential(settings: Settings | None = None) -> Credential | None:
    """The kept login, or None; a file others can read is refused rather than used."""
    path = credential_path(settings)
    if not path.exists():
        return None
    if path.stat().st_mode & 0o077:
        raise LoginError(f"{path} can be read by other OS users; remove it and run `smartfin login` again")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Credential(str(data["user"]), str(data["password"]), str(data.get("engine", "")))
    except (ValueError, KeyError, TypeError) as exc:
        raise LoginError(f"{path} is damaged ({exc.__class__.__name__}); run `smartfin login` again") from None


def clear_credential(settings: Settings | None = None) -> bool:
    """Forget the kept login; True when there was one."""
    path = credential_path(settings)
    if not path.exists():
        return False
    path.unlink()
    return True


def user_client(credential: Credential, settings: Settings | None = None) -> EngineClient:
    settings = settings or get_settings()
    client = EngineClient(settings.engine_rest_url, credential.user, credential.password)
    client.refused_hint = "run `smartfin login` again"
    return client


def verify(client: EngineClient) -> None:
    """One authenticated read as the user (the user's own profile): refuses a wrong password or user."""
    try:
        client.get(f"/user/{client.user}/profile")
    except EngineAuthError as exc:
        if "HTTP 401" in str(exc):
            raise LoginError(f"the engine refused the login of {client.user!r}: wrong user or password "
                             "(or the account is locked for a while after failed attempts)") from None
        raise


def login(user: str, password: str, settings: Settings | None = None) -> Credential:
    """Check the password against the engine as that user, then keep the login."""
    settings = settings or get_settings()
    credential = Credential(user, password, settings.engine_rest_url)
    client = user_client(credential, settings)
    try:
        verify(client)
    finally:
        client.close()
    store_credential(credential, settings)
    return credential


def logged_in_client(settings: Settings | None = None, *, check: bool = True) -> EngineClient:
    """The engine client of the logged-in user; a missing or refused login says to log in (again)."""
    settings = settings or get_settings()
    credential = load_credential(settings)
    if credential is None:
        raise LoginError("not logged in: run `smartfin login --user <your engine user>` first "
                         "(the command acts as you in the engine)")
    if credential.engine and credential.engine != settings.engine_rest_url:
        raise LoginError(f"the kept login of {credential.user!r} is for the engine at {credential.engine}, not "
                         f"{settings.engine_rest_url}; run `smartfin login` again")
    client = user_client(credential, settings)
    if check:
        try:
            verify(client)
        except LoginError:
            client.close()
            raise LoginError(f"the engine no longer accepts the kept login of {credential.user!r} (password "
                             "changed or account locked); run `smartfin login` again") from None
    return client


# -- what the service account knows about users ------------------------------------------------------

def user_exists(service: EngineClient, user_id: str) -> bool:
    """Whether the engine has this user (asked as the service account, which may read users)."""
    return bool(user_id) and bool(service.get("/user", id=user_id))


def groups_of(service: EngineClient, user_id: str) -> list[dict[str, Any]]:
    """The engine groups the user is a member of (id and name), asked as the service account."""
    return list(service.get("/group", member=user_id, sortBy="id", sortOrder="asc"))
