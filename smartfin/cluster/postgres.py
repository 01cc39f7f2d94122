"""The cluster's PostgreSQL: one server under var/cluster/pg, a database and a role per user of it.

The server is Debian's (``/usr/lib/postgresql/<version>/bin``), initialised once and run in the foreground
as a managed service, so `smartfin up/down/status` treat it like the engine. Authentication is by
password (SCRAM) over TCP only; the superuser's and every role's password are generated into
var/secrets.env (mode 0600) and never written to a log: the provisioning session turns statement
logging of errors off before any statement carries a password.

Least privilege: the engine, the project and Prefect each get a role that owns its own database and
nothing else (no superuser, no CREATEDB, no CREATEROLE); PUBLIC may not connect to any of them.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from smartfin.camunda.secrets import generated_secret
from smartfin.kernel.background import ManagedService, ServiceError
from smartfin.kernel.settings import Settings

SUPERUSER = "postgres"
SUPERUSER_SECRET = "SMARTFIN_CLUSTER_PG_SUPERUSER_PASSWORD"
#: the OS user PostgreSQL runs as when the product runs as root (PostgreSQL refuses to run as root)
OS_USER = "postgres"


@dataclass(frozen=True)
class DatabaseRole:
    """A database and the role that owns it (same name); its password lives in var/secrets.env."""

    purpose: str
    name: str

    @property
    def secret_key(self) -> str:
        return f"SMARTFIN_CLUSTER_{self.purpose.upper()}_DB_PASSWORD"


def database_roles(settings: Settings) -> list[DatabaseRole]:
    """The engine's, the project's and Prefect's databases, each with its own role."""
    cluster = settings.cluster
    return [DatabaseRole("engine", cluster.engine_database), DatabaseRole("project", cluster.project_database),
            DatabaseRole("prefect", cluster.prefect_database)]


def role(settings: Settings, purpose: str) -> DatabaseRole:
    return next(r for r in database_roles(settings) if r.purpose == purpose)


def password(settings: Settings, database_role: DatabaseRole) -> str:
    return generated_secret(settings, database_role.secret_key)


def project_database_url(settings: Settings) -> str:
    """SQLAlchemy URL of the project's tables on the cluster (carries the password: never print it)."""
    owner = role(settings, "project")
    return (f"postgresql+psycopg://{owner.name}:{password(settings, owner)}@{settings.cluster.pg_host}:"
            f"{settings.cluster.pg_port}/{owner.name}")


def prefect_database_url(settings: Settings) -> str:
    """Async SQLAlchemy URL of the Prefect server's database on the cluster."""
    owner = role(settings, "prefect")
    return (f"postgresql+asyncpg://{owner.name}:{password(settings, owner)}@{settings.cluster.pg_host}:"
            f"{settings.cluster.pg_port}/{owner.name}")


def engine_jdbc_url(settings: Settings) -> str:
    owner = role(settings, "engine")
    return f"jdbc:postgresql://{settings.cluster.pg_host}:{settings.cluster.pg_port}/{owner.name}"


def data_root(settings: Settings) -> Path:
    return settings.cluster.pg_dir or settings.var_dir / "cluster" / "pg"


def bin_dir(settings: Settings) -> Path:
    """``initdb``/``postgres`` of the configured or the newest Debian PostgreSQL."""
    candidates = [str(settings.cluster.pg_bin)] if settings.cluster.pg_bin else []
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_major, reverse=True)
    for candidate in candidates:
        if (Path(candidate) / "initdb").is_file() and (Path(candidate) / "postgres").is_file():
            return Path(candidate)
    raise ServiceError("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: install Debian's "
                       "`postgresql` package (make setup) or set SMARTFIN_CLUSTER_PG_BIN")


def _major(path: str) -> int:
    name = Path(path).parent.name.split(".")[0]
    return int(name) if name.isdigit() else 0


def _run_as() -> str | None:
    return OS_USER if os.geteuid() == 0 else None


def _as_server_user(argv: list[str]) -> list[str]:
    user = _run_as()
    return ["runuser", "-u", user, "--", *argv] if user else argv


def _hand_to_server_user(path: Path) -> None:
    user = _run_as()
    if user:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def initialise(settings: Settings) -> bool:
    """initdb once (SCRAM passwords, UTF-8, no locale); False when the cluster already exists."""
    root = data_root(settings)
    data = root / "data"
    if (data / "PG_VERSION").exists():
        return False
    if _run_as():
        try:
            pwd.getpwnam(OS_USER)
        except KeyError:
            raise ServiceError(f"running as root, but the OS user {OS_USER!r} of Debian's postgresql package "
                               "does not exist") from None
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    (root / "run").mkdir(exist_ok=True, mode=0o700)
    for path in (root, root / "run"):
        _hand_to_server_user(path)
    _check_reachable(root)
    password_file = root / ".initdb-password"
    fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(generated_secret(settings, SUPERUSER_SECRET) + "\n")
    _hand_to_server_user(password_file)
    try:
        result = subprocess.run(
            _as_server_user([str(bin_dir(settings) / "initdb"), "-D", str(data), "-U", SUPERUSER,
                             "--encoding=UTF8", "--no-locale", "--auth=scram-sha-256",
                             f"--pwfile={password_file}", "--no-instructions"]),
            capture_output=True, text=True, check=False, timeout=120)
    finally:
        password_file.unlink(missing_ok=True)
    if result.returncode != 0:
        raise ServiceError(f"initdb failed in {data}: {(result.stderr or result.stdout).strip()[-1500:]}")
    _write_hba(settings, data / "pg_hba.conf")
    return True


