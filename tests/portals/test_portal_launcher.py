"""The command line starts all three portals, seeds accounts from a file and stops on SIGTERM."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

from portal_http import csrf_of, new_client

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_command_line_starts_and_stops_cleanly(tmp_path: Path) -> None:
    seed = tmp_path / "users.json"
    seed.write_text(
        json.dumps({"erp": [{"username": "demo", "password": "pw-from-file", "display_name": "演示"}], "bank": []}),
        encoding="utf-8",
    )
    ports = [free_port() for _ in range(3)]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "portals",
            "--data-dir",
            str(tmp_path / "data"),
            "--erp-port",
            str(ports[0]),
            "--bank-port",
            str(ports[1]),
            "--tax-port",
            str(ports[2]),
            "--seed-users",
            str(seed),
            "--admin-token",
            "cli-token",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = [process.stdout.readline() for _ in range(5)]  # type: ignore[union-attr]
        assert f"http://127.0.0.1:{ports[0]}/login" in lines[0], lines
        with new_client(f"http://127.0.0.1:{ports[0]}") as client:
            page = client.get("/login")
            response = client.post(
                "/login", data={"username": "demo", "password": "pw-from-file", "csrf_token": csrf_of(page.text)}
            )
            assert response.headers["location"] == "/main"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert "portals stopped" in process.stdout.read()  # type: ignore[union-attr]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
