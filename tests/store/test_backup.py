"""`smartfin backup` / `smartfin restore` on the project's tables and the document archive.

A var/ with journal entries, audit entries and archived files is backed up and restored into a new var/,
on SQLite and on PostgreSQL; a damaged or truncated archive is refused before anything is written; a
backup taken while a writer commits is one snapshot. The engine's database is covered with a real engine
in tests/integration/test_backup_engine.py.
"""

from __future__ import annotations

import json
import os
import stat
import tarfile
import threading
from pathlib import Path

import pytest
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from smartfin.app.backup import BackupError, backup, restore, verify
from smartfin.app.cli import app
from smartfin.kernel.settings import Settings
from smartfin.ledger import BudgetLineKey, create_line, pre_encumber
from smartfin.ledger.models import JournalEntry
from smartfin.store.archive import archive_file, read_archived
from smartfin.store.audit import AuditEntry, record_audit
from smartfin.store.db import make_engine, session_scope
from smartfin.store.migrations import head_revision, upgrade_to_head
from tests.support.localpg import LocalPostgres

KEY = BudgetLineKey(2026, "CARD", "30218", "fiscal")
FILES = [b"%PDF-1.4 invoice one", b"<EInvoice>two</EInvoice>", "发票 三".encode()]


def populate(settings: Settings, requests: int = 3) -> list[str]:
    """A budget line with pre-encumbrances, audit entries and archived files; the archived digests."""
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.effective_database_url)
    upgrade_to_head(engine)
    with session_scope(engine) as session:
        create_line(session, KEY, actor="finance", name="心内科 材料", budget="100000.00", document_no="B-1")
        for n in range(requests):
            pre_encumber(session, KEY, "1200.50", document_type="spending-request", document_no=f"REQ-{n}",
                         actor="svc")
            record_audit(session, actor="svc", action="request.submitted", subject_type="spending-request",
                         subject_id=f"REQ-{n}")
    engine.dispose()
    return [archive_file(data, root=settings.var_dir / "archive") for data in FILES]


def counts(url: str) -> tuple[int, int, int]:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            journal = session.exec(select(func.count()).select_from(JournalEntry)).one()
            audit = session.exec(select(func.count()).select_from(AuditEntry)).one()
            encumbered = session.exec(select(func.coalesce(func.sum(JournalEntry.amount_fen), 0))
                                      .where(JournalEntry.bucket == "pre_encumbrance")).one()
        return journal, audit, encumbered
    finally:
        engine.dispose()


