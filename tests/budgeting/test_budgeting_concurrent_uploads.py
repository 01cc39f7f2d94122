"""Departments upload at the same moment (SQLite and PostgreSQL): every upload is stored as its own revision and
exactly one draft per department and round is current."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from smartfin.budgeting.drafts import upload_draft
from smartfin.budgeting.rounds import open_round
from smartfin.budgeting.tables import BudgetDraft
from smartfin.budgeting.workbook import template_workbook
from smartfin.ledger.keys import FundingSource as F
from smartfin.store.db import session_scope
from tests.budgeting.workbooks import fill

UPLOADS = 6   # three departments, two different workbooks each


def test_simultaneous_uploads_keep_one_current_draft_per_department(engine: Engine) -> None:
    with session_scope(engine) as session:
        open_round(session, 2027, guidance="g", first_deadline=date(2026, 10, 15),
                   second_deadline=date(2026, 11, 30), template_version="2027.1", actor="finance")
    with Session(engine) as session:
        files = [(d, fill(template_workbook(session, 2027, d), {("30201", F.FISCAL): 100 + n}))
                 for d in ("CARD", "RADI", "FIN") for n in (1, 2)]
    barrier = threading.Barrier(UPLOADS, timeout=60)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def upload(department: str, data: bytes) -> None:
        barrier.wait()
        try:
            with session_scope(engine) as session:
                upload_draft(session, data, filename=f"{department}.xlsx", uploaded_by="head",
                             department=department)
            outcome = "stored"
        except Exception as exc:  # reported by the assertion below
            outcome = f"error: {type(exc).__name__}: {exc}"
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=upload, args=pair) for pair in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert outcomes == Counter({"stored": UPLOADS})
    with Session(engine) as session:
        drafts = session.exec(select(BudgetDraft)).all()
    by_department: dict[str, list[tuple[int, str]]] = {}
    for draft in drafts:
        by_department.setdefault(draft.department, []).append((draft.revision, draft.status))
    assert {d: sorted(rows) for d, rows in by_department.items()} == {
        d: [(1, "replaced"), (2, "current")] for d in ("CARD", "RADI", "FIN")}
