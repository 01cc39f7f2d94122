"""The budget-compilation process's own records: department budget contacts (the latest in force, history kept)
and the deciding bodies' minutes (attached once, by a member of the body, file archived)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from smartfin.budgeting import CompilationError, Stage, get_round, open_round
from smartfin.budgeting.rounds import return_to_drafts
from smartfin.ledger import import_departments
from smartfin.processes.compilation.records import (
    BudgetContact,
    CompilationRefused,
    attach_minutes,
    budget_office,
    compiling_departments,
    contact_of,
    contacts,
    departments_of,
    departments_to_reopen,
    fiscal_year_of,
    minutes_for,
    set_contact,
)
from smartfin.store.archive import read_archived
from smartfin.store.audit import AuditEntry
from tests.budgeting.conftest import DEPARTMENTS_CSV

ON = date(2026, 11, 30)


@pytest.fixture
def session(sqlite_engine: Engine) -> Session:
    with Session(sqlite_engine, expire_on_commit=False) as session:
        assert import_departments(session, DEPARTMENTS_CSV.encode(), actor="finance", filename="d.csv").ok
        yield session  # type: ignore[misc]
        session.rollback()


def member_of(pairs: set[tuple[str, str]]):  # type: ignore[no-untyped-def]
    return lambda user, group: (user, group) in pairs


def test_the_latest_contact_is_in_force_and_earlier_ones_are_kept(session: Session) -> None:
    set_contact(session, "CARD", "li.na", actor="wang.fang", on=ON)
    set_contact(session, "RADI", "li.na", actor="wang.fang", on=ON)
    set_contact(session, "CARD", "qian.yu", actor="wang.fang", on=ON)
    assert contact_of(session, "CARD") == "qian.yu" and contacts(session) == {"CARD": "qian.yu", "RADI": "li.na"}
    assert departments_of(session, "li.na") == ["RADI"]
    assert len(session.exec(select(BudgetContact).where(BudgetContact.department == "CARD")).all()) == 2


@pytest.mark.parametrize(("department", "user", "field"), [("XXX", "li.na", "department"), ("", "li.na", "department"),
                                                          ("CARD", " ", "user")])
def test_a_contact_for_an_unknown_department_or_without_user_is_refused(session: Session, department: str,
                                                                        user: str, field: str) -> None:
    with pytest.raises(CompilationRefused, match=f"^{field}"):
        set_contact(session, department, user, actor="wang.fang", on=ON)
    assert contacts(session) == {}


def test_minutes_are_attached_once_by_a_member_and_archived(session: Session) -> None:
    is_member = member_of({("zhao.lei", "president")})
    row = attach_minutes(session, 2027, "president", "院办〔2026〕12号", ON, b"%PDF minutes", filename="m.pdf",
                         actor="zhao.lei", is_member=is_member)
    assert read_archived(row.sha256) == b"%PDF minutes"
    assert minutes_for(session, 2027, "president", " 院办〔2026〕12号 ") is not None
    assert minutes_for(session, 2027, "party-committee", "院办〔2026〕12号") is None
    with pytest.raises(CompilationRefused, match="already attached"):
        attach_minutes(session, 2027, "president", "院办〔2026〕12号", ON, b"other", filename="m2.pdf",
                       actor="zhao.lei", is_member=is_member)
    with pytest.raises(CompilationRefused, match="not a member of party-committee"):
        attach_minutes(session, 2027, "party-committee", "党委〔2026〕3号", ON, b"x", filename="p.pdf",
                       actor="zhao.lei", is_member=is_member)
    with pytest.raises(CompilationRefused, match=r"^body"):
        attach_minutes(session, 2027, "finance-officer", "X-1", ON, b"x", filename="p.pdf", actor="zhao.lei",
                       is_member=is_member)
    with pytest.raises(CompilationRefused, match="is empty"):
        attach_minutes(session, 2027, "president", "院办-2", ON, b"", filename="e.pdf", actor="zhao.lei",
                       is_member=is_member)


def test_the_year_comes_only_from_a_compilation_number() -> None:
    assert fiscal_year_of("BUDGET-2027") == 2027
    for bad in ("BUDGET-27", "BX-2027", "BUDGET-2027-1", "budget-2027"):
        with pytest.raises(ValueError):
            fiscal_year_of(bad)


def test_only_departments_compiling_the_year_may_be_reopened_after_a_send_back(session: Session) -> None:
    set_contact(session, "CARD", "li.na", actor="wang.fang", on=ON)
    set_contact(session, "RADI", "qian.yu", actor="wang.fang", on=ON)
    assert compiling_departments(session, 2027) == ["CARD", "RADI"]
    assert departments_to_reopen(session, 2027, " RADI、CARD，RADI ") == ["CARD", "RADI"]
    assert departments_to_reopen(session, 2027, "") == [] and departments_to_reopen(session, 2027, None) == []
    # FIN is in the master data but compiles nothing (no contact); XRAY does not exist
    with pytest.raises(CompilationRefused, match=r"^reopenDepartments: FIN, XRAY 不是"):
        departments_to_reopen(session, 2027, "CARD, FIN, XRAY")


def test_a_budget_returns_to_the_drafts_only_from_approval_and_with_a_reason(session: Session) -> None:
    open_round(session, 2027, guidance="零基预算", first_deadline=ON, second_deadline=ON, template_version="1",
               actor="wang.fang")
    assert budget_office(session, 2027) == "wang.fang"
    with pytest.raises(CompilationError, match="needs approval"):
        return_to_drafts(session, 2027, actor="sun.li", reason="压减")
    get_round(session, 2027).stage = Stage.APPROVAL.value
    with pytest.raises(CompilationError, match="needs a reason"):
        return_to_drafts(session, 2027, actor="sun.li", reason=" ")
    assert return_to_drafts(session, 2027, actor="sun.li", reason="压减").stage == Stage.SECOND.value
    # delivered again: stays at 二上, audited once
    return_to_drafts(session, 2027, actor="sun.li", reason="压减")
    returned = session.exec(select(AuditEntry).where(AuditEntry.action == "budget.returned_to_drafts")).all()
    assert [r.actor for r in returned] == ["sun.li"]
    for stage in (Stage.APPROVED, Stage.ISSUED):
        get_round(session, 2027).stage = stage.value
        with pytest.raises(CompilationError, match="needs approval"):
            return_to_drafts(session, 2027, actor="sun.li", reason="压减")
