"""One consistent, timestamped backup of an installation, and bringing a fresh machine to the same state.

A backup is one uncompressed tar file, ``smartfin-backup-<UTC timestamp>.tar`` (the names sort by time),
written to a temporary name and renamed into place, mode 0600. Its first member is ``manifest.json``: the
product version, the schema revision of the project's tables, the engine's version, and the size and
sha256 of every other member. The members:

- ``project/smartfin.db`` — the project's tables on SQLite, copied with SQLite's online backup API
  (``sqlite3.Connection.backup``) in one step, so the copy is one snapshot even while workers write;
  or ``project/smartfin.pgdump`` — ``pg_dump -Fc`` of the configured PostgreSQL database (one snapshot).
- ``engine/…`` — the engine's database. On PostgreSQL ``pg_dump -Fc`` (online). The embedded H2 file is
  held open by the running engine and H2's online ``BACKUP TO`` is reachable only through the engine's own
  connection, so the H2 file is copied while the engine is stopped: the backup refuses while it runs
  (``--stop-engine`` stops it for the copy and starts it again). The copy holds a lock on the file, so the
  engine cannot start half-way through it.
- ``archive/ab/cd/<sha256>`` — the document archive (``smartfin.store.archive``), each file checked
  against its name on the way in.
- ``settings.json`` — the installation's settings without secrets (passwords in database URLs masked).
- ``secrets.env`` — only with ``include_secrets``: the engine passwords and the audit sample salt.

Restoring checks the manifest and every member's sha256 before anything is written, so a damaged or
truncated file is refused whole; then the databases, the engine's database and the archive are put in
place and the project's tables are migrated to the newest revision (an older backup is upgraded).
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import SecretStr
from sqlalchemy import create_engine
from sqlalchemy.engine import URL, make_url

from smartfin.camunda.secrets import SECRETS_FILE
from smartfin.kernel.background import ManagedService
from smartfin.kernel.settings import PROJECT_ROOT, Settings
from smartfin.store.archive import ARCHIVE_FOLDER, digest_of
from smartfin.store.db import make_engine
from smartfin.store.migrations import current_revision, head_revision, upgrade_to_head

FORMAT = "smartfin-backup/1"
ARCHIVE_PREFIX = "smartfin-backup-"
MANIFEST = "manifest.json"
H2_FILE_PATTERN = "process-engine*.db"
H2_MAIN_FILE = "process-engine.mv.db"
ENGINE_FOLDER = "engine"
RESTORED_SETTINGS = "restored-settings.json"
POSTGRES_BIN_PATTERN = "/usr/lib/postgresql/*/bin"
CHUNK = 1024 * 1024


class BackupError(RuntimeError):
    """A backup or restore cannot be done; the message says what and why, and nothing was half-done."""


@dataclass
class BackupResult:
    """What a backup wrote: the archive file and its manifest."""

    path: Path
    manifest: dict[str, Any]


@dataclass
class RestoreResult:
    """What a restore put where, for the summary at its end."""

    var_dir: Path
    project: str
    engine: str
    archived_files: int
    revision_before: str | None
    revision_after: str
    secrets: bool
    notes: list[str] = field(default_factory=list)


# -- tools ---------------------------------------------------------------------------------------------


def postgres_tool(name: str) -> Path:
    """``pg_dump``/``pg_restore`` of Debian's PostgreSQL client: the newest under /usr/lib/postgresql (it
    can dump every older server), else the one on the PATH."""
    def major(path: str) -> int:
        with contextlib.suppress(ValueError):
            return int(Path(path).parent.name.split(".")[0])
        return 0

    for folder in sorted(glob.glob(POSTGRES_BIN_PATTERN), key=major, reverse=True):
        if (Path(folder) / name).is_file():
            return Path(folder) / name
    found = shutil.which(name)
    if found:
        return Path(found)
    raise BackupError(f"{name} not found: install Debian's PostgreSQL client tools (apt-get install "
                      "postgresql-client)")


@dataclass(frozen=True)
class PostgresTarget:
    """A PostgreSQL database as libpq's tools address it (the password travels in the environment)."""

    host: str
    port: int
    database: str
    user: str | None
    password: str | None

    def arguments(self) -> list[str]:
        args = ["-h", self.host, "-p", str(self.port), "-d", self.database]
        return args + (["-U", self.user] if self.user else [])

    def sqlalchemy_url(self) -> str:
        return URL.create("postgresql+psycopg", username=self.user, password=self.password, host=self.host,
                          port=self.port, database=self.database).render_as_string(hide_password=False)

    def has_tables(self) -> bool:
        """Whether the database holds any table of its own (a restore would overwrite somebody's data)."""
        engine = create_engine(self.sqlalchemy_url())
        try:
            with engine.connect() as connection:
                return bool(connection.exec_driver_sql(
                    "select count(*) from information_schema.tables where table_schema = current_schema()"
                ).scalar())
        finally:
            engine.dispose()

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        if self.password:
            env["PGPASSWORD"] = self.password
        return env


