"""The rules of a send-back for revision (退回修改) and of the requester's answer, without an engine."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlmodel import Session, SQLModel

import smartfin.app.tables  # noqa: F401  (registers every table)
from smartfin.processes.approvals import (
    SEND_BACK,
    SignedTask,
    revision_problems,
    round_signatures,
    send_back_problems,
    shown_statuses,
)
from smartfin.processes.spending.requests import RequestDraft, SpendingRequest, apply_revision, revision_values
from smartfin.store.audit import record_audit
from smartfin.store.db import make_engine

MEMBERS = {("li.na", "dept-head"), ("chen.jie", "vice-president")}


def is_member(user: str, group: str) -> bool:
    return (user, group) in MEMBERS


def task(user: str | None, outcome: str | None = SEND_BACK, comment: str | None = "请补充 add the specs",
         group: str = "dept-head", completed: bool = True, **values: Any) -> SignedTask:
    return SignedTask(task_id=f"t-{user}-{outcome}", task_key="approveRequest", groups=frozenset({group}), user=user,
                      assignee=None, outcome=outcome, comment=comment, started="", ended=None, completed=completed,
                      values=values)


def test_a_send_back_by_a_member_of_the_step_with_a_reason_holds():
    assert send_back_problems(task("li.na"), "dept-head", {"zhang.wei"}, is_member) == []


def test_a_send_back_needs_a_reason_the_step_group_a_member_and_not_the_requester():
    assert any("reason" in p for p in send_back_problems(task("li.na", comment="  "), "dept-head", set(), is_member))
    assert any("not a member of dept-head" in p
               for p in send_back_problems(task("wang.fang"), "dept-head", set(), is_member))
    assert any("candidate groups" in p
               for p in send_back_problems(task("chen.jie", group="vice-president"), "dept-head", set(), is_member))
    assert any("is the requester" in p
               for p in send_back_problems(task("li.na"), "dept-head", {"li.na"}, is_member))
    assert any("no authenticated user" in p for p in send_back_problems(task(None), "dept-head", set(), is_member))
    assert any("not sendBack" in p
               for p in send_back_problems(task("li.na", outcome="approve"), "dept-head", set(), is_member))
    assert send_back_problems(None, "dept-head", set(), is_member) != []
    assert send_back_problems(task("li.na", completed=False), "dept-head", set(), is_member) != []


def test_a_refused_send_back_signs_nothing_in_its_round():
    approved, refused = task("li.na", outcome="approve", comment="同意"), task("chen.jie")
    assert round_signatures([approved, refused]) == [approved]


def request() -> SpendingRequest:
    return SpendingRequest(request_no="REQ-1", requester="zhang.wei", department="T-CARD", category="materials",
                           economic_code="30299", funding_source="fiscal", project="", fiscal_year=2026,
                           amount_fen=80000, payee="国药控股", purpose="耗材")


def test_a_revision_starts_from_the_record_and_never_changes_the_requester():
    values = revision_values(request(), {"amount": "8000.00", "requester": "li.na", "purpose": None,
                                         "approvalChain": '["dept-head"]'})
    assert values["amount"] == "8000.00" and values["requester"] == "zhang.wei"
    assert values["purpose"] == "耗材" and "approvalChain" not in values
    assert values["economicCode"] == "30299", "the category is kept, so is the recorded economic code"
    assert "economicCode" not in revision_values(request(), {"category": "office"}), "a new category gives its code"


def test_applying_a_revision_names_each_change():
    row = request()
    draft = RequestDraft(requester="zhang.wei", department="T-CARD", category="materials", economic_code="30299",
                         funding_source="fiscal", project="", fiscal_year=2026, amount=Decimal("8000.00"),
                         payee="国药控股", purpose="注射器 syringes")
    assert apply_revision(row, draft) == {"amount_fen": ["80000", "800000"], "purpose": ["耗材", "注射器 syringes"]}
    assert row.amount == Decimal("8000.00")


def test_only_the_recorded_requester_answers_a_send_back():
    answer = task("zhang.wei", outcome=None, comment=None, revisionAction="resubmit")
    assert revision_problems(answer, "zhang.wei") == []
    assert any("only the requester zhang.wei" in p for p in revision_problems(
        task("li.na", outcome=None, comment=None, revisionAction="resubmit"), "zhang.wei"))
    assert any("not resubmit or withdraw" in p for p in revision_problems(
        task("zhang.wei", outcome=None, comment=None, revisionAction="approve"), "zhang.wei"))
    assert revision_problems(None, "zhang.wei") != []


def test_lists_show_a_document_waiting_for_its_requester_as_sent_back(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'statuses.db'}")
    SQLModel.metadata.create_all(engine)
    events = {"R-1": ["sent-back"],                        # waiting for the requester
              "R-2": ["sent-back", "resubmitted"],         # answered: in approval again
              "R-3": ["send-back-refused"],                # the control refused it: nothing changed
              "R-4": ["sent-back", "resubmitted", "sent-back"],
              "R-5": ["sent-back"]}                        # withdrawn since: its stored status stands
    with Session(engine) as session:
        for number, actions in events.items():
            for action in actions:
                record_audit(session, actor="x", action=action, subject_type="spending-request", subject_id=number)
        record_audit(session, actor="x", action="sent-back", subject_type="budget-adjustment", subject_id="R-2")
        session.commit()
        stored = {"R-1": "submitted", "R-2": "submitted", "R-3": "submitted", "R-4": "submitted", "R-5": "withdrawn"}
        assert shown_statuses(session, "spending-request", stored) == {
            "R-1": "sent-back", "R-2": "submitted", "R-3": "submitted", "R-4": "sent-back", "R-5": "withdrawn"}
        # claims audit their send-backs with their prefix
        assert shown_statuses(session, "spending-request", {"R-1": "submitted"}, audit_prefix="claim.") == {
            "R-1": "submitted"}
    engine.dispose()
