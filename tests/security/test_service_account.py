"""The service account cannot be locked out by anyone, and is no webapp user; other users keep the lockout."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from tests.security.engine_users import DEMO_PASSWORD, Actor, admin_password, tasklist_session

pytestmark = pytest.mark.engine


def webapp_login(camunda: Any, username: str, password: str) -> requests.Response:
    return tasklist_session(camunda.base_url, username, password)[1]


def test_a_wrong_password_storm_does_not_lock_the_service_account(camunda):
    user, password = camunda.http.auth
    service = Actor(camunda.base_url, user, password)
    attacker = requests.Session()
    for i in range(40):
        answer = attacker.get(camunda.base_url + "/task", auth=(user, f"guess-{i}"), timeout=10)
        assert answer.status_code == 401
    for i in range(5):
        assert webapp_login(camunda, user, f"guess-{i}").status_code == 403
    zhang_wei = Actor(camunda.base_url, "zhang.wei", DEMO_PASSWORD)
    for i in range(15):
        verified = zhang_wei.ok("POST", "/identity/verify", {"username": user, "password": f"guess-{i}"})
        assert verified["authenticated"] is False
    # even the right password cannot be tested by another user
    assert zhang_wei.ok("POST", "/identity/verify", {"username": user, "password": password})["authenticated"] is False
    assert service.call("GET", "/task").status == 200
    assert service.call("GET", "/engine").status == 200


def test_the_service_account_cannot_log_in_to_tasklist(camunda):
    user, password = camunda.http.auth
    refused = webapp_login(camunda, user, password)
    assert refused.status_code == 403
    assert "WRITE_GUARD:" in refused.text and "machine account" in refused.text
    assert webapp_login(camunda, "li.na", DEMO_PASSWORD).status_code == 200


def test_other_users_keep_the_engines_lockout(camunda):
    admin = Actor(camunda.base_url, "admin", admin_password())
    name = f"lockout.{uuid.uuid4().hex[:6]}"
    admin.ok("POST", "/user/create", {"profile": {"id": name, "firstName": "L", "lastName": "O",
                                                  "email": f"{name}@example.org"},
                                      "credentials": {"password": "Right-pass-1"}})
    try:
        for i in range(12):
            requests.get(camunda.base_url + "/task", auth=(name, f"wrong-{i}"), timeout=10)
        locked = requests.get(camunda.base_url + "/task", auth=(name, "Right-pass-1"), timeout=10)
        assert locked.status_code == 401, "the engine's lockout still protects ordinary accounts"
    finally:
        admin.call("DELETE", f"/user/{name}")