def _postgres_from_url(url: str) -> PostgresTarget:
    parsed = make_url(url)
    return PostgresTarget(host=parsed.host or "127.0.0.1", port=parsed.port or 5432, database=parsed.database or "",
                          user=parsed.username, password=parsed.password)


def _postgres_from_jdbc(url: str, user: str | None, password: SecretStr | None) -> PostgresTarget:
    match = re.fullmatch(r"jdbc:postgresql://([^/:?]+)(?::(\d+))?/([^?]+)(?:\?.*)?", url)
    if not match:
        raise BackupError(f"the engine's database URL {url!r} is neither the embedded H2 nor jdbc:postgresql://"
                          "host:port/database")
    return PostgresTarget(host=match[1], port=int(match[2] or 5432), database=match[3], user=user or None,
                          password=password.get_secret_value() if password else None)


def _run_tool(argv: list[str], target: PostgresTarget, what: str) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, env=target.environment(), check=False)
    if result.returncode != 0:
        words = (result.stderr or result.stdout).strip().splitlines()
        raise BackupError(f"{what} failed (exit {result.returncode}): " + " / ".join(words[-5:]))


def _is_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def _sqlite_file(url: str) -> Path:
    database = make_url(url).database
    if make_url(url).get_backend_name() != "sqlite" or not database or database == ":memory:":
        raise BackupError(f"the project's database {_masked(url)} is neither a SQLite file nor PostgreSQL")
    return Path(database)


def _masked(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


# -- backup --------------------------------------------------------------------------------------------


def engine_process(settings: Settings) -> ManagedService:
    """The engine's pid file under var/ (started by `smartfin up`); only asked whether it runs."""
    return ManagedService(name="engine", argv=[], settings=settings, healthy=lambda: False)


@contextlib.contextmanager
def _h2_held(folder: Path) -> Iterator[list[Path]]:
    """The engine's H2 files, with a lock on the main file that the engine takes too (Java's FileChannel
    locks are POSIX record locks): held, the engine is not using the file and cannot open it meanwhile."""
    files = sorted(p for p in folder.glob(H2_FILE_PATTERN) if p.is_file())
    main = folder / H2_MAIN_FILE
    if not main.exists():
        yield files
        return
    with open(main, "rb+") as handle:
        try:
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise BackupError(
                f"the engine's H2 database {main} is in use by a running engine. H2 can be copied only while "
                "the engine is stopped: run `smartfin down` first, pass --stop-engine, or put the engine on "
                "PostgreSQL (SMARTFIN_ENGINE_JDBC_URL) for online backups") from None
        try:
            yield files
        finally:
            fcntl.lockf(handle, fcntl.LOCK_UN)


def _copy_sqlite(source: Path, target: Path) -> None:
    """SQLite's online backup in one step (pages=-1): one read transaction, so one consistent snapshot."""
    if not source.exists():
        raise BackupError(f"the project's database {source} does not exist")
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst, pages=-1)
    finally:
        dst.close()
        src.close()
    os.chmod(target, 0o600)


def _schema_revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return current_revision(connection)
    finally:
        engine.dispose()


def _product_version() -> str:
    try:
        return version("smartfin")
    except PackageNotFoundError:
        match = re.search(r'^version\s*=\s*"([^"]+)"', (PROJECT_ROOT / "pyproject.toml").read_text(), re.M)
        return match[1] if match else "unknown"


