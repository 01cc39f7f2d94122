"""Worker steps identify the request by the engine's business key and instance, and refuse a copy that lies.

No engine here: each step is called with the variables an attacker could have written (the write guard
refuses them to users; the service account, or a guard that was switched off, could still write them).
"""

from __future__ import annotations

from typing import Any

import pytest

from smartfin.camunda.runtime import Job
from smartfin.ledger.report import document_entries
from smartfin.processes.spending import worker
from smartfin.processes.spending.requests import RequestDraft, record_request
from smartfin.store.db import session_scope


class Task:
    def __init__(self, business_key: str | None, process_instance_id: str) -> None:
        self.business_key, self.pid = business_key, process_instance_id
        self._context: dict[str, Any] = {}

    def get_task_id(self) -> str:
        return "task-1"

    def get_topic_name(self) -> str:
        return "pre-encumber"

    def get_business_key(self) -> str | None:
        return self.business_key

    def get_process_instance_id(self) -> str:
        return self.pid


def draft(amount: str) -> RequestDraft:
    from decimal import Decimal
    return RequestDraft("zhang.wei", "RC-DEPT", "materials", "30218", "fiscal", "", 2026, Decimal(amount), "某公司",
                        "测试")


@pytest.fixture
def requests_on_record() -> tuple[str, str]:
    with session_scope() as session:
        for number, amount, pid in (("RC-2026-000001", "50.00", "pi-small"), ("RC-2026-000002", "9000.00", "pi-big")):
            if session.get(worker.SpendingRequest, number) is None:
                record_request(session, number, draft(amount)).process_instance_id = pid
    return "RC-2026-000001", "RC-2026-000002"


@pytest.mark.parametrize("variables, complaint", [
    ({"requestNo": "RC-2026-000002"}, "variable requestNo"),
    ({"amount": "5.00"}, "variable amount"),
    ({"amount": "1e3"}, "variable amount"),
    ({"requester": "li.na"}, "variable requester"),
])
def test_pre_encumbrance_refuses_a_variable_that_disagrees_with_the_record(requests_on_record, variables,
                                                                           complaint):
    small, big = requests_on_record
    job = Job(Task(small, "pi-small"), {"requestNo": small, "amount": "50.00", "requester": "zhang.wei",
                                        **variables})
    with pytest.raises(worker.RecordMismatch, match=complaint):
        worker.pre_encumber_request(job)
    with session_scope() as session:
        assert document_entries(session, small) == [] and document_entries(session, big) == []


def test_a_business_key_naming_another_instances_request_is_refused(requests_on_record):
    _small, big = requests_on_record
    job = Job(Task(big, "pi-small"), {})
    with pytest.raises(worker.RecordMismatch, match="belongs to process instance pi-big"):
        worker.pre_encumber_request(job)


def test_without_a_business_key_the_request_is_found_by_its_instance(requests_on_record):
    small, _big = requests_on_record
    with session_scope() as session:
        assert worker._request(session, Job(Task(None, "pi-small"), {"requestNo": small})).request_no == small
