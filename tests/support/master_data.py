"""Department master data left as each test found it in the suite's shared database.

Once any department is loaded, spending requests, claims, proposals, budget imports and adjustments refuse
departments the master data does not know: one test loading its departments would refuse every later test's
made-up codes (and a recorded department head would scope every later test's dept-head steps). The integration
and security suites share one database, so each of their tests removes the department versions and department
roles it added (and only those).
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlmodel import col, select

from smartfin.ledger import Department
from smartfin.ledger.department_roles import DepartmentRole
from smartfin.store.db import session_scope


def restoring_master_data() -> Iterator[None]:
    """Generator body of an autouse fixture: note the department versions there are, run the test, delete
    the versions it added."""
    with session_scope() as session:
        before = set(session.exec(select(Department.id)).all())
        roles_before = set(session.exec(select(DepartmentRole.id)).all())
    yield
    with session_scope() as session:
        added = session.exec(select(Department).where(col(Department.id).not_in(before))).all()
        for row in added:
            session.delete(row)
        # department heads too: once any is recorded, every later test's dept-head steps would be scoped
        for role in session.exec(select(DepartmentRole).where(col(DepartmentRole.id).not_in(roles_before))).all():
            session.delete(role)
