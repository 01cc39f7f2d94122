"""Background services the product starts on one machine: pid file, log file, health wait.

The engine, the stand-in portals and the local Prefect server are all started the same way, so
`smartfin up/down/status/logs` treat them alike and every failure names the log to read.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from smartfin.kernel.settings import Settings


class ServiceError(RuntimeError):
    """A service did not start or stop; the message names the log file."""


@dataclass
class ManagedService:
    """One long-running process with its pid and log under var/."""

    name: str
    argv: Sequence[str]
    settings: Settings
    healthy: Callable[[], bool]
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    # files the process creates are private to the service user (the engine's H2 database, its logs)
    umask: int | None = None

    @property
    def pid_file(self) -> Path:
        return self.settings.var_dir / "run" / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.settings.var_dir / "logs" / f"{self.name}.log"

    def pid(self) -> int | None:
        """The pid of the running process, or None (a stale pid file is removed)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            self.pid_file.unlink(missing_ok=True)
            return None
        except PermissionError:
            return pid
        if _is_zombie(pid):
            self.pid_file.unlink(missing_ok=True)
            return None
        return pid

    def is_healthy(self) -> bool:
        try:
            return bool(self.healthy())
        except Exception:
            return False

    def start(self, timeout: float, progress: Callable[[str], None] | None = None) -> int:
        """Start in the background unless already running, then wait until healthy."""
        pid = self.pid()
        if pid is not None and self.is_healthy():
            return pid
        if pid is None:
            self.pid_file.parent.mkdir(parents=True, exist_ok=True)
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            log = open(self.log_file, "ab")  # noqa: SIM115 (handed to the child process)
            environment = {**os.environ, **self.env}
            process = subprocess.Popen(
                list(self.argv), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=self.cwd, env=environment, start_new_session=True,
                umask=-1 if self.umask is None else self.umask,
            )
            log.close()
            pid = process.pid
            self.pid_file.write_text(str(pid))
        self.wait_healthy(pid, timeout, progress)
        return pid

    def wait_healthy(self, pid: int, timeout: float, progress: Callable[[str], None] | None) -> None:
        started = time.monotonic()
        last_report = 0.0
        while True:
            if self.is_healthy():
                return
            elapsed = time.monotonic() - started
            if self.pid() is None:
                raise ServiceError(f"{self.name} exited while starting; last lines of {self.log_file}:\n"
                                   + self.tail(25))
            if elapsed > timeout:
                raise ServiceError(f"{self.name} (pid {pid}) was not healthy after {timeout:.0f} s; "
                                   f"see {self.log_file}:\n" + self.tail(25))
            if progress and elapsed - last_report >= 5:
                progress(f"waiting for {self.name} … {elapsed:.0f} s")
                last_report = elapsed
            time.sleep(0.5)

    def stop(self, timeout: float = 30.0) -> bool:
        """SIGTERM, then SIGKILL after ``timeout``; True if something was stopped."""
        pid = self.pid()
        if pid is None:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.pid() is not None:
            time.sleep(0.2)
        if self.pid() is not None:
            os.killpg(pid, signal.SIGKILL)
            time.sleep(0.5)
        self.pid_file.unlink(missing_ok=True)
        return True

    def tail(self, lines: int = 50) -> str:
        if not self.log_file.exists():
            return f"(no log yet at {self.log_file})"
        with open(self.log_file, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            text = handle.read().decode("utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().split(") ", 1)[1].startswith("Z")
    except (FileNotFoundError, IndexError):
        return sys.platform != "linux"
