"""Saving reconciliation results and statement imports; the only module here that touches the database.

Re-running a day is idempotent: the run row of (kind, scope, date) is reused, the machine's earlier
results (pending, auto-matched, suggested) are replaced, and human decisions (resolved, written off) are
kept — a new machine result that re-proposes a decided match or exception, or that claims an item a
decided match already holds, is not inserted again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, insert
from sqlmodel import Session, select

from extractors.statements import Statement, StatementSpan, check_new_statement
from smartfin.reconciliation.bank import HUMAN_STATUSES, BankMatchResult, MatchStatus, reason_of
from smartfin.reconciliation.models import Match, ReconciliationRun, ReconException, StatementImport
from smartfin.reconciliation.threeway import ThreeWayResult

_HUMAN = [s.value for s in HUMAN_STATUSES]


def _key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def match_key(left_ids: Sequence[str], right_ids: Sequence[str]) -> str:
    """Identity of a match independent of rule and score, so a rerun recognises a decided match."""
    return _key(sorted(left_ids), sorted(right_ids))


def exception_key(etype: str, references: Sequence[str]) -> str:
    return _key(etype, list(references))


def import_statement(session: Session, statement: Statement) -> StatementImport:
    """Record an accepted statement; refuse a duplicate or an overlap with an earlier statement."""
    earlier = session.exec(select(StatementImport).where(
        (StatementImport.account == statement.account)
        | (StatementImport.fingerprint == statement.fingerprint))).all()
    check_new_statement(statement, [StatementSpan(f"import #{e.id} ({e.source})", e.account, e.fingerprint,
                                                  e.period_start, e.period_end) for e in earlier])
    row = StatementImport(account=statement.account, fingerprint=statement.fingerprint,
                          source=statement.source, period_start=statement.period_start,
                          period_end=statement.period_end, line_count=len(statement.lines),
                          closing_balance_fen=statement.closing_balance_fen)
    session.add(row)
    session.flush()
    return row


def save_run(session: Session, *, kind: str, scope: str, business_date: date, fingerprints: Sequence[str],
             matches: list[dict[str, Any]], exceptions: list[dict[str, Any]], outcome: str,
             started_at: datetime | None = None) -> ReconciliationRun:
    """Store one day's results idempotently (see the module docstring) and return the run row."""
    run = session.exec(select(ReconciliationRun).where(
        ReconciliationRun.kind == kind, ReconciliationRun.scope == scope,
        ReconciliationRun.business_date == business_date)).first()
    if run is None:
        run = ReconciliationRun(kind=kind, scope=scope, business_date=business_date, run_count=0)
        session.add(run)
        session.flush()
    assert run.id is not None
    session.execute(delete(Match).where(Match.run_id == run.id, Match.status.not_in(_HUMAN)))  # type: ignore[attr-defined]
    session.execute(delete(ReconException).where(ReconException.run_id == run.id,
                                                 ReconException.status.not_in(_HUMAN)))  # type: ignore[attr-defined]
    kept = session.exec(select(Match).where(Match.run_id == run.id)).all()
    kept_keys = {m.match_key for m in kept}
    held_left = {i for m in kept for i in m.left_ids}
    held_right = {i for m in kept for i in m.right_ids}
    new_matches = []
    for m in matches:
        m_key = match_key(m["left_ids"], m["right_ids"])
        if m_key in kept_keys or held_left & set(m["left_ids"]) or held_right & set(m["right_ids"]):
            continue
        new_matches.append({**m, "run_id": run.id, "match_key": m_key})
    kept_exc = {e.exception_key for e in session.exec(
        select(ReconException).where(ReconException.run_id == run.id)).all()}
    new_exc = []
    for e in exceptions:
        e_key = exception_key(e["type"], e["references"])
        if e_key not in kept_exc:
            kept_exc.add(e_key)
            new_exc.append({**e, "run_id": run.id, "exception_key": e_key})
    if new_matches:
        session.execute(insert(Match), new_matches)
    if new_exc:
        session.execute(insert(ReconException), new_exc)
    statuses = [m["status"] for m in matches]
    run.input_fingerprints = sorted(fingerprints)
    run.outcome = outcome
    run.started_at = started_at or datetime.now(UTC)
    run.finished_at = datetime.now(UTC)
    run.match_count = len(new_matches) + len(kept)
    run.auto_matched_count = statuses.count(MatchStatus.AUTO_MATCHED.value)
    run.suggested_count = statuses.count(MatchStatus.SUGGESTED.value)
    run.exception_count = len(kept_exc)
    run.run_count += 1
    session.add(run)
    session.flush()
    return run