def _engine_version(settings: Settings) -> dict[str, str]:
    """The running engine's own answer when it is reachable, else the version the engine app is built for."""
    from smartfin.camunda.client import EngineClient

    with contextlib.suppress(Exception):
        client = EngineClient.from_settings(settings)
        client.timeout = 3
        try:
            return {"version": client.version(), "source": "engine REST /version"}
        finally:
            client.close()
    match = re.search(r"<engine.version>([^<]+)</engine.version>", (PROJECT_ROOT / "engine" / "pom.xml").read_text())
    return {"version": match[1] if match else "unknown", "source": "engine/pom.xml"}


def public_settings(settings: Settings) -> dict[str, Any]:
    """The settings without secrets: secret fields left out, passwords inside URLs masked."""
    def clean(model: Any) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in type(model).model_fields:
            value = getattr(model, name)
            if isinstance(value, SecretStr):
                continue
            if hasattr(type(value), "model_fields"):
                values[name] = clean(value)
                continue
            if isinstance(value, str) and "://" in value and "@" in value:
                with contextlib.suppress(Exception):
                    value = make_url(value).render_as_string(hide_password=True)
            values[name] = value
        return values

    return json.loads(json.dumps(clean(settings), default=str))


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def archive_name(moment: datetime) -> str:
    """``smartfin-backup-20261130T181500123456Z.tar``: UTC, so names sort by time on every machine."""
    return f"{ARCHIVE_PREFIX}{moment.astimezone(UTC).strftime('%Y%m%dT%H%M%S%fZ')}.tar"


