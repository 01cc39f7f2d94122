"""The demo's plugin interface and its guidance per person, without services: steps run in order, a failing or
unloadable plugin step fails the demo naming the step, and the guidance is grouped per demo user."""

from __future__ import annotations

import json
from importlib.metadata import EntryPoint
from typing import Any

import pytest

from smartfin.app import demo
from smartfin.app.demo_users import DemoUser, demo_users
from smartfin.kernel.settings import get_settings


def plugins(monkeypatch: pytest.MonkeyPatch, *entries: tuple[str, str]) -> None:
    """Installed ``smartfin.demo`` entry points, as the package metadata would list them."""
    points = [EntryPoint(name=name, value=value, group=demo.DEMO_PLUGINS) for name, value in entries]
    monkeypatch.setattr(demo, "entry_points", lambda group: [p for p in points if p.group == group])


def test_core_steps_run_first_then_plugins_in_entry_point_name_order(monkeypatch: pytest.MonkeyPatch) -> None:
    plugins(monkeypatch, ("zeta", "json:dumps"), ("flows", "json:loads"))
    names = [name for name, _ in demo.demo_steps()]
    assert names == ["services", "spending", "claims", "procurement", "compilation", "adjustments", "chain",
                     "assessment", "flows", "zeta"]
    assert [name for name, _ in demo.demo_steps(requests_only=True)][:1] == ["spending"]
    assert dict(demo.demo_steps())["flows"] is json.loads


def test_a_plugin_that_cannot_be_loaded_fails_the_demo_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    plugins(monkeypatch, ("flows", "smartfin_no_such_module:step"))
    with pytest.raises(demo.DemoError, match=r"demo step 'flows' \(smartfin_no_such_module:step\) could not be "
                                             r"loaded: ModuleNotFoundError"):
        demo.demo_steps()


def test_a_failing_step_fails_the_demo_naming_the_step_with_its_cause() -> None:
    def broken(settings: Any, echo: Any) -> list[tuple[str, str]]:
        raise ConnectionError("the stand-in ERP did not answer")

    said: list[str] = []
    with pytest.raises(demo.DemoError, match="demo step 'flows' failed: ConnectionError: the stand-in ERP") as failed:
        demo.run_step("flows", broken, get_settings(), said.append)
    assert isinstance(failed.value.__cause__, ConnectionError), "the cause is kept, not swallowed"
    assert said == ["— flows —"]


@pytest.mark.parametrize("returned", [None, [("wang.fang",)], [("wang.fang", 3)], ("wang.fang", "x")])
def test_a_step_must_return_guidance_pairs(returned: Any) -> None:
    with pytest.raises(demo.DemoError, match="demo step 'flows' returned"):
        demo.run_step("flows", lambda settings, echo: returned, get_settings(), lambda text: None)


def test_a_steps_guidance_and_echo_come_back() -> None:
    def step(settings: Any, echo: Any) -> list[tuple[str, str]]:
        echo("posting the outbox")
        return [("wang.fang", "stand-in ERP: the posted vouchers")]

    said: list[str] = []
    guidance = demo.run_step("flows", step, get_settings(), said.append)
    assert guidance == [("wang.fang", "stand-in ERP: the posted vouchers")]
    assert said == ["— flows —", "posting the outbox"]


def test_guidance_is_grouped_per_demo_user_in_profile_order() -> None:
    users = [DemoUser("zhang.wei", "张伟", ("requester",)), DemoUser("wang.fang", "王芳", ("finance-officer",))]
    lines = [("wang.fang", "smartfin claim show DEMO-BX-2026-03"),
             ("zhang.wei", "smartfin claim show DEMO-BX-2026-01"),
             ("wang.fang", "Tasklist «财务审核员待办 Finance officer tasks» → 复核发票 · DEMO-BX-2026-02"),
             ("wang.fang", "smartfin claim show DEMO-BX-2026-03"),
             ("auditor.x", "var/reports/")]
    text = demo.guidance_text(get_settings(), lines, users, "pw")
    start = text.index(next(t for t in text if t.startswith("zhang.wei")))
    assert text[start:] == [
        "zhang.wei    张伟   requester",
        "    · smartfin claim show DEMO-BX-2026-01",
        "wang.fang    王芳   finance-officer",
        "    · Tasklist «财务审核员待办 Finance officer tasks» → 复核发票 · DEMO-BX-2026-02",
        "    · smartfin claim show DEMO-BX-2026-03",
        "auditor.x    (not a demo login)",
        "    · var/reports/",
        "Stop everything with: smartfin down",
    ]
    assert f"Tasklist: {get_settings().tasklist_url}" in text
    nobody = demo.guidance_text(get_settings(), [], users[:1], "pw")
    assert "    · nothing waiting for this person in the demo data" in nobody


def test_the_demo_users_are_the_engine_profiles() -> None:
    users = {user.id: user for user in demo_users()}
    assert users["wang.fang"] == DemoUser("wang.fang", "王芳", ("finance-officer",))
    assert users["he.ping"].groups == ("equipment-committee", "budget-committee")
    assert len(users) == 18  # with guo.hua (finance head), qian.yu and feng.tao (department heads), gao.yan and
    # tang.bo (insurance officers)
