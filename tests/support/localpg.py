"""A throwaway PostgreSQL cluster for tests and benchmarks, started from the Debian server binaries.

The budget ledger's row locks only prove themselves on a real PostgreSQL, and a test suite must not
depend on a server somebody forgot to start. ``LocalPostgres`` creates a cluster in a temporary
directory, listens on a free loopback port (and a unix socket inside that directory), trusts loopback
connections only, and removes everything on ``stop()``::

    with LocalPostgres() as pg:
        engine = make_engine(pg.url)

PostgreSQL refuses to run as root; when started by root the cluster is created and run as the
``postgres`` OS user through ``runuser``.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

DEBIAN_PACKAGE = "postgresql"
SEARCH_PATTERN = "/usr/lib/postgresql/*/bin"


class PostgresUnavailable(RuntimeError):
    """The local PostgreSQL could not be found or started; the message says why and what to install."""


def find_bin_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The directory holding ``initdb`` and ``pg_ctl``: explicit, ``$SMARTFIN_PG_BIN``, or the newest
    Debian install under /usr/lib/postgresql."""
    candidates = [explicit or os.environ.get("SMARTFIN_PG_BIN")]
    candidates += sorted(glob.glob(SEARCH_PATTERN), key=lambda p: _version(p), reverse=True)
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").is_file() and (Path(candidate) / "pg_ctl").is_file():
            return Path(candidate)
    raise PostgresUnavailable(
        f"PostgreSQL server binaries (initdb, pg_ctl) not found under {SEARCH_PATTERN}: install the Debian "
        f"package `{DEBIAN_PACKAGE}` (apt-get install {DEBIAN_PACKAGE}) or set SMARTFIN_PG_BIN")


def _version(path: str) -> int:
    try:
        return int(Path(path).parent.name.split(".")[0])
    except ValueError:
        return 0


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LocalPostgres:
    """One private PostgreSQL cluster; ``url`` is a ``postgresql+psycopg://`` URL to its database.

    ``durable=False`` (the default) turns fsync off: the cluster is thrown away anyway, and tests run
    much faster. Benchmarks that compare against a baseline on the same cluster are unaffected.
    """

    def __init__(self, *, bin_dir: str | os.PathLike[str] | None = None, port: int | None = None,
                 database: str = "smartfin", durable: bool = False, max_connections: int = 200,
                 start_timeout_s: int = 60) -> None:
        self.bin_dir = find_bin_dir(bin_dir)
        self.port = port
        self.database = database
        self.durable = durable
        self.max_connections = max_connections
        self.start_timeout_s = start_timeout_s
        self.root: Path | None = None
        self._running = False
        self._run_as = "postgres" if os.geteuid() == 0 else None

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if not self._running or self.port is None:
            raise PostgresUnavailable("the local PostgreSQL is not running; call start() first")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{self.database}"

    @property
    def data_dir(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        assert self.root is not None
        return self.root / "run"

    @property
    def log_file(self) -> Path:
        assert self.root is not None
        return self.root / "postgres.log"

    def start(self) -> LocalPostgres:
        """initdb, start, create the database; raises ``PostgresUnavailable`` with the server's words."""
        if self._running:
            return self
        self.root = Path(tempfile.mkdtemp(prefix="smartfin-pg-"))
        try:
            self.socket_dir.mkdir()
            if self._run_as:
                try:
                    user = pwd.getpwnam(self._run_as)
                except KeyError:
                    raise PostgresUnavailable(
                        f"running as root, but the OS user {self._run_as!r} (created by the Debian package "
                        f"`{DEBIAN_PACKAGE}`) does not exist") from None
                for path in (self.root, self.socket_dir):
                    os.chown(path, user.pw_uid, user.pw_gid)
            self._run("initdb", "-D", str(self.data_dir), "-U", "postgres", "--encoding=UTF8",
                      "--no-locale", "--auth=trust", "--no-instructions")
            self._write_hba()
            self.port = self.port or free_port()
            options = [
                "-c listen_addresses=127.0.0.1", f"-p {self.port}", f"-k {self.socket_dir}",
                f"-c max_connections={self.max_connections}", "-c shared_buffers=32MB",
            ]
            if not self.durable:
                options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
            self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-w",
                      "-t", str(self.start_timeout_s), "-o", " ".join(options), "start")
            self._running = True
            atexit.register(self.stop)
            self._run("createdb", "-h", str(self.socket_dir), "-p", str(self.port), "-U", "postgres",
                      self.database)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its directory; safe to call twice."""
        if self.root is None:
            return
        if self._running:
            self._running = False
            with contextlib.suppress(PostgresUnavailable):
                self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
        atexit.unregister(self.stop)
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def __enter__(self) -> LocalPostgres:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- helpers --------------------------------------------------------------------------------

    def _write_hba(self) -> None:
        # Trust, but only for the unix socket in our private directory and the loopback addresses.
        hba = self.data_dir / "pg_hba.conf"
        hba.write_text("local all all trust\n"
                       "host  all all 127.0.0.1/32 trust\n"
                       "host  all all ::1/128 trust\n", encoding="utf-8")
        if self._run_as:
            user = pwd.getpwnam(self._run_as)
            os.chown(hba, user.pw_uid, user.pw_gid)

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin_dir / program), *args]
        if self._run_as:
            command = ["runuser", "-u", self._run_as, "--", *command]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=self.start_timeout_s + 30,
                                    cwd=self.root, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PostgresUnavailable(f"{program} could not run: {exc}") from exc
        if result.returncode != 0:
            log_tail = ""
            if self.root is not None and self.log_file.exists():
                log_tail = "\n--- server log ---\n" + self.log_file.read_text(errors="replace")[-2000:]
            raise PostgresUnavailable(
                f"{program} failed (exit {result.returncode}): {result.stderr.strip() or result.stdout.strip()}"
                + log_tail)
