"""Year-end close (年终结账): commitments carried or lapsed by rule, the year's lines frozen, the close recorded.

At the end of a fiscal year every open commitment and every line's unspent balance is placed by the dated
carry-over rules (``rules/budget/carry_over_rules.csv``): an encumbrance under a signed contract carries to
next year's line of the same key keeping its document number (``journal.carry_commitment``); a request's
pre-encumbrance lapses (released); a fiscal project's unspent balance carries over (财政拨款结转); basic
expenditure balances do not. What carries is posted to next year's line in the ADJUSTMENT bucket as a
``budget-carry-over`` document effective 1 January, and taken off the old line by the same document effective
31 December — so the compilation's later issue can still post next year's original budget with
``set_budget``, and the old year's balance rate shows only what lapsed.

A line closed before year end (a project ended early, a department merged) is placed like any other: its
contract carries and its balance is carried or lapses, since money may leave a closed line (none may arrive).
Then the year's lines are closed (nothing new can be charged) and the close is recorded once per year in
``BudgetYearClosing`` and the audit log. It all happens in the caller's one transaction: a holding no rule
places refuses the whole close (``ClosingRefused`` names each), and closing a closed year answers with the
record of the first close.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Column, true
from sqlmodel import Field, Session, SQLModel, col, select

from rules.budget import CarryOverRules, CarryRule, carry_over_rules_on
from smartfin.kernel.clock import hospital_today, utc_now
from smartfin.kernel.money import format_yuan, from_fen
from smartfin.ledger.control import bucket_totals, find_line
from smartfin.ledger.journal import adjust, carry_commitment, close_line, create_line, release
from smartfin.ledger.keys import Bucket, BudgetLineKey, LineStatus
from smartfin.ledger.models import BudgetLine, JournalEntry, bp_to_pct
from smartfin.store.audit import UtcDateTime, record_audit

CARRY_OVER_DOCUMENT = "budget-carry-over"
COMMITMENTS = (Bucket.ENCUMBRANCE, Bucket.PRE_ENCUMBRANCE)


class BudgetYearClosing(SQLModel, table=True):
    """One fiscal year's close: who closed it, when, and what was carried and what lapsed."""

    __tablename__ = "budget_year_closing"

    fiscal_year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    closed_by: str = Field(max_length=64)
    closed_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))
    rules_on: date
    lines_closed: int
    carried_fen: int = Field(sa_column=Column(BigInteger, nullable=False))
    lapsed_fen: int = Field(sa_column=Column(BigInteger, nullable=False))
    details_json: str = Field(default="{}")

    @property
    def carried(self) -> Decimal:
        return from_fen(self.carried_fen)

    @property
    def lapsed(self) -> Decimal:
        return from_fen(self.lapsed_fen)

    @property
    def details(self) -> dict[str, object]:
        return dict(json.loads(self.details_json or "{}"))


class ClosingRefused(ValueError):
    """The year cannot be closed as it stands; ``reasons`` name each line and holding."""

    def __init__(self, year: int, reasons: list[str]) -> None:
        self.year = year
        self.reasons = reasons
        super().__init__(f"{year} 年不能结账 / year {year} cannot be closed:\n" + "\n".join(reasons))


@dataclass
class LinePlan:
    """What the close does to one line: documents to carry or lapse, and the balance's fate."""

    line: BudgetLine
    carry: list[tuple[str, str, Bucket, int]] = field(default_factory=list)
    lapse: list[tuple[str, str, Bucket, int]] = field(default_factory=list)
    balance_fen: int = 0
    balance_rule: CarryRule = CarryRule.LAPSE

    @property
    def carried_fen(self) -> int:
        return sum(a for *_, a in self.carry) + (self.balance_fen if self.balance_rule == CarryRule.CARRY else 0)

    @property
    def lapsed_fen(self) -> int:
        return sum(a for *_, a in self.lapse) + (self.balance_fen if self.balance_rule == CarryRule.LAPSE else 0)


def scope_of(line: BudgetLine) -> str:
    """项目支出 when the line belongs to a project, else 基本支出."""
    return "project" if line.project else "basic"