def _check_reachable(root: Path) -> None:
    """The server user must be able to walk to its directory; say which folder stops it, not just fail."""
    user = _run_as()
    if not user:
        return
    for parent in reversed(root.parents):
        if parent.stat().st_mode & 0o001 == 0 and parent.stat().st_uid != pwd.getpwnam(user).pw_uid:
            raise ServiceError(f"PostgreSQL runs as the OS user {user!r}, who cannot enter {parent} (mode "
                               f"{oct(parent.stat().st_mode & 0o777)}): allow traversal (chmod o+x {parent}) "
                               "or set SMARTFIN_CLUSTER_PG_DIR to a folder it can reach")


def _write_hba(settings: Settings, path: Path) -> None:
    # Passwords over TCP only: loopback, plus the server's own network when it serves other hosts.
    lines = ["host all all 127.0.0.1/32 scram-sha-256", "host all all ::1/128 scram-sha-256"]
    if settings.cluster.pg_host not in ("127.0.0.1", "localhost", "::1"):
        lines.append("host all all samenet scram-sha-256")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _hand_to_server_user(path)


class PostgresService(ManagedService):
    """The server in the foreground; stopped with PostgreSQL's fast shutdown (SIGINT), not the smart one,
    which would wait for the engines' pooled connections to end by themselves."""

    def stop(self, timeout: float = 30.0) -> bool:
        pid = self.pid()
        if pid is None:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGINT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.pid() is not None:
            time.sleep(0.2)
        return super().stop(timeout=5.0) or True


def postgres_service(settings: Settings) -> PostgresService:
    """The cluster's PostgreSQL as a managed service (loopback unless SMARTFIN_CLUSTER_PG_HOST says otherwise)."""
    root = data_root(settings)
    cluster = settings.cluster
    argv = _as_server_user([
        str(bin_dir(settings) / "postgres"), "-D", str(root / "data"),
        "-c", f"listen_addresses={cluster.pg_host}", "-p", str(cluster.pg_port),
        "-c", f"unix_socket_directories={root / 'run'}", "-c", "max_connections=200",
        "-c", "shared_buffers=64MB", "-c", "password_encryption=scram-sha-256",
        "-c", "log_min_error_statement=panic",
    ])

    def healthy() -> bool:
        with psycopg.connect(host=cluster.pg_host, port=cluster.pg_port, user=SUPERUSER, dbname="postgres",
                             password=generated_secret(settings, SUPERUSER_SECRET), connect_timeout=2) as conn:
            return conn.execute("select 1").fetchone() == (1,)

    return PostgresService(name="postgres", argv=argv, settings=settings, healthy=healthy, umask=0o077)


def provision(settings: Settings) -> list[str]:
    """Create (or bring up to date) each role and its database; the names of those created now.

    Idempotent: a second `up` only resets the roles' passwords to the ones in var/secrets.env.
    """
    cluster = settings.cluster
    created: list[str] = []
    with psycopg.connect(host=cluster.pg_host, port=cluster.pg_port, user=SUPERUSER, dbname="postgres",
                         password=generated_secret(settings, SUPERUSER_SECRET), autocommit=True,
                         connect_timeout=5) as conn:
        # a failing statement below would otherwise be written to the server log with its password
        conn.execute("set log_min_error_statement = panic")
        conn.execute("set log_statement = 'none'")
        for database_role in database_roles(settings):
            name = sql.Identifier(database_role.name)
            secret = sql.Literal(password(settings, database_role))
            exists = conn.execute("select 1 from pg_roles where rolname = %s", (database_role.name,)).fetchone()
            verb = "alter" if exists else "create"
            conn.execute(sql.SQL(verb + " role {} with login nosuperuser nocreatedb nocreaterole noreplication "
                                 "password {}").format(name, secret))
            if not conn.execute("select 1 from pg_database where datname = %s", (database_role.name,)).fetchone():
                conn.execute(sql.SQL("create database {} owner {} encoding 'UTF8'").format(name, name))
                created.append(database_role.name)
            conn.execute(sql.SQL("revoke all on database {} from public").format(name))
            conn.execute(sql.SQL("grant connect, temporary on database {} to {}").format(name, name))
    return created
