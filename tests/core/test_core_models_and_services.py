"""Model checks before deployment, topic registry rules, and how a failed service start is reported."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from smartfin.app.wiring import product_registry
from smartfin.camunda.deploy import ModelError, collect_models, units
from smartfin.camunda.runtime import Job, TopicRegistry
from smartfin.kernel.background import ManagedService, ServiceError
from smartfin.kernel.settings import PROJECT_ROOT, Settings


def test_product_models_are_complete_and_grouped_with_their_forms_and_decisions():
    models = collect_models()
    names = {m.name for m in models}
    assert "bpmn/spending/spending-approval.bpmn" in names
    spending_unit = next(u for u in units(models) if "bpmn/spending/spending-approval.bpmn" in u)
    assert {"rules/spending/approval-routing.dmn", "bpmn/spending/spending-decision.form"} <= spending_unit


def _write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text, encoding="utf-8")


BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="x">
  <bpmn:process id="p" isExecutable="true" {ttl}>
    <bpmn:startEvent id="s" camunda:formRef="{form}" camunda:formRefBinding="deployment"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_a_process_without_history_time_to_live_is_refused_before_deployment(tmp_path):
    (tmp_path / "bpmn").mkdir()
    _write(tmp_path / "bpmn", "p.bpmn", BPMN.format(ttl="", form="f"))
    with pytest.raises(ModelError, match="historyTimeToLive"):
        collect_models(tmp_path, ["bpmn"])


def test_a_dangling_form_reference_is_refused_before_deployment(tmp_path):
    (tmp_path / "bpmn").mkdir()
    _write(tmp_path / "bpmn", "p.bpmn", BPMN.format(ttl='camunda:historyTimeToLive="P1D"', form="missing-form"))
    with pytest.raises(ModelError, match="form:missing-form"):
        collect_models(tmp_path, ["bpmn"])


def test_every_topic_is_handled_once_and_known_topics_can_be_chosen():
    registry = product_registry()
    assert {"register-request", "route-request", "verify-approvals", "pre-encumber",
            "close-request"} <= set(registry.topics)
    with pytest.raises(ValueError, match="registered twice"):
        registry.include(product_registry())
    with pytest.raises(ValueError, match="unknown topics"):
        registry.only(["no-such-topic"])
    duplicate = TopicRegistry()
    duplicate.topic("a")(lambda job: None)
    with pytest.raises(ValueError, match="already handled"):
        duplicate.topic("a")(lambda job: None)


def test_a_missing_variable_is_a_clear_error():
    from camunda.external_task.external_task import ExternalTask
    job = Job(ExternalTask({"id": "t1", "topicName": "x", "businessKey": "REQ-1"}), {"amount": None})
    with pytest.raises(KeyError, match="'amount' is missing on task t1"):
        job.var("amount")
    assert job.var("amount", "0.00") == "0.00"


def test_a_service_that_dies_while_starting_names_its_log(tmp_path):
    settings = Settings(var_dir=tmp_path)
    service = ManagedService(name="broken", argv=[sys.executable, "-c", "print('boom: bad config'); exit(3)"],
                             settings=settings, healthy=lambda: False, cwd=PROJECT_ROOT)
    with pytest.raises(ServiceError) as error:
        service.start(timeout=20)
    message = str(error.value)
    assert "broken exited while starting" in message and str(service.log_file) in message
    assert "boom: bad config" in message
    assert service.pid() is None