def backup(settings: Settings, out_dir: Path | None = None, *, include_secrets: bool = False,
           stop_engine: bool = False, progress: Callable[[str], None] | None = None) -> BackupResult:
    """Write one archive of the project's tables, the engine's database and the document archive.

    Everything is gathered into a private staging folder next to the target first and hashed; the tar is
    then written to a temporary name and renamed, so the folder never holds a partial backup.
    """
    say = progress or (lambda _message: None)
    out_dir = (out_dir or settings.var_dir / "backups").resolve()
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    moment = datetime.now(UTC)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out_dir))
    try:
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "created_at": moment.isoformat(),
            "versions": {"product": _product_version(), "engine": _engine_version(settings)},
        }
        # The engine first, the project's tables second: work a worker finishes in between is in the
        # project's copy while its task is still open in the engine's, so after a restore the engine hands the
        # task out again and the idempotent steps recognise it — never the reverse (a completed task whose
        # effect is missing).
        manifest["engine"] = _stage_engine(settings, staging, stop_engine, say)
        manifest["project"] = _stage_project(settings, staging, say)
        manifest["versions"]["alembic_revision"] = manifest["project"]["revision"]
        manifest["archived_files"] = _stage_archive(settings, staging, say)
        (staging / "settings.json").write_text(json.dumps(public_settings(settings), ensure_ascii=False, indent=2),
                                               encoding="utf-8")
        manifest["secrets_included"] = include_secrets
        if include_secrets:
            secrets = settings.var_dir / SECRETS_FILE
            if not secrets.exists():
                raise BackupError(f"--include-secrets: {secrets} does not exist")
            shutil.copyfile(secrets, staging / SECRETS_FILE)
        manifest["members"] = {
            path.relative_to(staging).as_posix(): {"size": path.stat().st_size, "sha256": _sha256_file(path)}
            for path in sorted(staging.rglob("*")) if path.is_file()
        }
        target = out_dir / archive_name(moment)
        _write_tar(staging, manifest, target)
        say(f"written {target}")
        return BackupResult(target, manifest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _stage_project(settings: Settings, staging: Path, say: Callable[[str], None]) -> dict[str, Any]:
    url = settings.effective_database_url
    (staging / "project").mkdir()
    revision = _schema_revision(url) if not url.startswith("sqlite") or _sqlite_file(url).exists() else None
    if _is_postgres(url):
        say(f"project's tables: pg_dump of {_masked(url)}")
        target = _postgres_from_url(url)
        _run_tool([str(postgres_tool("pg_dump")), "-Fc", "--no-owner", "--no-acl", *target.arguments(),
                   "-f", str(staging / "project" / "smartfin.pgdump")], target, "pg_dump of the project's tables")
        return {"kind": "postgresql", "member": "project/smartfin.pgdump", "revision": revision}
    source = _sqlite_file(url)
    say(f"project's tables: SQLite online backup of {source}")
    _copy_sqlite(source, staging / "project" / "smartfin.db")
    return {"kind": "sqlite", "member": "project/smartfin.db", "revision": revision}


def _stage_engine(settings: Settings, staging: Path, stop_engine: bool,
                  say: Callable[[str], None]) -> dict[str, Any]:
    (staging / "engine").mkdir()
    if settings.engine_jdbc_url:
        say("engine's database: pg_dump")
        target = _postgres_from_jdbc(settings.engine_jdbc_url, settings.engine_jdbc_user,
                                     settings.engine_jdbc_password)
        _run_tool([str(postgres_tool("pg_dump")), "-Fc", "--no-owner", "--no-acl", *target.arguments(),
                   "-f", str(staging / "engine" / "engine.pgdump")], target, "pg_dump of the engine's database")
        return {"kind": "postgresql", "files": ["engine/engine.pgdump"]}
    folder = settings.var_dir / ENGINE_FOLDER
    service = engine_process(settings)
    restart = False
    if service.pid() is not None:
        if not stop_engine:
            raise BackupError(
                f"the engine is running (pid {service.pid()}) on its embedded H2 database, which can be copied "
                "only while the engine is stopped: run `smartfin down` first, pass --stop-engine (the engine is "
                "stopped for the copy and started again), or put the engine on PostgreSQL for online backups")
        say("stopping the engine for the copy of its H2 database …")
        service.stop()
        restart = True
    try:
        with _h2_held(folder) as files:
            say(f"engine's database: copy of the H2 files in {folder}")
            for path in files:
                shutil.copyfile(path, staging / "engine" / path.name)
    finally:
        if restart:
            from smartfin.camunda.launcher import start_engine

            say("starting the engine again …")
            start_engine(settings, progress=say)
    return {"kind": "h2", "files": [f"engine/{p.name}" for p in sorted((staging / "engine").iterdir())]}


def _stage_archive(settings: Settings, staging: Path, say: Callable[[str], None]) -> int:
    root = settings.var_dir / ARCHIVE_FOLDER
    count = 0
    for path in sorted(root.rglob("*")) if root.exists() else []:
        if not path.is_file() or path.name.startswith(".incoming-"):
            continue
        data = path.read_bytes()
        if digest_of(data) != path.name:
            raise BackupError(f"archived file {path} is damaged (its content no longer matches its name); "
                              "restore it from an earlier backup before backing up")
        target = staging / ARCHIVE_FOLDER / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        count += 1
    say(f"document archive: {count} files")
    return count


def _write_tar(staging: Path, manifest: dict[str, Any], target: Path) -> None:
    manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8")
    handle, temporary = tempfile.mkstemp(prefix=".incoming-", suffix=".tar", dir=target.parent)
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mode, info.mtime = len(manifest_bytes), 0o600, int(datetime.now(UTC).timestamp())
                tar.addfile(info, io.BytesIO(manifest_bytes))
                for name in manifest["members"]:
                    tar.add(staging / name, arcname=name, recursive=False, filter=_private)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _private(item: tarfile.TarInfo) -> tarfile.TarInfo:
    item.mode, item.uid, item.gid, item.uname, item.gname = 0o600, 0, 0, "", ""
    return item


# -- restore -------------------------------------------------------------------------------------------


def verify(path: Path) -> dict[str, Any]:
    """Read the archive's manifest and check every member against it; the manifest, or ``BackupError``.

    Nothing is written. Refused: not a tar, truncated, a member missing, extra, of another size or
    digest, or a name that would escape the target folder.
    """
    try:
        with tarfile.open(path, mode="r:") as tar:
            members = tar.getmembers()
            if not members or members[0].name != MANIFEST:
                raise BackupError(f"{path}: not a SmartFin backup (its first member is not {MANIFEST})")
            manifest = json.loads(_read_member(tar, members[0]))
            if manifest.get("format") != FORMAT:
                raise BackupError(f"{path}: backup format {manifest.get('format')!r} is not {FORMAT!r}")
            expected: dict[str, dict[str, Any]] = manifest["members"]
            seen: set[str] = set()
            for member in members[1:]:
                name = member.name
                _safe_name(path, name)
                if not member.isfile():
                    raise BackupError(f"{path}: member {name!r} is not a regular file")
                if name not in expected:
                    raise BackupError(f"{path}: member {name!r} is not in the manifest")
                if name in seen:
                    raise BackupError(f"{path}: member {name!r} appears twice")
                digest = hashlib.sha256()
                source = tar.extractfile(member)
                assert source is not None
                size = 0
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                if size != expected[name]["size"] or digest.hexdigest() != expected[name]["sha256"]:
                    raise BackupError(f"{path}: member {name!r} is damaged (size {size} or sha256 does not match "
                                      "the manifest)")
                seen.add(name)
            missing = sorted(set(expected) - seen)
            if missing:
                raise BackupError(f"{path}: {len(missing)} member(s) listed in the manifest are missing, e.g. "
                                  f"{missing[0]!r} (truncated?)")
            return manifest
    except (tarfile.TarError, EOFError, OSError, ValueError, KeyError, TypeError) as exc:
        raise BackupError(f"{path}: unreadable or truncated backup ({type(exc).__name__}: {exc})") from None


def _read_member(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    source = tar.extractfile(member)
    if source is None:
        raise BackupError(f"member {member.name!r} is not a file")
    return source.read()


def _safe_name(path: Path, name: str) -> None:
    pure = PurePosixPath(name)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts:
        raise BackupError(f"{path}: member name {name!r} would leave the target folder")


def _occupied(var_dir: Path) -> list[str]:
    return sorted(p.name for p in var_dir.iterdir()) if var_dir.exists() else []


def restore(settings: Settings, path: Path, *, force: bool = False,
            progress: Callable[[str], None] | None = None) -> RestoreResult:
    """Bring ``settings.var_dir`` (and the configured databases) to the state of the backup at ``path``.

    The archive is verified whole before anything is written; a non-empty var/ is refused unless
    ``force``. The members are extracted into a private folder inside var/ and moved into place from there.
    """
    say = progress or (lambda _message: None)
    manifest = verify(path)
    say(f"verified {len(manifest['members'])} members of {path.name}")
    var_dir = settings.var_dir.resolve()
    occupied = _occupied(var_dir)
    if occupied and not force:
        raise BackupError(f"{var_dir} is not empty ({', '.join(occupied[:5])}{' …' if len(occupied) > 5 else ''}):"
                          " restore into an empty var/ or pass --force to overwrite")
    url = settings.effective_database_url
    project_kind = manifest["project"]["kind"]
    if project_kind != ("postgresql" if _is_postgres(url) else "sqlite"):
        raise BackupError(f"the backup holds the project's tables from {project_kind}, but this installation's "
                          f"database is {_masked(url)}: configure a database of the same kind")
    engine_kind = manifest["engine"]["kind"]
    if engine_kind != ("postgresql" if settings.engine_jdbc_url else "h2"):
        raise BackupError(f"the backup holds the engine's database from {engine_kind}; this installation's engine "
                          "uses " + ("PostgreSQL" if settings.engine_jdbc_url else "the embedded H2"))
    if engine_process(settings).pid() is not None:
        raise BackupError("the engine of this installation is running: stop it (`smartfin down`) before a restore")
    if not force:
        _refuse_occupied_databases(settings, project_kind, engine_kind)

    var_dir.mkdir(parents=True, exist_ok=True)
    unpacked = Path(tempfile.mkdtemp(prefix=".restore-", dir=var_dir))
    try:
        with tarfile.open(path, mode="r:") as tar:
            tar.extractall(unpacked, members=tar.getmembers()[1:], filter="data")
        result = RestoreResult(var_dir=var_dir, project="", engine="", archived_files=0, revision_before=None,
                               revision_after="", secrets=bool(manifest.get("secrets_included")))
        result.project = _restore_project(settings, unpacked, manifest, say)
        result.engine = _restore_engine(settings, unpacked, manifest, say)
        result.archived_files = _restore_archive(settings, unpacked, say)
        if (unpacked / SECRETS_FILE).exists():
            _move_private(unpacked / SECRETS_FILE, var_dir / SECRETS_FILE)
        else:
            result.notes.append("the backup holds no secrets: set the engine passwords of the backed-up "
                                "installation (var/secrets.env or SMARTFIN_ENGINE_PASSWORD / "
                                "SMARTFIN_ENGINE_ADMIN_PASSWORD / SMARTFIN_AUDIT_SAMPLE_SALT) before `smartfin up`")
        _move_private(unpacked / "settings.json", var_dir / RESTORED_SETTINGS)
        result.notes.append(f"the backed-up installation's settings (no secrets) are in {var_dir / RESTORED_SETTINGS}")
        result.revision_before = manifest["project"].get("revision")
        migrated = make_engine(url)
        try:
            result.revision_after = upgrade_to_head(migrated)
        finally:
            migrated.dispose()
        say(f"project's tables at revision {result.revision_after} (head {head_revision()})")
        return result
    finally:
        shutil.rmtree(unpacked, ignore_errors=True)


def _refuse_occupied_databases(settings: Settings, project_kind: str, engine_kind: str) -> None:
    """A PostgreSQL database that already holds tables is somebody's data: overwritten only with force."""
    occupied = []
    if project_kind == "postgresql":
        target = _postgres_from_url(settings.effective_database_url)
        if target.has_tables():
            occupied.append(f"the project's database {target.database}")
    if engine_kind == "postgresql" and settings.engine_jdbc_url:
        target = _postgres_from_jdbc(settings.engine_jdbc_url, settings.engine_jdbc_user,
                                     settings.engine_jdbc_password)
        if target.has_tables():
            occupied.append(f"the engine's database {target.database}")
    if occupied:
        raise BackupError(f"{' and '.join(occupied)} already hold tables: restore into empty databases or pass "
                          "--force to overwrite them")


def _move_private(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(source, 0o600)
    os.replace(source, target)


def _restore_project(settings: Settings, unpacked: Path, manifest: dict[str, Any],
                     say: Callable[[str], None]) -> str:
    url = settings.effective_database_url
    member = unpacked / manifest["project"]["member"]
    if manifest["project"]["kind"] == "postgresql":
        target = _postgres_from_url(url)
        say(f"project's tables: pg_restore into {_masked(url)}")
        _run_tool([str(postgres_tool("pg_restore")), "--clean", "--if-exists", "--no-owner", "--no-acl",
                   "--single-transaction", "--exit-on-error", *target.arguments(), str(member)],
                  target, "pg_restore of the project's tables")
        return f"PostgreSQL {_masked(url)}"
    database = _sqlite_file(url)
    say(f"project's tables: SQLite file {database}")
    for stale in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        stale.unlink(missing_ok=True)
    _move_private(member, database)
    return f"SQLite {database}"


def _restore_engine(settings: Settings, unpacked: Path, manifest: dict[str, Any],
                    say: Callable[[str], None]) -> str:
    if manifest["engine"]["kind"] == "postgresql":
        assert settings.engine_jdbc_url is not None
        target = _postgres_from_jdbc(settings.engine_jdbc_url, settings.engine_jdbc_user,
                                     settings.engine_jdbc_password)
        say("engine's database: pg_restore")
        _run_tool([str(postgres_tool("pg_restore")), "--clean", "--if-exists", "--no-owner", "--no-acl",
                   "--single-transaction", "--exit-on-error", *target.arguments(),
                   str(unpacked / "engine" / "engine.pgdump")], target, "pg_restore of the engine's database")
        return f"PostgreSQL {target.host}:{target.port}/{target.database}"
    folder = settings.var_dir / ENGINE_FOLDER
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    for stale in folder.glob(H2_FILE_PATTERN):
        stale.unlink()
    for name in manifest["engine"]["files"]:
        _move_private(unpacked / name, folder / PurePosixPath(name).name)
    say(f"engine's database: H2 files in {folder}")
    return f"H2 {folder}"


def _restore_archive(settings: Settings, unpacked: Path, say: Callable[[str], None]) -> int:
    source_root = unpacked / ARCHIVE_FOLDER
    target_root = settings.var_dir / ARCHIVE_FOLDER
    count = 0
    for path in sorted(source_root.rglob("*")) if source_root.exists() else []:
        if path.is_file():
            target = target_root / path.relative_to(source_root)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
            count += 1
    say(f"document archive: {count} files")
    return count


def summary(result: RestoreResult) -> list[str]:
    """The lines the restore command ends with."""
    lines = [
        f"restored into {result.var_dir}",
        f"  project's tables: {result.project}, revision {result.revision_before or '(none)'} → "
        f"{result.revision_after}",
        f"  engine's database: {result.engine}",
        f"  document archive: {result.archived_files} files",
        f"  secrets: {'restored (var/secrets.env)' if result.secrets else 'not in the backup'}",
    ]
    return lines + [f"  note: {note}" for note in result.notes]