def writer_rows(url: str) -> tuple[int, int]:
    """Journal entries and audited documents of the concurrent writer (document numbers W-…)."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            journal = session.exec(select(func.count()).select_from(JournalEntry)
                                   .where(JournalEntry.document_no.like("W-%"))).one()  # type: ignore[attr-defined]
            audit = session.exec(select(func.count(func.distinct(AuditEntry.subject_id)))
                                 .where(AuditEntry.subject_id.like("W-%"))).one()  # type: ignore[attr-defined]
        return journal, audit
    finally:
        engine.dispose()


def test_sqlite_installation_is_restored_into_a_new_var(tmp_path: Path) -> None:
    old = Settings(var_dir=tmp_path / "old")
    digests = populate(old)
    before = counts(old.effective_database_url)
    result = backup(old, tmp_path / "backups")

    assert result.path.name.startswith("smartfin-backup-") and result.path.suffix == ".tar"
    assert stat.S_IMODE(result.path.stat().st_mode) == 0o600
    assert [p.name for p in (tmp_path / "backups").iterdir()] == [result.path.name], "no temporary file is left"
    manifest = verify(result.path)
    assert manifest["versions"]["alembic_revision"] == head_revision()
    assert manifest["versions"]["engine"]["version"] == "7.24.0"
    assert manifest["archived_files"] == len(FILES)
    assert "secrets.env" not in manifest["members"]

    new = Settings(var_dir=tmp_path / "new")
    restored = restore(new, result.path)
    assert counts(new.effective_database_url) == before
    assert before[0] == 4 and before[2] == 3 * 120050
    for digest, data in zip(digests, FILES, strict=True):
        assert read_archived(digest, root=new.var_dir / "archive") == data
    assert restored.revision_after == head_revision()
    assert stat.S_IMODE(new.sqlite_path.stat().st_mode) == 0o600
    settings_copy = json.loads((new.var_dir / "restored-settings.json").read_text())
    assert settings_copy["var_dir"] == str(old.var_dir)


def test_restore_refuses_a_non_empty_var_unless_forced(tmp_path: Path) -> None:
    old = Settings(var_dir=tmp_path / "old")
    populate(old)
    archive = backup(old, tmp_path / "backups").path
    target = Settings(var_dir=tmp_path / "busy")
    target.var_dir.mkdir()
    (target.var_dir / "smartfin.db").write_bytes(b"someone's data")
    with pytest.raises(BackupError, match="not empty"):
        restore(target, archive)
    assert (target.var_dir / "smartfin.db").read_bytes() == b"someone's data"
    restore(target, archive, force=True)
    assert counts(target.effective_database_url)[0] == 4


def test_an_older_revision_is_upgraded_on_restore(tmp_path: Path) -> None:
    old = Settings(var_dir=tmp_path / "old")
    old.var_dir.mkdir()
    engine = make_engine(old.effective_database_url)
    from alembic import command

    from smartfin.store.migrations import alembic_config

    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0007_cost_accounting")
    engine.dispose()
    archive = backup(old, tmp_path / "backups")
    assert archive.manifest["project"]["revision"] == "0007_cost_accounting"
    result = restore(Settings(var_dir=tmp_path / "new"), archive.path)
    assert (result.revision_before, result.revision_after) == ("0007_cost_accounting", head_revision())


@pytest.mark.parametrize("damage", ["flipped byte", "truncated", "member removed"])
def test_a_damaged_archive_is_refused_before_anything_is_written(tmp_path: Path, damage: str) -> None:
    old = Settings(var_dir=tmp_path / "old")
    populate(old)
    archive = backup(old, tmp_path / "backups").path
    data = bytearray(archive.read_bytes())
    if damage == "flipped byte":
        with tarfile.open(archive) as tar:
            member = next(m for m in tar.getmembers() if m.name.startswith("archive/"))
        data[member.offset_data] ^= 0xFF
    elif damage == "truncated":
        data = data[: len(data) * 2 // 3]
    else:
        with tarfile.open(archive) as tar, tarfile.open(tmp_path / "cut.tar", "w") as out:
            for member in tar.getmembers():
                if not member.name.startswith("project/"):
                    out.addfile(member, tar.extractfile(member))
        data = bytearray((tmp_path / "cut.tar").read_bytes())
    bad = tmp_path / "bad.tar"
    bad.write_bytes(bytes(data))
    target = Settings(var_dir=tmp_path / "new")
    with pytest.raises(BackupError, match=r"damaged|truncated|missing"):
        restore(target, bad)
    assert not target.var_dir.exists(), "nothing is written for a refused archive"


def fresh_postgres_databases(server: LocalPostgres, *names: str) -> str:
    """Empty databases on the session's PostgreSQL; the URL prefix to append a name to."""
    import psycopg

    with psycopg.connect(f"host=127.0.0.1 port={server.port} dbname=postgres user=postgres",
                         autocommit=True) as conn:
        for name in names:
            conn.execute(f"drop database if exists {name}")
            conn.execute(f"create database {name}")
    return f"postgresql+psycopg://postgres@127.0.0.1:{server.port}/"


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_backup_taken_while_a_writer_commits_is_one_snapshot(tmp_path: Path, database: str,
                                                               request: pytest.FixtureRequest) -> None:
    """Each writer transaction adds one journal entry and one audit entry together: a consistent copy has
    as many of one as of the other, whatever moment it caught."""
    names = ["snap_old", "snap_0", "snap_1", "snap_2"]
    prefix = (fresh_postgres_databases(request.getfixturevalue("pg_server"), *names)
              if database == "postgres" else None)

    def installation(name: str) -> Settings:
        return Settings(var_dir=tmp_path / name, database_url=prefix + f"snap_{name}" if prefix else None)

    old = installation("old")
    populate(old, requests=0)
    engine = make_engine(old.effective_database_url)
    stop = threading.Event()
    written = [0]

    def writer() -> None:
        n = 0
        while not stop.is_set():
            with session_scope(engine) as session:
                pre_encumber(session, KEY, "1.00", document_type="spending-request", document_no=f"W-{n}",
                             actor="svc")
                record_audit(session, actor="svc", action="request.submitted", subject_type="spending-request",
                             subject_id=f"W-{n}")
            n += 1
            written[0] = n

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while written[0] < 20:
            threading.Event().wait(0.01)
        archives = [backup(old, tmp_path / "backups").path for _ in range(3)]
    finally:
        stop.set()
        thread.join()
        engine.dispose()
    seen = set()
    for n, archive in enumerate(archives):
        target = installation(str(n))
        restore(target, archive)
        journal, audit = writer_rows(target.effective_database_url)
        assert journal == audit, "the journal and audit entries of one transaction are copied together"
        seen.add(audit)
    assert min(seen) >= 20