def _holdings(session: Session, line_ids: list[int]) -> dict[int, list[tuple[str, str, Bucket, int]]]:
    """Open commitments per line: (document type, number, bucket, amount held) with a positive amount."""
    found: dict[int, dict[tuple[str, str, str], int]] = {}
    for line_id, doc_type, doc_no, bucket, amount in session.exec(
            select(JournalEntry.line_id, JournalEntry.document_type, JournalEntry.document_no, JournalEntry.bucket,
                   JournalEntry.amount_fen)
            .where(col(JournalEntry.line_id).in_(line_ids),
                   col(JournalEntry.bucket).in_([b.value for b in COMMITMENTS]))).all():
        key = (doc_type, doc_no, bucket)
        found.setdefault(line_id, {})[key] = found.get(line_id, {}).get(key, 0) + int(amount)
    return {line_id: [(t, n, Bucket(b), a) for (t, n, b), a in sorted(docs.items()) if a > 0]
            for line_id, docs in found.items()}


def plan_close(session: Session, year: int, rules: CarryOverRules) -> tuple[list[LinePlan], list[str]]:
    """Every line's plan and every reason the close cannot go ahead; reads only."""
    lines = list(session.exec(select(BudgetLine).where(BudgetLine.fiscal_year == year)
                              .order_by(col(BudgetLine.id))).all())
    ids = [line.id for line in lines if line.id is not None]
    holdings = _holdings(session, ids)
    # everything the year's lines hold, whenever it was posted (a payment keyed in January still counts)
    totals = bucket_totals(session, ids, true())
    plans, reasons = [], []
    for line in lines:
        assert line.id is not None
        plan = LinePlan(line)
        source, scope = line.funding_source, scope_of(line)
        for doc_type, doc_no, bucket, amount in holdings.get(line.id, []):
            rule = rules.rule_for(bucket.value, funding_source=source, scope=scope, document_type=doc_type)
            if rule is None:
                reasons.append(f"{line.label}: {doc_type} {doc_no} 占用 {bucket} ¥{format_yuan(from_fen(amount))}，"
                               f"结转规则未规定其去向 / holds {format_yuan(from_fen(amount))} in {bucket} and no "
                               f"carry-over rule places it")
                continue
            (plan.carry if rule == CarryRule.CARRY else plan.lapse).append((doc_type, doc_no, bucket, amount))
        t = totals.get(line.id, {})
        authorised = t.get(Bucket.BUDGET.value, 0) + t.get(Bucket.ADJUSTMENT.value, 0)
        carried_commitments = sum(a for *_, a in plan.carry)
        plan.balance_fen = max(0, authorised - t.get(Bucket.ACTUAL.value, 0) - carried_commitments)
        if plan.balance_fen > 0:
            rule = rules.rule_for("balance", funding_source=source, scope=scope)
            if rule is None:
                reasons.append(f"{line.label}: 结余 ¥{format_yuan(from_fen(plan.balance_fen))} 结转规则未规定其去向 / "
                               f"balance {format_yuan(from_fen(plan.balance_fen))} ({source}, {scope}) is placed by "
                               f"no carry-over rule")
            else:
                plan.balance_rule = rule
        plans.append(plan)
    return plans, reasons


def _next_line(session: Session, line: BudgetLine, actor: str) -> BudgetLineKey:
    """Next year's line of the same key, opened with the same control settings when it does not exist yet."""
    key = BudgetLineKey(line.fiscal_year + 1, line.department, line.economic_code, line.funding_source,
                        line.project)
    if find_line(session, key) is None:
        create_line(session, key, actor=actor, name=line.name, control_level=line.control_level,
                    tolerance_pct=bp_to_pct(line.tolerance_bp), tolerance_amount=line.tolerance_amount,
                    warning_pct=line.warning_pct)
    return key


