"""Start the four portals as separate uvicorn servers in one background thread, and stop them.

One event loop serves all three so a demo costs one process; each portal still has its own app,
port, cookie and database, like three unrelated systems. Tests use `start_portals` with port 0 to
get free ports; the command line uses fixed ones.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import uvicorn

from portals.bank.app import create_bank_app
from portals.config import PortalConfig
from portals.erp.app import create_erp_app
from portals.insurance.app import create_insurance_app
from portals.tax.app import create_tax_app


def build_apps(config: PortalConfig) -> dict[str, Any]:
    """The four ASGI apps, each on its own SQLite file under the data dir."""
    data_dir = config.data_dir
    return {
        "erp": create_erp_app(
            data_dir / "erp.sqlite3",
            config.admin_token,
            config.users.get("erp", []),
            idle_timeout_seconds=config.idle_timeout_seconds,
            search_delay_seconds=config.erp_search_delay_seconds,
            faults=config.faults.get("erp"),
        ),
        "bank": create_bank_app(
            data_dir / "bank.sqlite3",
            config.admin_token,
            config.users.get("bank", []),
            idle_timeout_seconds=config.idle_timeout_seconds,
            faults=config.faults.get("bank"),
        ),
        "tax": create_tax_app(
            data_dir / "tax.sqlite3",
            config.admin_token,
            config.tax_invoices,
            idle_timeout_seconds=max(config.idle_timeout_seconds, 600),
            faults=config.faults.get("tax"),
        ),
        "insurance": create_insurance_app(
            data_dir / "insurance.sqlite3",
            data_dir / "insurance",
            config.admin_token,
            config.users.get("insurance", []),
            idle_timeout_seconds=config.idle_timeout_seconds,
            faults=config.faults.get("insurance"),
        ),
    }


@dataclass
class RunningPortals:
    """Handle on started portals: their base URLs, the apps (for tests) and a stop()."""

    urls: dict[str, str]
    apps: dict[str, Any]
    admin_token: str
    _servers: list[uvicorn.Server]
    _thread: threading.Thread

    def stop(self, timeout: float = 10) -> None:
        for server in self._servers:
            server.should_exit = True
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def __enter__(self) -> RunningPortals:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def _listen(host: str, port: int) -> socket.socket:
    # proto must be explicit: asyncio only sets TCP_NODELAY on accepted sockets whose proto is TCP,
    # and without it every keep-alive response waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def start_portals(
    config: PortalConfig, ports: dict[str, int] | None = None, host: str = "127.0.0.1", startup_timeout: float = 15
) -> RunningPortals:
    """Serve the portals from a daemon thread; port 0 (the default) picks a free port."""
    apps = build_apps(config)
    sockets = {name: _listen(host, (ports or {}).get(name, 0)) for name in apps}
    servers = {
        name: uvicorn.Server(
            uvicorn.Config(
                app,
                host=host,
                log_level="warning",
                access_log=False,
                lifespan="off",
                timeout_graceful_shutdown=3,
            )
        )
        for name, app in apps.items()
    }

    async def serve_all() -> None:
        await asyncio.gather(*(servers[name].serve(sockets=[sockets[name]]) for name in servers))

    thread = threading.Thread(target=asyncio.run, args=(serve_all(),), name="portals", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not all(server.started for server in servers.values()):
        if not thread.is_alive() or time.monotonic() > deadline:
            for server in servers.values():
                server.should_exit = True
            raise RuntimeError("portals did not start")
        time.sleep(0.02)
    urls = {name: f"http://{host}:{sockets[name].getsockname()[1]}" for name in servers}
    return RunningPortals(urls, apps, config.admin_token, list(servers.values()), thread)
