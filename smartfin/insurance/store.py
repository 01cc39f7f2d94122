"""Storing insurance inputs and runs: one transaction per file and per run, reruns replace, people's work stays.

An input file is refused whole (a :class:`InputRefused` naming file, row and column) when it is for another
day, month or hospital, when it is the same file as one already accepted, or when a cell is malformed; a
corrected file for the same day or month supersedes the earlier one and its rows. A run of a period updates
its one ``ins_run`` row: the machine's pending exceptions are replaced, resolved ones are kept by their key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, insert
from sqlmodel import Session, SQLModel, col, select

from extractors.insurance import InsuranceFile, InsuranceFileError, read_insurance_file
from extractors.statements.errors import StatementProblem
from extractors.statements.tabular import ColumnMap
from smartfin.insurance.daily import FEN, DailyResult
from smartfin.insurance.tables import (
    ID_MAX,
    ClearingItem,
    ClearingStatement,
    GroupSettlement,
    HisSettlement,
    InsuranceException,
    InsuranceImport,
    InsuranceRun,
    PlatformSettlement,
    PlatformTotal,
    RunStatus,
)
from smartfin.kernel.clock import utc_now
from smartfin.store.audit import record_audit

CHUNK = 5_000
DAY_KINDS = ("his", "platform", "platform_total")
MONTH_KINDS = ("clearing", "clearing_items", "group")
_TABLES: dict[str, type[SQLModel]] = {"his": HisSettlement, "platform": PlatformSettlement,
                                      "platform_total": PlatformTotal, "group": GroupSettlement}


class InputRefused(InsuranceFileError):
    """A readable file that is not this period's, this hospital's, or is one already accepted."""


class DuplicateFile(InputRefused):
    """The very same file (same sha256) was accepted before."""


def _refuse(file: str, reason: str, rows: Iterable[int] = (), column: str | None = None,
            cls: type[InputRefused] = InputRefused) -> InputRefused:
    shown = list(rows)[:10]
    if not shown:
        return cls([StatementProblem(file, reason)])
    return cls([StatementProblem(file, reason, row, column) for row in shown])


def bulk_insert(session: Session, table: type[SQLModel], frame: pd.DataFrame) -> None:
    """Bulk insert with SQLAlchemy core in chunks: a month is 300,000 rows, not 300,000 ORM objects."""
    names = [c.name for c in table.__table__.columns if c.name != "id"]  # type: ignore[attr-defined]
    frame = frame[[n for n in names if n in frame.columns]].copy()
    for name, spec in table.model_fields.items():  # core inserts skip the model's defaults: apply them
        if name in names and name not in frame.columns and spec.default_factory is not None:
            frame[name] = [spec.default_factory()] * len(frame)  # type: ignore[call-arg]
    values = frame.astype(object).where(frame.notna(), None)
    for start in range(0, len(values), CHUNK):
        records = [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()}
                   for r in values.iloc[start:start + CHUNK].to_dict("records")]
        session.execute(insert(table.__table__), records)  # type: ignore[attr-defined]


def current_import(session: Session, kind: str, period: str) -> InsuranceImport | None:
    """The accepted file of ``kind`` for ``period`` (a day or a month), if any."""
    return session.exec(select(InsuranceImport).where(
        InsuranceImport.kind == kind, InsuranceImport.period == period,
        InsuranceImport.status == "accepted")).first()


def _check_period(read: InsuranceFile, period: str, hospital: str) -> None:
    rows = read.rows
    if read.kind in DAY_KINDS:
        wrong = rows["settled_on"].map(lambda d: d.isoformat()) != period
        if wrong.any():
            first = rows.loc[wrong, "settled_on"].iloc[0]
            raise _refuse(read.file, f"holds settlements of {first.isoformat()}, the file is for {period}",
                          rows.loc[wrong, "source_row"], "settled_on")
    if "month" in rows.columns and read.kind != "clearing_items":
        wrong = rows["month"] != period
        if wrong.any():
            raise _refuse(read.file, f"is for month {rows.loc[wrong, 'month'].iloc[0]}, expected {period}",
                          rows.loc[wrong, "source_row"], "month")
    if read.kind == "clearing":
        wrong = rows["hospital"] != hospital
        if wrong.any():
            raise _refuse(read.file, f"is for hospital {rows.loc[wrong, 'hospital'].iloc[0]!r}, this hospital "
                          f"is {hospital!r}", rows.loc[wrong, "source_row"], "hospital")
        repeated = rows["insurance_type"].duplicated()
        if repeated.any():
            raise _refuse(read.file, "lists an insurance type twice", rows.loc[repeated, "source_row"],
                          "insurance_type")


def import_file(session: Session, kind: str, data: bytes, *, file: str, period: str, hospital: str, actor: str,
                cmap: str | ColumnMap | None = None) -> InsuranceImport:
    """Read, check and store one file of ``kind`` for ``period``; refuse it whole with located reasons."""
    read = read_insurance_file(data, kind, file=file, cmap=cmap)
    same = session.exec(select(InsuranceImport).where(InsuranceImport.kind == kind,
                                                      InsuranceImport.fingerprint == read.fingerprint)).first()
    if same is not None:
        raise _refuse(file, f"is the same file as {same.file_name!r} accepted for {same.period} on "
                      f"{same.imported_at:%Y-%m-%d %H:%M} UTC (import {same.id})", cls=DuplicateFile)
    _check_period(read, period, hospital)
    rows = read.rows
    statements: dict[str, ClearingStatement] = {}
    if kind == "clearing_items":
        month_of = {s.statement_no: s for s in session.exec(
            select(ClearingStatement).where(ClearingStatement.month == period))}
        unknown = ~rows["statement_no"].isin(list(month_of))
        if unknown.any():
            raise _refuse(file, f"names statement {rows.loc[unknown, 'statement_no'].iloc[0]!r}, which is not a "
                          f"clearing statement of {period} (import the statement first)",
                          rows.loc[unknown, "source_row"], "statement_no")
        statements = month_of
    previous = current_import(session, kind, period)
    if previous is not None:
        _supersede(session, previous)
    record = InsuranceImport(kind=kind, period=period, file_name=file, fingerprint=read.fingerprint,
                             row_count=len(rows), actor=actor)
    session.add(record)
    session.flush()
    assert record.id is not None
    if kind == "clearing":
        for row in rows.to_dict("records"):
            approved = row["declared_fen"] - row["refused_fen"] - row["deducted_fen"]
            session.add(ClearingStatement(
                import_id=record.id, month=row["month"], hospital=row["hospital"],
                insurance_type=row["insurance_type"], statement_no=row["statement_no"], issued_on=row["issued_on"],
                **{k: int(row[k]) for k in ("declared_fen", "approved_fen", "refused_fen", "deducted_fen",
                                            "retained_fen", "disbursed_fen")},
                balanced=bool(row["approved_fen"] == approved
                              and row["disbursed_fen"] == row["approved_fen"] - row["retained_fen"]),
                source_row=int(row["source_row"])))
    elif kind == "clearing_items":
        frame = rows.assign(
            statement_id=rows["statement_no"].map(lambda n: statements[n].id),
            insurance_type=rows["statement_no"].map(lambda n: statements[n].insurance_type),
            month=period, status="open")
        bulk_insert(session, ClearingItem, frame)
    else:
        bulk_insert(session, _TABLES[kind], rows.assign(import_id=record.id))
    record_audit(session, actor=actor, action="insurance.import", subject_type="ins_import",
                 subject_id=record.id, details={"kind": kind, "period": period, "file": file, "rows": len(rows),
                                                "sha256": read.fingerprint})
    return record


def _supersede(session: Session, previous: InsuranceImport) -> None:
    if previous.kind in _TABLES:
        table = _TABLES[previous.kind]
        session.execute(delete(table).where(table.import_id == previous.id))  # type: ignore[attr-defined]
    elif previous.kind in ("clearing", "clearing_items"):
        month = previous.period
        batched = session.exec(select(ClearingItem).where(ClearingItem.month == month,
                                                          col(ClearingItem.appeal_batch_id).is_not(None))).first()
        if batched is not None:
            raise _refuse(previous.file_name, f"the clearing of {month} has items in appeal batches; a corrected "
                          "statement needs the appeals closed first")
        session.execute(delete(ClearingItem).where(col(ClearingItem.month) == month))
        if previous.kind == "clearing":
            session.execute(delete(ClearingStatement).where(col(ClearingStatement.month) == month))
            items = current_import(session, "clearing_items", month)
            if items is not None:
                items.status = "superseded"
    previous.status = "superseded"
    session.flush()


# ----------------------------------------------------------------------------------------------- loading

def table_frame(session: Session, table: type[SQLModel], *where: Any) -> pd.DataFrame:
    sa_table = table.__table__  # type: ignore[attr-defined]
    result = session.execute(sa_table.select().where(*where))
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def day_inputs(session: Session, day: date) -> dict[str, pd.DataFrame]:
    """The stored HIS, platform and platform-total rows of ``day`` (empty frames when a file is missing)."""
    return {kind: table_frame(session, _TABLES[kind], _TABLES[kind].settled_on == day)  # type: ignore[attr-defined]
            for kind in DAY_KINDS}


def earlier_settlements(session: Session, day: date, ids: Sequence[str]) -> pd.DataFrame:
    """HIS settlements of days before ``day`` among ``ids`` (originals of today's reversals, repeats)."""
    frames = []
    for start in range(0, len(ids), 1_000):
        frames.append(table_frame(session, HisSettlement, HisSettlement.settled_on < day,
                             col(HisSettlement.settlement_id).in_(list(ids[start:start + 1_000]))))
    if not frames:
        return pd.DataFrame(columns=["settlement_id", *FEN])
    return pd.concat(frames, ignore_index=True)


# -------------------------------------------------------------------------------------------------- runs

def exception_key(etype: str, *parts: object) -> str:
    """sha256 of an exception's type and references: the same exception keeps its key across reruns."""
    return hashlib.sha256("|".join([etype, *("" if p is None else str(p) for p in parts)]).encode()).hexdigest()


def open_run(session: Session, kind: str, hospital: str, period: str, actor: str) -> InsuranceRun:
    """The period's run row, created or restarted (``run_count`` counts the attempts)."""
    run = session.exec(select(InsuranceRun).where(InsuranceRun.kind == kind, InsuranceRun.hospital == hospital,
                                                  InsuranceRun.period == period)).first()
    if run is None:
        run = InsuranceRun(kind=kind, hospital=hospital, period=period, status=RunStatus.NO_DATA, actor=actor)
        session.add(run)
    else:
        run.run_count += 1
        run.started_at = utc_now()
        run.actor = actor
    session.flush()
    return run


def save_exceptions(session: Session, run: InsuranceRun, exceptions: pd.DataFrame) -> int:
    """Replace the run's pending exceptions with ``exceptions``; resolved ones (same key) are kept as they are."""
    assert run.id is not None
    kept = set(session.exec(select(InsuranceException.exception_key).where(
        InsuranceException.run_id == run.id, InsuranceException.status != "pending")))
    session.execute(delete(InsuranceException).where(col(InsuranceException.run_id) == run.id,
                                                     col(InsuranceException.status) == "pending"))
    frame = exceptions.copy()
    frame["exception_key"] = [exception_key(t, s, k, c) for t, s, k, c in frame[
        ["type", "settlement_id", "insurance_type", "component"]].itertuples(index=False)]
    frame = frame.drop_duplicates("exception_key")
    frame = frame[~frame["exception_key"].isin(kept)]
    frame = frame.assign(run_id=run.id, status="pending")
    frame["component"] = frame["component"].where(frame["component"].notna() & (frame["component"] != ""), None)
    bulk_insert(session, InsuranceException, frame)
    return len(frame) + len(kept)


def finish_run(session: Session, run: InsuranceRun, *, status: RunStatus, inputs: dict[str, str],
               summary: dict[str, int], exception_count: int) -> InsuranceRun:
    """Close the run with its status; the audit log keeps each attempt."""
    run.status = status
    run.inputs = inputs
    run.summary = summary
    run.exception_count = exception_count
    run.finished_at = utc_now()
    session.add(run)
    record_audit(session, actor=run.actor, action=f"insurance.{run.kind}", subject_type="ins_run",
                 subject_id=run.id or 0, details={"period": run.period, "status": status.value, **summary})
    return run


def record_refusal(session: Session, kind: str, hospital: str, period: str, actor: str,
                   refusals: dict[str, str]) -> InsuranceRun:
    """A period whose inputs were refused: a ``refused`` run with one ``input_refused`` exception per file."""
    run = open_run(session, kind, hospital, period, actor)
    frame = pd.DataFrame({"type": "input_refused", "settlement_id": [f[:ID_MAX] for f in refusals],
                          "insurance_type": None, "component": None, "his_fen": None, "other_fen": None,
                          "detail": [f"{f}: {why}" for f, why in refusals.items()]})
    count = save_exceptions(session, run, frame)
    return finish_run(session, run, status=RunStatus.REFUSED, inputs={}, summary={"refused_files": len(refusals)},
                      exception_count=count)


def save_daily(session: Session, run: InsuranceRun, result: DailyResult, inputs: dict[str, str]) -> InsuranceRun:
    """Store a day's result in its run."""
    count = save_exceptions(session, run, result.exceptions)
    status = RunStatus.EXCEPTIONS if count else RunStatus.RECONCILED
    return finish_run(session, run, status=status, inputs=inputs, summary=result.summary, exception_count=count)


def run_exceptions(session: Session, run_id: int) -> pd.DataFrame:
    """A run's exceptions as a frame (reports, the CLI, tests)."""
    return table_frame(session, InsuranceException, InsuranceException.run_id == run_id)