def close_year(session: Session, year: int, *, actor: str, today: date | None = None,
               rules: CarryOverRules | None = None) -> BudgetYearClosing:
    """Close fiscal ``year`` in the caller's transaction (see the module docstring); idempotent."""
    if not actor or not actor.strip():
        raise ValueError("actor is missing")
    done = session.get(BudgetYearClosing, year)
    if done is not None:
        return done
    day = today or hospital_today()
    if day <= date(year, 12, 31):
        raise ClosingRefused(year, [f"{year} 年尚未结束（今天 {day}） / the year has not ended (today is {day})"])
    rules_day = date(year, 12, 31)
    rules = rules or carry_over_rules_on(rules_day)
    plans, reasons = plan_close(session, year, rules)
    if reasons:
        raise ClosingRefused(year, reasons)
    first_next, last_this = date(year + 1, 1, 1), date(year, 12, 31)
    carried_lines = []
    for plan in plans:
        line = plan.line
        reason = f"{year} 年终结账 / year-end close {year}"
        for doc_type, doc_no, bucket, _amount in plan.lapse:
            release(session, document_type=doc_type, document_no=doc_no, bucket=bucket, actor=actor,
                    reason=f"{reason}: lapsed by rule")
        carried = plan.carried_fen
        if carried > 0:
            next_key = _next_line(session, line, actor)
            next_line = find_line(session, next_key)
            assert next_line is not None
            document_no = f"CARRY-{year}-L{line.id}"
            # the commitments first (their money leaves the old line with them), then the authority: off the
            # old line on its last day, onto next year's line on its first, one document for both sides
            for doc_type, doc_no, bucket, _amount in plan.carry:
                carry_commitment(session, document_type=doc_type, document_no=doc_no, bucket=bucket,
                                 to_key=next_key, actor=actor, reason=f"{reason}: carried by rule",
                                 effective_on=max(first_next, next_line.period[0]))
            adjust(session, line.key, -from_fen(carried), document_no=document_no, actor=actor,
                   reason=f"{reason}: carried to {next_key}", document_type=CARRY_OVER_DOCUMENT,
                   effective_on=min(last_this, line.period[1]), multi_line=True)
            adjust(session, next_key, from_fen(carried), document_no=document_no, actor=actor,
                   reason=f"{reason}: carried from {line.key}", document_type=CARRY_OVER_DOCUMENT,
                   effective_on=max(first_next, next_line.period[0]), multi_line=True)
            carried_lines.append({"from": str(line.key), "to": str(next_key), "amount": format_yuan(from_fen(carried)),
                                  "commitments": _listed(plan.carry),
                                  "balance": format_yuan(from_fen(plan.balance_fen))
                                  if plan.balance_rule == CarryRule.CARRY else "0.00"})
        if line.status != LineStatus.CLOSED:
            close_line(session, line.key, actor=actor, reason=reason)
    lapsed = [{"line": str(p.line.key), "commitments": _listed(p.lapse),
               "balance": format_yuan(from_fen(p.balance_fen)) if p.balance_rule == CarryRule.LAPSE else "0.00"}
              for p in plans if p.lapsed_fen > 0]
    closing = BudgetYearClosing(fiscal_year=year, closed_by=actor, closed_at=utc_now(), rules_on=rules_day,
                                lines_closed=len(plans), carried_fen=sum(p.carried_fen for p in plans),
                                lapsed_fen=sum(p.lapsed_fen for p in plans),
                                details_json=json.dumps({"carried": carried_lines, "lapsed": lapsed},
                                                        ensure_ascii=False))
    session.add(closing)
    session.flush()
    record_audit(session, actor=actor, action="budget.year_closed", subject_type="fiscal_year", subject_id=str(year),
                 details={"lines_closed": closing.lines_closed, "carried": closing.carried,
                          "lapsed": closing.lapsed})
    return closing


def _listed(holdings: list[tuple[str, str, Bucket, int]]) -> list[list[str]]:
    return [[t, n, b.value, format_yuan(from_fen(a))] for t, n, b, a in holdings]


def carried_into(session: Session, key: BudgetLineKey) -> Decimal:
    """What the year-end close carried into the line (its ``budget-carry-over`` adjustments)."""
    line = find_line(session, key)
    if line is None:
        return Decimal("0.00")
    total = session.exec(select(JournalEntry.amount_fen).where(
        JournalEntry.line_id == line.id, JournalEntry.document_type == CARRY_OVER_DOCUMENT,
        JournalEntry.bucket == Bucket.ADJUSTMENT.value)).all()
    return from_fen(sum(int(a) for a in total))

