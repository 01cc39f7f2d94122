"""The random audit sample: a secret salt from the secrets file, drawn on what the claimant cannot choose."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from rules.reimbursement import audit_sampled, standards_on
from smartfin.camunda.secrets import AUDIT_SAMPLE_SALT, audit_sample_salt, ensure_secrets, read_secrets
from smartfin.kernel.settings import Settings
from smartfin.processes.reimbursement.claims import Claim
from smartfin.processes.reimbursement.worker import sample_key

SHARE = standards_on(datetime(2026, 8, 10).date()).limit("audit_sample_percent")
RECORDED = datetime(2026, 8, 10, 1, 2, 3, 456789, tzinfo=UTC)


def claim(number: str, at: datetime = RECORDED) -> Claim:
    return Claim(claim_no=number, claimant="zhang.wei", department="CARD", category="travel", economic_code="30211",
                 funding_source="fiscal", fiscal_year=2026, purpose="会议", submitted_at=at)


def drawn(keys: list[str], salt: str) -> set[str]:
    return {k for k in keys if audit_sampled(k, SHARE, salt=salt)}


KEYS = [sample_key(claim(f"BX-2026-{n:06d}")) for n in range(4000)]


def test_the_draw_is_deterministic_for_a_secret_and_keeps_the_standards_share() -> None:
    assert Decimal(5) == SHARE
    first = drawn(KEYS, "secret-a")
    assert first == drawn(KEYS, "secret-a")
    assert 150 <= len(first) <= 250, "about 5 % of the claims"


def test_the_draw_changes_with_the_secret() -> None:
    first, second = drawn(KEYS, "secret-a"), drawn(KEYS, "secret-b")
    assert 150 <= len(second) <= 250
    assert len(first & second) < 40, "another secret draws another sample (≈ 5 % overlap by chance)"


def test_a_chosen_claim_number_does_not_decide_the_draw() -> None:
    # the same claim number, recorded at different moments, is drawn about as often as any claim
    number = "BX-2026-000001"
    keys = [sample_key(claim(number, RECORDED + timedelta(microseconds=n))) for n in range(4000)]
    assert len(set(keys)) == 4000
    assert 150 <= len(drawn(keys, "secret-a")) <= 250
    # and without the secret even one fixed record is not predictable: it is drawn under some salts only
    fixed = sample_key(claim(number))
    outcomes = {audit_sampled(fixed, SHARE, salt=f"secret-{n}") for n in range(400)}
    assert outcomes == {True, False}
    # the number alone, with the old public salt, would have told the claimant the outcome in advance
    assert number in fixed and fixed != number


def test_the_key_is_stable_across_storage_time_zones() -> None:
    naive = RECORDED.replace(tzinfo=None)
    shanghai = RECORDED.astimezone(datetime.now().astimezone().tzinfo)
    assert sample_key(claim("BX-1", naive)) == sample_key(claim("BX-1", shanghai)) == sample_key(claim("BX-1"))
    assert sample_key(claim("BX-1")) == "BX-1|2026-08-10T01:02:03.456789+00:00"


def test_the_salt_is_generated_once_into_the_secrets_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMARTFIN_AUDIT_SAMPLE_SALT", raising=False)
    settings = Settings(var_dir=tmp_path)
    salt = audit_sample_salt(settings)
    assert len(salt) >= 40
    path = tmp_path / "secrets.env"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert audit_sample_salt(Settings(var_dir=tmp_path)) == salt, "generated once, then read"
    values = ensure_secrets(settings)
    assert values[AUDIT_SAMPLE_SALT] == salt and read_secrets(settings)[AUDIT_SAMPLE_SALT] == salt
    assert values["SMARTFIN_ENGINE_SERVICE_PASSWORD"], "the file keeps the engine passwords"
    assert audit_sample_salt(settings) == salt

    monkeypatch.setenv("SMARTFIN_AUDIT_SAMPLE_SALT", "from-the-environment")
    assert audit_sample_salt(Settings(var_dir=tmp_path)) == "from-the-environment"


def test_a_fresh_installation_gets_its_salt_with_the_other_secrets(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMARTFIN_AUDIT_SAMPLE_SALT", raising=False)
    first = ensure_secrets(Settings(var_dir=tmp_path / "one"))[AUDIT_SAMPLE_SALT]
    second = ensure_secrets(Settings(var_dir=tmp_path / "two"))[AUDIT_SAMPLE_SALT]
    assert first and second and first != second
    assert "random audit sample" in Settings.model_fields["audit_sample_salt"].description