def save_bank_run(session: Session, result: BankMatchResult, *, account: str, business_date: date,
                  fingerprints: Sequence[str], started_at: datetime | None = None) -> ReconciliationRun:
    """Store a bank matcher result: left = statement line ids, right = ledger entry ids."""
    ids = result.links.groupby(["match_no", "side"])["item_id"].apply(lambda s: [str(v) for v in s])
    rows = []
    for _, m in result.matches.iterrows():
        no = m["match_no"]
        rows.append({"level": "bank", "left_ids": ids.get((no, "bank"), []),
                     "right_ids": ids.get((no, "ledger"), []), "rule": m["rule"], "score": int(m["score"]),
                     "reason": reason_of(m), "amount_fen": int(m["bank_amount_fen"]), "status": m["status"]})
    return save_run(session, kind="bank", scope=account, business_date=business_date,
                    fingerprints=fingerprints, matches=rows, exceptions=[], outcome=result.outcome,
                    started_at=started_at)


def save_three_way_run(session: Session, result: ThreeWayResult, *, hospital: str,
                       fingerprints: Sequence[str], started_at: datetime | None = None) -> ReconciliationRun:
    """Store a three-way result; every exception starts pending."""
    rows = [{"level": m["level"], "left_ids": list(m["left_ids"]), "right_ids": list(m["right_ids"]),
             "rule": m["rule"], "score": int(m["score"]),
             "reason": {"rule": m["rule"], "score": int(m["score"]), "level": m["level"]},
             "amount_fen": int(m["amount_fen"]), "status": m["status"]}
            for m in result.matches.to_dict("records")]
    exc = [{"type": e["type"], "level": e["level"], "channel": e["channel"] or None,
            "amount_fen": int(e["amount_fen"]), "references": [str(r) for r in e["references"]],
            "detail": e["detail"], "status": MatchStatus.PENDING.value}
           for e in result.exceptions.to_dict("records")]
    return save_run(session, kind="three-way", scope=hospital, business_date=result.business_date,
                    fingerprints=fingerprints, matches=rows, exceptions=exc, outcome=result.outcome,
                    started_at=started_at)


def resolve_match(session: Session, match_id: int, *, by: str, note: str | None = None,
                  status: MatchStatus = MatchStatus.RESOLVED) -> Match:
    """A person confirms (resolved) or writes off a match; kept across reruns from now on."""
    return _decide(session, Match, match_id, by, status, note=note)


def resolve_exception(session: Session, exception_id: int, *, by: str, resolution: str,
                      status: MatchStatus = MatchStatus.RESOLVED) -> ReconException:
    """A person resolves or writes off an exception, saying how; kept across reruns from now on."""
    return _decide(session, ReconException, exception_id, by, status, resolution=resolution)


def _decide(session: Session, table: Any, row_id: int, by: str, status: MatchStatus, **fields: Any) -> Any:
    if status not in HUMAN_STATUSES:
        raise ValueError(f"a person's decision is one of {_HUMAN}, not {status!r}")
    row = session.get(table, row_id)
    if row is None:
        raise LookupError(f"{table.__tablename__} {row_id} does not exist")
    row.status = status.value
    row.resolved_by = by
    row.resolved_at = datetime.now(UTC)
    for name, value in fields.items():
        setattr(row, name, value)
    session.add(row)
    session.flush()
    return row


def exceptions_frame(session: Session, run_id: int) -> pd.DataFrame:
    """A run's exceptions as a frame (for reports and flows)."""
    rows = session.exec(select(ReconException).where(ReconException.run_id == run_id)).all()
    frame = pd.DataFrame([r.model_dump() for r in rows])
    if not frame.empty:
        frame["amount_fen"] = frame["amount_fen"].astype(np.int64)
    return frame
