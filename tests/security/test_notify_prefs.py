"""Notification preferences are a person's own: a logged-in demo user cannot send a colleague's tasks to an
address of their choosing, and sets their own with an audit entry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import delete, select
from typer.testing import CliRunner

from smartfin.app.cli import app
from smartfin.notify.tables import NotificationPreference
from smartfin.store.audit import AuditEntry
from smartfin.store.db import session_scope
from tests.security.engine_users import DEMO_PASSWORD
from tests.support.settings import environment

pytestmark = pytest.mark.engine


@pytest.fixture()
def as_zhang_wei(camunda, tmp_path: Path) -> Iterator[CliRunner]:  # type: ignore[no-untyped-def]
    with environment({"SMARTFIN_CREDENTIALS_DIR": str(tmp_path / "credentials")}):
        runner = CliRunner()
        assert runner.invoke(app, ["login", "--user", "zhang.wei"], input=f"{DEMO_PASSWORD}\n").exit_code == 0
        yield runner
    with session_scope() as session:
        session.execute(delete(NotificationPreference))


def test_a_user_cannot_redirect_a_colleagues_notifications(as_zhang_wei: CliRunner) -> None:
    stolen = as_zhang_wei.invoke(app, ["notify", "prefs", "li.na", "--email", "zhang.private@example.test"])
    assert stolen.exit_code == 3, stolen.output
    assert "only their own" in stolen.output
    peek = as_zhang_wei.invoke(app, ["notify", "prefs", "li.na", "--json"])
    assert peek.exit_code == 3, "nor read them"
    with session_scope() as session:
        assert session.get(NotificationPreference, "li.na") is None


def test_a_user_sets_their_own_preferences_and_the_change_is_audited(as_zhang_wei: CliRunner) -> None:
    refused = as_zhang_wei.invoke(app, ["notify", "prefs", "zhang.wei", "--digest", "weekly"])
    assert refused.exit_code == 3 and "immediate or daily" in refused.output
    done = as_zhang_wei.invoke(app, ["notify", "prefs", "zhang.wei", "--email", "zw@hospital.test", "--webhook", "off",
                                     "--digest", "daily", "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output) == {"user": "zhang.wei", "email": "zw@hospital.test", "webhook": False,
                                       "digest": "daily"}
    with session_scope() as session:
        [entry] = session.exec(select(AuditEntry).where(AuditEntry.action == "notify-preferences-set",
                                                        AuditEntry.subject_id == "zhang.wei")).all()
    assert entry.actor == "zhang.wei" and entry.details_dict["digest"] == "daily"
