"""Fault switches: the ways a real legacy portal misbehaves, on demand.

Bots must survive transient 500s, slow pages, pages that arrive in pieces, a session that dies
mid-transaction and a layout that changed overnight. Tests flip these through the token-protected
admin endpoint (or env at launch); the clerk-facing pages never show them.
"""

from __future__ import annotations

import asyncio
import random
import threading
from dataclasses import dataclass, field, fields
from typing import Any

from starlette.requests import HTTPConnection
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Receive, Scope, Send

LAYOUT_VARIANTS = ("classic", "revised")

_SERVER_ERROR_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>500 Internal Server Error</title>
</head><body><h1>HTTP Status 500 - Internal Server Error</h1><p>系统繁忙，请稍后再试。</p>
<p>java.lang.NullPointerException at com.finance.web.DispatcherServlet.service(DispatcherServlet.java:214)</p>
</body></html>"""


@dataclass
class FaultSwitches:
    """Current faults of one portal; all off by default."""

    fail_next: int = 0
    fail_rate: float = 0.0
    latency_ms: int = 0
    trickle_ms: int = 0
    logout_on_next_post: bool = False
    layout_variant: str = "classic"
    refuse_next_save: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}

    def update(self, changes: dict[str, Any]) -> list[str]:
        """Apply known keys; returns error texts for bad ones instead of half-applying them."""
        errors: list[str] = []
        checked: dict[str, Any] = {}
        for key, value in changes.items():
            if key in ("fail_next", "latency_ms", "trickle_ms"):
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    errors.append(f"{key} must be a non-negative integer")
                checked[key] = value
            elif key == "fail_rate":
                if not isinstance(value, int | float) or not 0 <= value <= 1:
                    errors.append("fail_rate must be between 0 and 1")
                checked[key] = float(value) if isinstance(value, int | float) else value
            elif key == "logout_on_next_post":
                if not isinstance(value, bool):
                    errors.append("logout_on_next_post must be a boolean")
                checked[key] = value
            elif key == "layout_variant":
                if value not in LAYOUT_VARIANTS:
                    errors.append(f"layout_variant must be one of {LAYOUT_VARIANTS}")
                checked[key] = value
            elif key == "refuse_next_save":
                if not isinstance(value, str):
                    errors.append("refuse_next_save must be the validation message to show")
                checked[key] = value
            elif key == "seed":
                checked[key] = value
            else:
                errors.append(f"unknown switch {key}")
        if errors:
            return errors
        with self._lock:
            for key, value in checked.items():
                if key == "seed":
                    self._rng.seed(value)
                else:
                    setattr(self, key, value)
        return []

    def reset(self) -> None:
        with self._lock:
            self.fail_next, self.fail_rate, self.latency_ms, self.trickle_ms = 0, 0.0, 0, 0
            self.logout_on_next_post, self.layout_variant = False, "classic"
            self.refuse_next_save = ""

    def take_refusal(self) -> str:
        """The validation message the next save must fail with (a business rejection), once."""
        with self._lock:
            message, self.refuse_next_save = self.refuse_next_save, ""
            return message

    def take_failure(self) -> bool:
        """Decide whether this request fails; consumes one of the 'next N' failures."""
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return True
            return self.fail_rate > 0 and self._rng.random() < self.fail_rate

    def take_forced_logout(self) -> bool:
        with self._lock:
            armed = self.logout_on_next_post
            self.logout_on_next_post = False
            return armed

    @property
    def revised(self) -> bool:
        return self.layout_variant == "revised"


TRICKLE_CHUNK_BYTES = 256


class FaultInjector:
    """ASGI middleware that applies latency, transient 500s and the forced logout before a request.

    ``trickle_ms`` sends each HTML page in small pieces with that pause between them, the way an old
    server flushes its output while it still renders: the top of a result page (the record count) is
    in the browser well before the rows below it.

    Admin paths are exempt so tests can always switch faults off again. The forced logout fires on
    the next POST that carries a session cookie (a login POST itself does not count), which is what
    "the session died while the clerk was typing" looks like to a bot.
    """

    def __init__(self, app: ASGIApp, faults: FaultSwitches, invalidate_session: Any, cookie_name: str) -> None:
        self.app = app
        self.faults = faults
        self.invalidate_session = invalidate_session
        self.cookie_name = cookie_name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/__admin"):
            await self.app(scope, receive, send)
            return
        if self.faults.latency_ms:
            await asyncio.sleep(self.faults.latency_ms / 1000)
        if self.faults.take_failure():
            await HTMLResponse(_SERVER_ERROR_PAGE, status_code=500)(scope, receive, send)
            return
        if scope["method"] == "POST" and scope["path"] != "/login" and self.faults.logout_on_next_post:
            sid = HTTPConnection(scope).cookies.get(self.cookie_name)
            if sid and self.faults.take_forced_logout():
                self.invalidate_session(sid)
        pause = self.faults.trickle_ms / 1000
        await self.app(scope, receive, _trickling(send, pause) if pause else send)


def _trickling(send: Send, pause: float) -> Send:
    """``send`` with every HTML body cut into pieces that leave with ``pause`` seconds between them."""
    html = False

    async def trickle(message: dict[str, Any]) -> None:
        nonlocal html
        if message["type"] == "http.response.start":
            html = any(name == b"content-type" and value.startswith(b"text/html")
                       for name, value in message.get("headers", []))
        if message["type"] != "http.response.body" or not html:
            await send(message)
            return
        body, more = message.get("body", b""), message.get("more_body", False)
        pieces = [body[i:i + TRICKLE_CHUNK_BYTES] for i in range(0, len(body), TRICKLE_CHUNK_BYTES)] or [b""]
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            await send({"type": "http.response.body", "body": piece, "more_body": more or not last})
            if not last:
                await asyncio.sleep(pause)

    return trickle  # type: ignore[return-value]
