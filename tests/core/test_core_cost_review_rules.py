"""The cost review's checks and follow-up as pure logic: what makes an answer or a judgement stand, and
whether a measure worked the month after its due date (a throwaway SQLite database, no engine)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlmodel import Session, SQLModel, create_engine, select

from smartfin.costing.model import INDICATOR_COLUMNS, Direction
from smartfin.processes.approvals import SignedTask
from smartfin.processes.costreview.reviews import (
    IMPROVED,
    NOT_IMPROVED,
    CostReview,
    explanation_problems,
    follow_up_outcome,
    judgement_problems,
    next_month,
    review_follow_up,
    review_key,
)
from smartfin.store.audit import AuditEntry

TODAY = date(2026, 11, 10)
MEMBERS = {("li.na", "dept-head"), ("wang.fang", "finance-officer"), ("both", "dept-head"),
           ("both", "finance-officer")}


def is_member(user: str, group: str) -> bool:
    return (user, group) in MEMBERS


def task(key: str, group: str, user: str | None, **values: Any) -> SignedTask:
    return SignedTask(task_id="t1", task_key=key, groups=frozenset({group}), user=user, assignee=None,
                      outcome=values.get("decision"), comment=values.get("comment"), started="", ended=None,
                      completed=True, values={k: v for k, v in values.items()})


def answered(user: str = "li.na", due: str = "2026-12-31", **changes: Any) -> SignedTask:
    values = {"explanation": "介入手术量增加 more PCI cases this month", "measure": "定额领用 ration",
              "dueDate": due, **changes}
    return task("explainCost", "dept-head", user, **values)


def test_a_complete_answer_by_a_department_head_stands() -> None:
    assert explanation_problems(answered(), is_member=is_member, today=TODAY) == []


@pytest.mark.parametrize(("due", "reason"), [
    ("2026-11-10", "is not after today"), ("2026-01-01", "is not after today"), ("下月底", "is not a date"),
    ("", "is not a date"), ("2028-01-01", "more than a year away")])
def test_the_due_date_must_lie_ahead_within_a_year(due: str, reason: str) -> None:
    problems = explanation_problems(answered(due=due), is_member=is_member, today=TODAY)
    assert any(reason in p for p in problems), problems


def test_an_answer_from_outside_the_group_or_without_content_is_refused() -> None:
    problems = explanation_problems(answered(user="zhang.wei", explanation="太贵", measure=" "),
                                    is_member=is_member, today=TODAY)
    assert any("not a member of dept-head" in p for p in problems)
    assert any("fewer than" in p for p in problems) and any("no measure" in p for p in problems)
    assert explanation_problems(None, is_member=is_member, today=TODAY)


def test_a_judgement_needs_a_finance_officer_who_did_not_write_the_explanation() -> None:
    judged = task("judgeExplanation", "finance-officer", "wang.fang", decision="accept")
    assert judgement_problems(judged, is_member=is_member, explained_by="li.na") == []
    own = task("judgeExplanation", "finance-officer", "both", decision="accept")
    assert any("may not judge their own explanation" in p
               for p in judgement_problems(own, is_member=is_member, explained_by="both"))
    outsider = task("judgeExplanation", "finance-officer", "li.na", decision="accept")
    assert any("not a member of finance-officer" in p
               for p in judgement_problems(outsider, is_member=is_member, explained_by="zhang.wei"))
    silent = task("judgeExplanation", "finance-officer", "wang.fang", decision="send-back", comment=" ")
    assert any("without a reason" in p for p in judgement_problems(silent, is_member=is_member, explained_by="x"))
    odd = task("judgeExplanation", "finance-officer", "wang.fang", decision="approve")
    assert any("not accept or send-back" in p for p in judgement_problems(odd, is_member=is_member,
                                                                            explained_by="x"))


def test_keys_and_months() -> None:
    assert review_key("2026-10", "CARD", "materials_per_100_revenue") == \
        "cost-review/2026-10/CARD/materials_per_100_revenue"
    assert (next_month("2026-12"), next_month("2026-01")) == ("2027-01", "2026-02")
    with pytest.raises(ValueError):
        next_month("2026-13")


def test_improvement_follows_the_indicators_direction() -> None:
    assert follow_up_outcome(Direction.MAX, Decimal("31.2"), Decimal("28")) == IMPROVED
    assert follow_up_outcome(Direction.MAX, Decimal("31.2"), Decimal("31.2")) == NOT_IMPROVED
    assert follow_up_outcome(Direction.MIN, Decimal("0.80"), Decimal("0.85")) == IMPROVED


def test_follow_up_the_month_after_the_due_date_once(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'reviews.db'}")
    SQLModel.metadata.create_all(engine, tables=[CostReview.__table__, AuditEntry.__table__])  # type: ignore[attr-defined]
    with Session(engine) as session:
        for centre, due in (("CARD", date(2026, 11, 20)), ("ORTH", date(2026, 12, 5))):
            session.add(CostReview(business_key=review_key("2026-10", centre, "m"), month="2026-10", centre=centre,
                                   centre_name=centre, indicator="m", indicator_name="材料", value="31.20",
                                   target="25", direction="max", status="accepted", measure="定额", due_on=due))
        session.commit()
        values = pd.DataFrame([("CARD", "m", Decimal("33.0")), ("ORTH", "m", Decimal("20"))],
                              columns=list(INDICATOR_COLUMNS))
        assert review_follow_up(session, "2026-11", values) == []           # nothing due before November's end
        [card] = review_follow_up(session, "2026-12", values)                # CARD fell due in November
        assert (card.centre, card.outcome, card.value_now) == ("CARD", NOT_IMPROVED, Decimal("33.0"))
        assert card.breach is not None and (card.breach.month, card.breach.value) == ("2026-12", Decimal("33.0"))
        session.commit()
        assert [f.centre for f in review_follow_up(session, "2026-12", values)] == ["CARD"]  # same answer again
        [orth] = review_follow_up(session, "2027-01", values)                 # CARD was followed up in December
        assert (orth.centre, orth.outcome, orth.breach) == ("ORTH", IMPROVED, None)
        stored = {row.centre: row.follow_up_outcome for row in session.exec(select(CostReview)).all()}
        assert stored == {"CARD": NOT_IMPROVED, "ORTH": IMPROVED}
