"""Users, server-side sessions and CSRF tokens shared by the three portals.

Legacy systems keep the session on the server and expire it after a short idle time; bots must
notice a bounce to the login page and log in again, so the stand-ins do the same. Every session,
even an anonymous one, carries a CSRF token that every POST form has to echo back.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import HTTPConnection
from starlette.responses import Response

from portals.db import Database

AUTH_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    sid TEXT PRIMARY KEY,
    username TEXT,
    csrf TEXT NOT NULL,
    created REAL NOT NULL,
    last_seen REAL NOT NULL,
    data TEXT NOT NULL DEFAULT '{}'
);
"""

_PBKDF2_ROUNDS = 60_000


def hash_password(password: str) -> str:
    """Salted PBKDF2 so a copied demo database does not leak the demo passwords in clear."""
    salt = secrets.token_hex(8)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), _PBKDF2_ROUNDS).hex()
    return f"pbkdf2${salt}${digest}"


def check_password(password: str, stored: str) -> bool:
    """Constant-time comparison against a stored PBKDF2 hash."""
    try:
        _, salt, digest = stored.split("$")
    except ValueError:
        return False
    candidate = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), _PBKDF2_ROUNDS).hex()
    return hmac.compare_digest(candidate, digest)


@dataclass(frozen=True)
class PortalUser:
    """One clerk account as given in the seed file."""

    username: str
    password: str
    display_name: str


def seed_users(db: Database, users: list[PortalUser]) -> int:
    """Insert the seed accounts only when the user table is empty (first start); returns how many."""
    with db.transaction() as conn:
        if conn.execute("SELECT COUNT(*) FROM users").fetchone()[0]:
            return 0
        for user in users:
            conn.execute(
                "INSERT INTO users (username, display_name, password_hash) VALUES (?, ?, ?)",
                (user.username, user.display_name, hash_password(user.password)),
            )
    return len(users)


def authenticate(db: Database, username: str, password: str) -> str | None:
    """Return the display name when the credentials match, else None."""
    with db.connection() as conn:
        row = conn.execute("SELECT display_name, password_hash FROM users WHERE username = ?", (username,)).fetchone()
    if row is None or not check_password(password, row["password_hash"]):
        return None
    return str(row["display_name"])


@dataclass
class Session:
    """A server-side session; `data` holds per-portal state such as a pending invoice query."""

    sid: str
    username: str | None
    csrf: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def logged_in(self) -> bool:
        return self.username is not None


@dataclass(frozen=True)
class SessionLookup:
    """Result of reading the cookie: the live session, or whether an old one just timed out."""

    session: Session | None
    expired: bool = False


class SessionStore:
    """Sessions in the portal's own database, keyed by a cookie with a portal-specific name.

    Cookies ignore ports, so three portals on one host need three cookie names or they would log
    each other out.
    """

    def __init__(self, db: Database, cookie_name: str, idle_timeout_seconds: float) -> None:
        self.db = db
        self.cookie_name = cookie_name
        self.idle_timeout_seconds = idle_timeout_seconds

    def lookup(self, conn: HTTPConnection) -> SessionLookup:
        """Find the cookie's session; an idle one is deleted and reported as expired."""
        sid = conn.cookies.get(self.cookie_name)
        if not sid:
            return SessionLookup(None)
        now = time.time()
        with self.db.connection() as db:
            row = db.execute("SELECT * FROM sessions WHERE sid = ?", (sid,)).fetchone()
            if row is None:
                return SessionLookup(None, expired=True)
            if now - row["last_seen"] > self.idle_timeout_seconds:
                db.execute("DELETE FROM sessions WHERE sid = ?", (sid,))
                return SessionLookup(None, expired=row["username"] is not None)
            db.execute("UPDATE sessions SET last_seen = ? WHERE sid = ?", (now, sid))
        return SessionLookup(Session(sid, row["username"], row["csrf"], json.loads(row["data"])))

    def create(self, username: str | None = None, data: dict[str, Any] | None = None) -> Session:
        """A fresh session id (also used at login, so a pre-login id is never promoted)."""
        session = Session(secrets.token_urlsafe(24), username, secrets.token_urlsafe(24), data or {})
        now = time.time()
        with self.db.connection() as db:
            db.execute(
                "INSERT INTO sessions (sid, username, csrf, created, last_seen, data) VALUES (?, ?, ?, ?, ?, ?)",
                (session.sid, username, session.csrf, now, now, json.dumps(session.data)),
            )
        return session

    def save(self, session: Session) -> None:
        with self.db.connection() as db:
            db.execute(
                "UPDATE sessions SET data = ? WHERE sid = ?",
                (json.dumps(session.data, ensure_ascii=False), session.sid),
            )

    def invalidate(self, sid: str) -> bool:
        """Drop one session; True when it existed."""
        with self.db.connection() as db:
            return db.execute("DELETE FROM sessions WHERE sid = ?", (sid,)).rowcount > 0

    def invalidate_all(self) -> int:
        with self.db.connection() as db:
            return db.execute("DELETE FROM sessions").rowcount

    def attach(self, response: Response, session: Session) -> Response:
        """Set the session cookie on a response (HttpOnly, like a servlet container would)."""
        response.set_cookie(self.cookie_name, session.sid, httponly=True, samesite="lax")
        return response

    def detach(self, response: Response) -> Response:
        response.delete_cookie(self.cookie_name)
        return response


def csrf_ok(session: Session | None, submitted: object) -> bool:
    """A POST is accepted only with the token of the session it claims to come from."""
    if session is None or not isinstance(submitted, str) or not submitted:
        return False
    return hmac.compare_digest(session.csrf, submitted)
