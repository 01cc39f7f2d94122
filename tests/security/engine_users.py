"""Plain HTTP access to the session engine as its real users, for the security tests.

Only the `camunda` fixture's address and service credentials are taken from the product; every
call here is an ordinary REST request, as an attacker holding a demo user's password would send it.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

DEMO_PASSWORD = "smartfin-demo"
MODELS = Path(__file__).parent / "models"
PROBE_KEY = "smartfin-security-probe"


@dataclass
class Answer:
    status: int
    body: Any

    @property
    def message(self) -> str:
        if isinstance(self.body, dict):
            return str(self.body.get("message", ""))
        return str(self.body)


class Actor:
    """One engine user talking REST over one connection pool."""

    def __init__(self, base_url: str, user: str, password: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.user = user
        self.http = requests.Session()
        self.http.auth = (user, password)

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> Answer:
        response = self.http.request(method, self.base_url + path, json=body, params=params or None, timeout=30)
        try:
            content: Any = response.json() if response.content else None
        except ValueError:
            content = response.text
        return Answer(response.status_code, content)

    def ok(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        answer = self.call(method, path, body, **params)
        assert answer.status < 300, f"{self.user}: {method} {path} → {answer.status} {answer.body}"
        return answer.body

    def remove_instance(self, process_instance_id: str, attempts: int = 10) -> None:
        """Delete a test's process instance; a worker holding one of its external tasks at that moment makes
        the engine answer an optimistic-locking conflict, so the delete is tried again shortly after."""
        for _ in range(attempts):
            answer = self.call("DELETE", f"/process-instance/{process_instance_id}")
            if answer.status < 300 or answer.status == 404:
                return
            if "OptimisticLockingException" not in str(answer.body):
                break
            time.sleep(0.5)
        raise AssertionError(f"{self.user}: process instance {process_instance_id} not deleted: "
                             f"{answer.status} {answer.body}")

    # reads (as whoever this actor is) ---------------------------------------------------------

    def variables(self, process_instance_id: str) -> dict[str, Any]:
        raw = self.ok("GET", f"/process-instance/{process_instance_id}/variables", deserializeValues="false")
        return {name: v["value"] for name, v in raw.items()}

    def task(self, task_id: str) -> dict[str, Any] | None:
        found = self.ok("POST", "/task", {"taskId": task_id})
        return found[0] if found else None

    def open_task(self, process_instance_id: str, key: str | None = None, timeout: float = 20) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            tasks = [t for t in self.ok("POST", "/task", {"processInstanceId": process_instance_id})
                     if key is None or t["taskDefinitionKey"] == key]
            if tasks:
                return tasks[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"no open task {key or ''} in {process_instance_id}")
            time.sleep(0.2)

    def identity_links(self, task_id: str) -> list[tuple[str | None, str | None, str]]:
        links = self.ok("GET", f"/task/{task_id}/identity-links")
        return sorted(((link.get("userId"), link.get("groupId"), link["type"]) for link in links),
                      key=lambda link: tuple(part or "" for part in link))


def typed(value: Any) -> dict[str, Any]:
    """A REST variable value typed the way the engine's REST API expects it."""
    if isinstance(value, bool):
        return {"value": value, "type": "Boolean"}
    if isinstance(value, int):
        return {"value": value, "type": "Integer"}
    if isinstance(value, (list, dict)):
        return {"value": json.dumps(value), "type": "Json"}
    return {"value": value, "type": "String"}


def variables(**values: Any) -> dict[str, dict[str, Any]]:
    return {name: typed(value) for name, value in values.items()}


def service_actor(camunda: Any) -> Actor:
    """The session's service account, from the `camunda` fixture (an engine client)."""
    user, password = camunda.http.auth
    return Actor(camunda.base_url, user, password)


def admin_password() -> str:
    """The session engine's administrator password (environment, else the run's var/secrets.env)."""
    if os.environ.get("SMARTFIN_ENGINE_ADMIN_PASSWORD"):
        return os.environ["SMARTFIN_ENGINE_ADMIN_PASSWORD"]
    secrets = Path(os.environ["SMARTFIN_VAR_DIR"]) / "secrets.env"
    for line in secrets.read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "SMARTFIN_ENGINE_ADMIN_PASSWORD":
            return value.strip().strip("'\"")
    raise AssertionError(f"no SMARTFIN_ENGINE_ADMIN_PASSWORD in {secrets}")


def deploy_probe(service: Actor, name: str = "smartfin-security-probe") -> None:
    """Deploy the probe model with its forms, all together (a new deployment only when one of them changed)."""
    files = [(path.name, (path.name, path.read_bytes())) for path in sorted(MODELS.iterdir())
             if path.suffix in (".bpmn", ".form")]
    response = service.http.post(service.base_url + "/deployment/create", files=files, timeout=30, data={
        "deployment-name": name, "deploy-changed-only": "false",
        "enable-duplicate-filtering": "true"})
    assert response.status_code == 200, response.text


def start_probe(starter: Actor, **values: Any) -> str:
    """Start the probe; returns the process instance id."""
    business_key = f"SEC-{uuid.uuid4().hex[:10]}"
    instance = starter.ok("POST", f"/process-definition/key/{PROBE_KEY}/start",
                          {"businessKey": business_key, "variables": variables(**values)})
    return str(instance["id"])


def tasklist_session(base_url: str, username: str, password: str) -> tuple[requests.Session, requests.Response]:
    """Log in the way Tasklist does (session cookie + the webapp's CSRF token); returns the session and the answer."""
    root = base_url.rstrip("/").rsplit("/engine-rest", 1)[0]
    browser = requests.Session()
    browser.get(root + "/camunda/app/tasklist/", timeout=10)
    browser.headers["X-XSRF-TOKEN"] = browser.cookies.get("XSRF-TOKEN", path="/camunda") or ""
    answer = browser.post(root + "/camunda/api/admin/auth/user/default/login/tasklist",
                          data={"username": username, "password": password}, timeout=10)
    # the login starts a new session: its token comes with the next page, as in the browser
    browser.get(root + "/camunda/api/admin/auth/user/default", timeout=10)
    browser.headers["X-XSRF-TOKEN"] = browser.cookies.get("XSRF-TOKEN", path="/camunda") or ""
    return browser, answer


def tasklist_api(base_url: str) -> str:
    """Where Tasklist itself sends its engine calls."""
    return base_url.rstrip("/").rsplit("/engine-rest", 1)[0] + "/camunda/api/engine/engine/default"
