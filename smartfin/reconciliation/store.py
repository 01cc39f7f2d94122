"""Saving reconciliation results and statement imports; the only module here that touches the database.

Re-running a day is idempotent: the run row of (kind, scope, date) is reused, the machine's earlier
results (pending, auto-matched, suggested) are replaced, and human decisions (resolved, written off) are
kept — a new machine result that re-proposes a decided match or exception, or that claims an item a
decided match already holds, is not inserted again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import String, cast, delete, insert
from sqlmodel import Session, select

from extractors.statements import Statement, StatementSpan, check_new_statement
from smartfin.kernel.clock import utc_now
from smartfin.reconciliation.balance import BalanceStatement
from smartfin.reconciliation.bank import HUMAN_STATUSES, BankMatchResult, MatchStatus, reason_of
from smartfin.reconciliation.models import Match, ReconciliationRun, ReconException, ReconReview, StatementImport
from smartfin.reconciliation.threeway import ExceptionType, ThreeWayResult

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


def supersede_imports(session: Session, account: str, fingerprints: Collection[str]) -> int:
    """Forget the statements a rerun of a day no longer uses (a re-downloaded or corrected statement).

    Only the previous run of the same account and day may name them, so the duplicate and overlap
    checks stay strict for every other day; returns how many imports were dropped.
    """
    if not fingerprints:
        return 0
    dropped = session.exec(select(StatementImport).where(StatementImport.account == account,
                                                         StatementImport.fingerprint.in_(list(fingerprints)))).all()  # type: ignore[attr-defined]
    for row in dropped:
        session.delete(row)
    session.flush()
    return len(dropped)


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
    run.started_at = started_at or utc_now()
    run.finished_at = utc_now()
    run.match_count = len(new_matches) + len(kept)
    run.auto_matched_count = statuses.count(MatchStatus.AUTO_MATCHED.value)
    run.suggested_count = statuses.count(MatchStatus.SUGGESTED.value)
    run.exception_count = len(kept_exc)
    run.run_count += 1
    session.add(run)
    session.flush()
    return run


def save_bank_run(session: Session, result: BankMatchResult, *, account: str, business_date: date,
                  fingerprints: Sequence[str], started_at: datetime | None = None,
                  exceptions: Sequence[dict[str, Any]] = ()) -> ReconciliationRun:
    """Store a bank matcher result: left = statement line ids, right = ledger entry ids.

    ``exceptions`` (see :func:`bank_open_item_exceptions`) are stored with the run, pending.
    """
    ids = result.links.groupby(["match_no", "side"])["item_id"].apply(lambda s: [str(v) for v in s])
    rows = []
    for _, m in result.matches.iterrows():
        no = m["match_no"]
        rows.append({"level": "bank", "left_ids": ids.get((no, "bank"), []),
                     "right_ids": ids.get((no, "ledger"), []), "rule": m["rule"], "score": int(m["score"]),
                     "reason": reason_of(m), "amount_fen": int(m["bank_amount_fen"]), "status": m["status"]})
    return save_run(session, kind="bank", scope=account, business_date=business_date,
                    fingerprints=fingerprints, matches=rows, exceptions=[_pending(e) for e in exceptions],
                    outcome=result.outcome, started_at=started_at)


def save_three_way_run(session: Session, result: ThreeWayResult, *, hospital: str,
                       fingerprints: Sequence[str], started_at: datetime | None = None,
                       exceptions: Sequence[dict[str, Any]] = ()) -> ReconciliationRun:
    """Store a three-way result; every exception starts pending.

    ``exceptions`` are further exceptions of the same day (e.g. the prepayment close's) stored with it.
    """
    rows = [{"level": m["level"], "left_ids": list(m["left_ids"]), "right_ids": list(m["right_ids"]),
             "rule": m["rule"], "score": int(m["score"]),
             "reason": {"rule": m["rule"], "score": int(m["score"]), "level": m["level"]},
             "amount_fen": int(m["amount_fen"]), "status": m["status"]}
            for m in result.matches.to_dict("records")]
    exc = [{"type": e["type"], "level": e["level"], "channel": e["channel"] or None,
            "amount_fen": int(e["amount_fen"]), "references": [str(r) for r in e["references"]],
            "detail": e["detail"], "status": MatchStatus.PENDING.value}
           for e in result.exceptions.to_dict("records")]
    exc.extend(_pending(e) for e in exceptions)
    return save_run(session, kind="three-way", scope=hospital, business_date=result.business_date,
                    fingerprints=fingerprints, matches=rows, exceptions=exc, outcome=result.outcome,
                    started_at=started_at)


def _pending(exception: dict[str, Any]) -> dict[str, Any]:
    """An exception row in the stored shape: references as strings, status pending."""
    return {"type": str(exception["type"]), "level": exception.get("level", "transaction"),
            "channel": exception.get("channel") or None, "amount_fen": int(exception.get("amount_fen", 0)),
            "references": [str(r) for r in exception.get("references", ())],
            "detail": str(exception.get("detail", "")), "status": MatchStatus.PENDING.value}


def bank_open_item_exceptions(result: BankMatchResult, *, business_date: date,
                              balance: BalanceStatement | None = None) -> list[dict[str, Any]]:
    """The exceptions a day's bank reconciliation leaves for a person.

    * every statement line no rule matched (银行已记、单位未记: the bank booked something the ledger
      does not show);
    * ledger entries still open on the last day of their date window (单位已记、银行未记 for longer than
      a normal clearing delay); younger ones are timing items and appear only on the 余额调节表;
    * a 余额调节表 whose adjusted balances differ: some difference no open item explains.
    """
    rows: list[dict[str, Any]] = []
    for line in result.unmatched_bank.itertuples(index=False):
        rows.append({"type": ExceptionType.BANK_ONLY.value, "level": "bank", "amount_fen": int(line.amount_fen),
                     "references": [str(line.line_id)],
                     "detail": "银行已记、单位未记 / on the statement, not in the ledger: "
                               + " ".join(str(v) for v in (f"{line.booked_at:%Y-%m-%d}", line.counterparty_name,
                                                                 line.memo, line.reference) if v)})
    last_chance = business_date - timedelta(days=result.settings.date_window_days)
    for entry in result.unmatched_ledger.itertuples(index=False):
        entry_day = pd.Timestamp(entry.date).date()
        if entry_day <= last_chance:
            rows.append({"type": ExceptionType.LEDGER_ONLY.value, "level": "bank",
                         "amount_fen": int(entry.amount_fen), "references": [str(entry.entry_id)],
                         "detail": f"单位已记、银行未记 / in the ledger since {entry_day}, not on the statement "
                                   f"within {result.settings.date_window_days} days: {entry.counterparty} "
                                   f"{entry.reference}".strip()})
    if balance is not None and not balance.balanced:
        rows.append({"type": ExceptionType.BALANCE_DIFFERENCE.value, "level": "bank",
                     "amount_fen": int(balance.difference * 100), "references": [f"balance:{business_date}"],
                     "detail": f"余额调节表不平 / reconciliation statement does not balance: bank side "
                               f"{balance.bank_adjusted}, ledger side {balance.ledger_adjusted} "
                               f"(difference {balance.difference} yuan)"})
    return rows


def save_input_problem(session: Session, *, kind: str, scope: str, business_date: date, etype: ExceptionType,
                       detail: str, references: Sequence[str], outcome: str) -> ReconciliationRun:
    """Record a day that could not be reconciled (refused file, no data) as a run with one exception.

    The day then shows in every report and review instead of silently missing; a later corrected rerun
    of the same day replaces the exception (it is still pending) with the real results.
    """
    return save_run(session, kind=kind, scope=scope, business_date=business_date, fingerprints=[],
                    matches=[], exceptions=[_pending({"type": etype.value, "level": "input",
                                                      "references": list(references), "detail": detail})],
                    outcome=outcome)


def bank_matches_of_entry(session: Session, entry_id: str) -> list[Match]:
    """The bank reconciliation matches whose ledger side names the bank journal entry ``entry_id`` (the entry
    a posted voucher made, keyed by its voucher number), newest first; written-off matches are left out.

    This follows the recorded link (the matched item's id), never an amount that another payment may share.
    """
    if not entry_id:
        return []
    text = cast(Match.right_ids, String)
    # the ids are stored as a JSON list: look for the id as a JSON string, escaped or not, then compare exactly
    rows = session.exec(select(Match).where(
        Match.level == "bank", Match.status != MatchStatus.WRITTEN_OFF,
        text.contains(json.dumps(entry_id), autoescape=True)
        | text.contains(json.dumps(entry_id, ensure_ascii=False), autoescape=True))
        .order_by(Match.id.desc())).all()  # type: ignore[union-attr]
    return [m for m in rows if entry_id in m.right_ids]


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
    row.resolved_at = utc_now()
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


# ----------------------------------------------------------------------------------------------------
# review batches (one `reconciliation-review` process each)

OPEN_REVIEW_STATUSES = ("opening", "open")


def unreviewed_exceptions(session: Session, run_id: int) -> list[ReconException]:
    """Pending exceptions of a run that no opening or open review batch covers yet."""
    covered = {k for r in session.exec(select(ReconReview).where(
        ReconReview.run_id == run_id, ReconReview.status.in_(OPEN_REVIEW_STATUSES)))  # type: ignore[attr-defined]
        for k in r.exception_keys}
    rows = session.exec(select(ReconException).where(
        ReconException.run_id == run_id, ReconException.status == MatchStatus.PENDING.value)
        .order_by(ReconException.id)).all()  # type: ignore[arg-type]
    return [r for r in rows if r.exception_key not in covered]


def plan_review(session: Session, run: ReconciliationRun) -> ReconReview | None:
    """The review batch for a run's unreviewed exceptions, created (``opening``) if there are any.

    An ``opening`` batch left by an interrupted earlier attempt is returned as it is, so the caller
    finishes starting it instead of opening another.
    """
    assert run.id is not None
    waiting = session.exec(select(ReconReview).where(ReconReview.run_id == run.id,
                                                     ReconReview.status == "opening")).first()
    if waiting is not None:
        return waiting
    pending = unreviewed_exceptions(session, run.id)
    if not pending:
        return None
    number = len(session.exec(select(ReconReview).where(ReconReview.run_id == run.id)).all()) + 1
    review = ReconReview(run_id=run.id, business_key=f"{run.kind}/{run.scope}/{run.business_date}/{number}",
                         exception_keys=[e.exception_key for e in pending], exception_count=len(pending),
                         amount_fen=sum(abs(e.amount_fen) for e in pending))
    session.add(review)
    session.flush()
    return review


def mark_review_open(session: Session, business_key: str, process_instance_id: str) -> ReconReview:
    """The review's process is running in the engine."""
    review = review_by_key(session, business_key)
    if review.status == "opening":
        review.status = "open"
    review.process_instance_id = process_instance_id
    session.add(review)
    session.flush()
    return review


def review_by_key(session: Session, business_key: str) -> ReconReview:
    review = session.exec(select(ReconReview).where(ReconReview.business_key == business_key)).first()
    if review is None:
        raise LookupError(f"reconciliation review {business_key!r} does not exist")
    return review


def review_exceptions(session: Session, review: ReconReview) -> list[ReconException]:
    """The exception rows a review batch covers (by key, so reruns of the day do not lose them)."""
    rows = session.exec(select(ReconException).where(ReconException.run_id == review.run_id)
                        .order_by(ReconException.id)).all()  # type: ignore[arg-type]
    keys = set(review.exception_keys)
    return [r for r in rows if r.exception_key in keys]


def record_review_resolution(session: Session, business_key: str, *, by: str, decision: str, comment: str,
                             per_exception: dict[str, dict[str, str]] | None = None) -> ReconReview:
    """Apply a reviewer's decision to every still-pending exception of the batch; idempotent.

    ``decision`` is ``resolved`` or ``written off`` for the batch; ``per_exception`` (exception key →
    ``{"status", "resolution"}``) overrides it for single exceptions. Exceptions a person already decided
    are left as they are; a second delivery of the same resolution changes nothing.
    """
    statuses = {s.value: s for s in HUMAN_STATUSES}
    if decision not in statuses:
        raise ValueError(f"review decision must be one of {sorted(statuses)}, not {decision!r}")
    if not comment.strip():
        raise ValueError("a review resolution needs a comment saying how the exceptions were resolved")
    review = review_by_key(session, business_key)
    if review.status == "resolved":
        return review
    overrides = per_exception or {}
    for row in review_exceptions(session, review):
        if row.status != MatchStatus.PENDING.value:
            continue
        own = overrides.get(row.exception_key, {})
        status = own.get("status", decision)
        if status not in statuses:
            raise ValueError(f"exception {row.exception_key[:12]}: status must be one of {sorted(statuses)}")
        _decide(session, ReconException, row.id, by, statuses[status],  # type: ignore[arg-type]
                resolution=own.get("resolution") or comment)
    review.status = "resolved"
    review.resolved_at = utc_now()
    review.resolved_by = by
    review.decision = decision
    review.comment = comment
    session.add(review)
    session.flush()
    return review
