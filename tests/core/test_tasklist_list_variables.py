"""The engine copies exactly the variables the Tasklist filters show (two lists, one in each language)."""

from __future__ import annotations

import yaml

from smartfin.camunda.tasklist_filters import LIST_VARIABLES, role_filter_specs
from smartfin.kernel.settings import PROJECT_ROOT


def test_the_engine_copies_the_variables_the_filters_show():
    config = yaml.safe_load((PROJECT_ROOT / "engine/src/main/resources/application.yaml").read_text(encoding="utf-8"))
    copied = [n.strip() for n in config["smartfin"]["tasklist"]["list-variables"].split(",")]
    assert copied == [name for name, _ in LIST_VARIABLES]


def test_one_filter_per_workflow_group_named_in_chinese():
    groups = [{"id": "dept-head", "name": "部门负责人 Department head", "type": "WORKFLOW"},
              {"id": "deputy.li.na.dept-head", "name": "代理", "type": "deputy"},
              {"id": "camunda-admin", "name": "管理员 Administrators", "type": "SYSTEM"}]
    specs = {s.key: s for s in role_filter_specs(groups)}
    assert set(specs) == {"assigned-to-me", "offered-to-me", "role:dept-head"}
    head = specs["role:dept-head"]
    assert head.name == "部门负责人待办" and head.groups == ("dept-head",)
    assert head.former_names == ("部门负责人待办 Department head tasks",)
    assert specs["assigned-to-me"].groups == ("dept-head",)
