"""`smartfin departments roles import|list|sync` against the real engine (it knows the users), on a database of
its own: a bad file is refused row by row with nothing recorded, a good one is recorded and the engine's
department groups follow it, and a head who leaves loses her group on the next sync."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from smartfin.app.cli import app
from smartfin.camunda.client import EngineClient
from smartfin.camunda.tasklist_filters import admin_client
from smartfin.kernel.clock import hospital_today
from smartfin.kernel.settings import get_settings
from smartfin.store.db import get_engine
from tests.support.settings import environment

pytestmark = pytest.mark.engine
runner = CliRunner()
DEPARTMENTS = "code,name,class,valid_from\nCLI-A,甲科,clinical,2020-01-01\nCLI-B,乙科,clinical,2020-01-01\n"


@pytest.fixture
def own_database(camunda: EngineClient, tmp_path: Path) -> Iterator[Path]:
    with environment({"SMARTFIN_DATABASE_URL": f"sqlite:///{tmp_path / 'roles.db'}"}):
        get_engine.cache_clear()
        yield tmp_path
        get_engine.cache_clear()
        runner.invoke(app, ["departments", "roles", "sync"])  # an empty record: the groups go again
    get_engine.cache_clear()


def _members(group: str) -> set[str]:
    with closing(admin_client(get_settings())) as admin:
        return {u["id"] for u in admin.get("/user", memberOfGroup=group)}


def test_roles_are_refused_row_by_row_then_recorded_listed_and_mirrored(own_database: Path) -> None:
    departments = own_database / "departments.csv"
    departments.write_text(DEPARTMENTS, encoding="utf-8")
    assert runner.invoke(app, ["departments", "import", str(departments)]).exit_code == 0

    bad = own_database / "bad.csv"
    bad.write_text("科室,角色,用户名,生效日期,失效日期\nCLI-A,head,li.na,2024-01-01,\nCLI-X,head,li.na,2024-01-01,\n"
                   "CLI-B,head,no.such.user,2024-01-01,\nCLI-A,head,qian.yu,2025-01-01,\n", encoding="gbk")
    refused = runner.invoke(app, ["departments", "roles", "import", str(bad)])
    assert refused.exit_code == 3, refused.output
    assert "row 3, column department" in refused.output and "unknown department CLI-X" in refused.output
    assert "row 4, column user" in refused.output and "the engine has no user no.such.user" in refused.output
    assert "row 5, column valid_from" in refused.output and "overlaps" in refused.output
    assert json.loads(runner.invoke(app, ["departments", "roles", "list", "--json"]).output)["roles"] == []

    today = hospital_today()
    good = own_database / "heads.csv"
    good.write_text(f"department,user,valid_from\nCLI-A,li.na,2024-01-01\nCLI-B,qian.yu,{today}\n", encoding="utf-8")
    recorded = runner.invoke(app, ["departments", "roles", "import", str(good), "--actor", "guo.hua"])
    assert recorded.exit_code == 0, recorded.output
    assert "2 periods recorded" in recorded.output and "2 created" in recorded.output
    assert _members("dept-head.CLI-A") == {"li.na"} and _members("dept-head.CLI-B") == {"qian.yu"}
    listed = json.loads(runner.invoke(app, ["departments", "roles", "list", "--json"]).output)["roles"]
    assert [(r["department"], r["user"], r["group"], r["recorded_by"]) for r in listed] == [
        ("CLI-A", "li.na", "dept-head.CLI-A", "guo.hua"), ("CLI-B", "qian.yu", "dept-head.CLI-B", "guo.hua")]

    # a head leaves: li.na's period ends yesterday
    leaving = own_database / "leaving.csv"
    leaving.write_text("department,user,valid_from,valid_to\n"
                       f"CLI-A,li.na,2024-01-01,{today - timedelta(days=1)}\n", encoding="utf-8")
    closed = runner.invoke(app, ["departments", "roles", "import", str(leaving)])
    assert closed.exit_code == 0, closed.output
    assert "1 closed" in closed.output
    assert _members("dept-head.CLI-A") == set(), "a head whose period ended loses the membership"
    assert "already in step" in runner.invoke(app, ["departments", "roles", "sync"]).output
