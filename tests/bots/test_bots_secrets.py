"""Credentials come from the environment or a private secrets file; evidence is scrubbed of secrets."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from bots.config import BotSettings, CredentialsMissing, portal_account
from bots.evidence import redact, redact_trace, secret_variants
from smartfin.kernel.settings import Settings


def settings_in(tmp_path: Path, stand_in: bool = False) -> Settings:
    return Settings(var_dir=tmp_path, stand_in_portals=stand_in)


def secrets_file(tmp_path: Path, mode: int = 0o600) -> Path:
    path = tmp_path / "accounts.json"
    accounts = [{"username": "a1", "password": "pw-a1"}, {"username": "b2", "password": "pw-b2"}]
    path.write_text(json.dumps({"erp": accounts}))
    path.chmod(mode)
    return path


def test_environment_wins(tmp_path: Path) -> None:
    account = portal_account("erp", settings_in(tmp_path), BotSettings(),
                             {"SMARTFIN_ERP_ACCOUNT": "env-user", "SMARTFIN_ERP_PASSWORD": "env-pw"})
    assert (account.username, account.password) == ("env-user", "env-pw")
    assert "env-pw" not in repr(account)


def test_secrets_file_per_account(tmp_path: Path) -> None:
    bot = BotSettings(secrets_file=secrets_file(tmp_path))
    assert portal_account("erp", settings_in(tmp_path), bot, {}).username == "a1"
    chosen = portal_account("erp", settings_in(tmp_path), bot, {"SMARTFIN_ERP_ACCOUNT": "b2"})
    assert chosen.password == "pw-b2"
    assert portal_account("erp", settings_in(tmp_path), bot, {}, username="b2").password == "pw-b2"


def test_secrets_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    bot = BotSettings(secrets_file=secrets_file(tmp_path, 0o644))
    with pytest.raises(CredentialsMissing, match="chmod 600"):
        portal_account("erp", settings_in(tmp_path), bot, {})


def test_missing_credentials_name_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(CredentialsMissing, match="SMARTFIN_BANK_ACCOUNT and SMARTFIN_BANK_PASSWORD"):
        portal_account("bank", settings_in(tmp_path), BotSettings(), {})
    bot = BotSettings(secrets_file=secrets_file(tmp_path))
    with pytest.raises(CredentialsMissing, match="no password for the erp account nobody"):
        portal_account("erp", settings_in(tmp_path), bot, {"SMARTFIN_ERP_ACCOUNT": "nobody"})


def test_stand_in_demo_accounts_serve_when_switched_on(tmp_path: Path) -> None:
    demo = tmp_path / "portals" / "demo-accounts.json"
    demo.parent.mkdir()
    demo.write_text(json.dumps({"erp": [{"username": "kuaiji01", "password": "demo-pw"}]}))
    demo.chmod(0o600)
    assert portal_account("erp", settings_in(tmp_path, stand_in=True), BotSettings(), {}).username == "kuaiji01"
    with pytest.raises(CredentialsMissing):
        portal_account("erp", settings_in(tmp_path, stand_in=False), BotSettings(), {})


def test_redaction_blanks_known_values_and_secret_shaped_fields() -> None:
    blob = (b'username=kj&password=p%40ss+w0rd&csrf_token=AbCdEfGhIjKlMnOpQrSt\n'
            b'{"name":"Cookie","value":"ERPSESSIONID=zzzzzzzzzzzz"}\n'
            b'<input type="hidden" name="csrf_token" value="TokTokTokTokTokTok1">\nhello p@ss w0rd')
    scrubbed = redact(blob, secret_variants(["p@ss w0rd"]))
    for secret in (b"p@ss w0rd", b"p%40ss+w0rd", b"AbCdEfGhIjKlMnOpQrSt", b"zzzzzzzzzzzz", b"TokTokTokTokTokTok1"):
        assert secret not in scrubbed
    assert b"username=kj" in scrubbed and b"hello" in scrubbed


def test_trace_zip_is_rewritten_entry_by_entry(tmp_path: Path) -> None:
    raw, clean = tmp_path / "raw.zip", tmp_path / "clean.zip"
    with zipfile.ZipFile(raw, "w") as archive:
        archive.writestr("trace.network", '{"postData":"password=hunter22&csrf_token=Q1w2E3r4T5y6U7i8O9p0"}')
        archive.writestr("resources/page.html", 'token "Q1w2E3r4T5y6U7i8O9p0" and sid SIDVALUE-123456')
    redact_trace(raw, clean, ["hunter22", "SIDVALUE-123456"])
    with zipfile.ZipFile(clean) as archive:
        everything = b"".join(archive.read(name) for name in archive.namelist())
        assert sorted(archive.namelist()) == ["resources/page.html", "trace.network"]
    for secret in (b"hunter22", b"Q1w2E3r4T5y6U7i8O9p0", b"SIDVALUE-123456"):
        assert secret not in everything