def test_cli_backup_and_restore(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from smartfin.kernel.settings import get_settings

    monkeypatch.setenv("SMARTFIN_VAR_DIR", str(tmp_path / "old"))
    get_settings.cache_clear()
    try:
        populate(get_settings())
        (tmp_path / "old" / "secrets.env").write_text("SMARTFIN_ENGINE_SERVICE_PASSWORD=x\n")
        runner = CliRunner()
        made = runner.invoke(app, ["backup", "--out", str(tmp_path / "b"), "--include-secrets"])
        assert made.exit_code == 0, made.output
        assert "secrets" in made.output
        archive = next((tmp_path / "b").iterdir())
        assert "secrets.env" in verify(archive)["members"]
        done = runner.invoke(app, ["restore", str(archive), "--var", str(tmp_path / "new")])
        assert done.exit_code == 0, done.output
        assert "document archive: 3 files" in done.output
        assert stat.S_IMODE(os.stat(tmp_path / "new" / "secrets.env").st_mode) == 0o600
        again = runner.invoke(app, ["restore", str(archive), "--var", str(tmp_path / "new")])
        assert again.exit_code == 3 and "not empty" in again.output
    finally:
        get_settings.cache_clear()


@pytest.mark.postgres
def test_postgresql_installation_is_restored_into_another_database(tmp_path: Path, pg_server: LocalPostgres) -> None:
    base = fresh_postgres_databases(pg_server, "backup_old", "backup_new")
    old = Settings(var_dir=tmp_path / "old", database_url=base + "backup_old")
    digests = populate(old)
    before = counts(old.effective_database_url)
    archive = backup(old, tmp_path / "backups")
    assert archive.manifest["project"]["kind"] == "postgresql"
    assert archive.manifest["project"]["revision"] == head_revision()

    new = Settings(var_dir=tmp_path / "new", database_url=base + "backup_new")
    result = restore(new, archive.path)
    assert counts(new.effective_database_url) == before
    assert result.revision_after == head_revision()
    assert read_archived(digests[2], root=new.var_dir / "archive") == FILES[2]
    again = Settings(var_dir=tmp_path / "again", database_url=base + "backup_new")
    with pytest.raises(BackupError, match="already hold tables"):
        restore(again, archive.path)
    restore(again, archive.path, force=True)
    assert counts(again.effective_database_url) == before
    with pytest.raises(BackupError, match="same kind"):
        restore(Settings(var_dir=tmp_path / "sqlite"), archive.path)
