"""Department master data (科室/部门主数据): the hospital's departments by code, with their names in force on a date.

Budget lines, requests, claims and proposals carry a department *code* (``CARD``); people read names
(心血管内科). This table gives each code its Chinese name, an optional English name, its class under the
national cost accounting rules for public hospitals (临床服务类, 医疗技术类, 医疗辅助类, 行政后勤类 — the order
of the step-down allocation) and its parent in the department tree.

Rows are *versions*: a renaming or reorganisation closes one version (``valid_to``, the last day it is in
force) and opens the next (``valid_from``), so a report on an earlier date still shows the name in force
then. Versions of one code never overlap; the import (``smartfin.ledger.department_import``) keeps it so.

Until a hospital loads its departments, every code is accepted as before (``master_data_loaded`` is
false) and names fall back to the code, so nothing breaks for a hospital that has not set them up yet.
Once any department is loaded, a code that is unknown or not in force on the day is refused — at budget
import and when a request is submitted (``department_problem``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, select

from smartfin.kernel.clock import utc_now
from smartfin.store.audit import UtcDateTime

CODE_MAX = 32  # the department column of budget lines and documents
NAME_MAX = 100
NAME_EN_MAX = 200


class DepartmentClass(StrEnum):
    """成本核算科室类别: the four classes of cost centres in the national cost accounting rules (2021)."""

    CLINICAL = "clinical"                      # 临床服务类
    MEDICAL_TECHNICAL = "medical-technical"    # 医疗技术类 (radiology, laboratory …)
    MEDICAL_AUXILIARY = "medical-auxiliary"    # 医疗辅助类 (sterile supply, laundry, admissions …)
    ADMINISTRATIVE = "administrative"          # 行政后勤类

    @property
    def label(self) -> str:
        """The class as the rules name it, Chinese first."""
        return CLASS_LABELS[self]


CLASS_LABELS: dict[DepartmentClass, str] = {
    DepartmentClass.CLINICAL: "临床服务类 clinical",
    DepartmentClass.MEDICAL_TECHNICAL: "医疗技术类 medical technical",
    DepartmentClass.MEDICAL_AUXILIARY: "医疗辅助类 medical auxiliary",
    DepartmentClass.ADMINISTRATIVE: "行政后勤类 administrative and logistics",
}
CLASS_ALIASES: dict[str, DepartmentClass] = {
    **{c.value: c for c in DepartmentClass},
    "临床服务类": DepartmentClass.CLINICAL, "临床服务": DepartmentClass.CLINICAL, "临床": DepartmentClass.CLINICAL,
    "临床类": DepartmentClass.CLINICAL,
    "医疗技术类": DepartmentClass.MEDICAL_TECHNICAL, "医疗技术": DepartmentClass.MEDICAL_TECHNICAL,
    "医技": DepartmentClass.MEDICAL_TECHNICAL, "医技类": DepartmentClass.MEDICAL_TECHNICAL,
    "medical technical": DepartmentClass.MEDICAL_TECHNICAL,
    "医疗辅助类": DepartmentClass.MEDICAL_AUXILIARY, "医疗辅助": DepartmentClass.MEDICAL_AUXILIARY,
    "医辅": DepartmentClass.MEDICAL_AUXILIARY, "医辅类": DepartmentClass.MEDICAL_AUXILIARY,
    "medical auxiliary": DepartmentClass.MEDICAL_AUXILIARY,
    "行政后勤类": DepartmentClass.ADMINISTRATIVE, "行政后勤": DepartmentClass.ADMINISTRATIVE,
    "行政": DepartmentClass.ADMINISTRATIVE, "后勤": DepartmentClass.ADMINISTRATIVE,
    "管理": DepartmentClass.ADMINISTRATIVE, "行政管理": DepartmentClass.ADMINISTRATIVE,
    "administration": DepartmentClass.ADMINISTRATIVE, "administrative and logistics": DepartmentClass.ADMINISTRATIVE,
}


def parse_department_class(value: object) -> DepartmentClass:
    """``clinical``/``临床服务类``/``临床`` … to the enum; ``ValueError`` naming the accepted values otherwise."""
    text = unicodedata.normalize("NFKC", str(value or "")).strip().lower().replace("_", "-")
    found = CLASS_ALIASES.get(text) or CLASS_ALIASES.get(text.replace("-", " "))
    if found is None:
        raise ValueError(f"is unknown (use {', '.join(c.value for c in DepartmentClass)} / "
                         f"临床服务类, 医疗技术类, 医疗辅助类, 行政后勤类; got {value!r})")
    return found


class Department(SQLModel, table=True):
    """One version of a department: what the code is called and where it sits from ``valid_from`` to
    ``valid_to`` (both days included; None = still in force)."""

    __tablename__ = "department"
    __table_args__ = (UniqueConstraint("code", "valid_from", name="uq_department_version"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=CODE_MAX, index=True)
    name: str = Field(max_length=NAME_MAX)
    name_en: str = Field(default="", max_length=NAME_EN_MAX)
    department_class: str = Field(max_length=20)
    parent_code: str | None = Field(default=None, max_length=CODE_MAX)
    valid_from: date
    valid_to: date | None = None
    created_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))
    created_by: str = Field(default="", max_length=64)

    def in_force(self, on: date) -> bool:
        """Whether this version is the department's on ``on``."""
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)

    @property
    def period(self) -> str:
        """``2024-01-01 – 2026-06-30`` or ``2024-01-01 –`` (still in force): for messages and listings."""
        return f"{self.valid_from} – {self.valid_to or ''}".rstrip()

    @property
    def class_label(self) -> str:
        """The department's cost-centre class as the rules name it (临床服务类 clinical …)."""
        return DepartmentClass(self.department_class).label


class DepartmentNames(dict[str, str]):
    """Department names by code; a code without master data gives itself back, so callers never break."""

    def __missing__(self, code: str) -> str:
        return code


# ------------------------------------------------------------------------------------------ lookups

def master_data_loaded(session: Session) -> bool:
    """Whether the hospital has loaded any department: from then on, unknown codes are refused."""
    return session.exec(select(Department.id).limit(1)).first() is not None


def versions_of(session: Session, code: str) -> list[Department]:
    """Every version of one department, oldest first."""
    return list(session.exec(select(Department).where(Department.code == code)
                             .order_by(col(Department.valid_from))).all())


def department_on(session: Session, code: str, on: date) -> Department | None:
    """The version of ``code`` in force on ``on``; None when the code is unknown or not in force that day."""
    return next((v for v in versions_of(session, code) if v.in_force(on)), None)


def departments_on(session: Session, on: date) -> list[Department]:
    """Every department in force on ``on``, by code."""
    rows = session.exec(select(Department).where(
        Department.valid_from <= on, (col(Department.valid_to).is_(None)) | (Department.valid_to >= on))
        .order_by(col(Department.code))).all()
    return list(rows)


def _name_on(versions: Iterable[Department], on: date) -> str | None:
    """The name in force on ``on``; for a department closed by then, the last name it had; else None."""
    earlier = [v for v in versions if v.valid_from <= on]
    if not earlier:
        return None
    return max(earlier, key=lambda v: v.valid_from).name


def department_name(session: Session, code: str, on: date) -> str:
    """The department's name in force on ``on`` — what reports, forms and listings show beside the code.

    A department closed by then shows the last name it had; a code without master data shows itself, so
    a hospital that has not loaded its departments sees codes as before.
    """
    return _name_on(versions_of(session, code), on) or code


def department_names(session: Session, on: date) -> DepartmentNames:
    """Every department's name on ``on`` (as ``department_name``), in one query: for reports of many rows.

    Looking up a code without master data gives the code itself.
    """
    by_code: dict[str, list[Department]] = {}
    for version in session.exec(select(Department)).all():
        by_code.setdefault(version.code, []).append(version)
    names = DepartmentNames()
    for code, versions in by_code.items():
        name = _name_on(versions, on)
        if name is not None:
            names[code] = name
    return names


# --------------------------------------------------------------------------------------- validation

def department_problem(session: Session, code: str, on: date) -> str | None:
    """Why a document may not be booked to ``code`` on ``on`` (None: it may).

    Before any master data is loaded every code may be used; afterwards only a department in force that day.
    """
    if not master_data_loaded(session) or department_on(session, code, on) is not None:
        return None
    return f"科室 {code} 不存在或已停用 / department {code} is unknown or not active on {on.isoformat()}"


def department_problem_during(session: Session, code: str, first_day: date, last_day: date) -> str | None:
    """Why a budget line from ``first_day`` to ``last_day`` may not belong to ``code`` (None: it may).

    The department must be in force on at least one day of the period (a department closed mid-year still
    had its budget for the months before); before any master data is loaded every code may be used.
    """
    if not master_data_loaded(session):
        return None
    if any(v.valid_from <= last_day and (v.valid_to is None or v.valid_to >= first_day)
           for v in versions_of(session, code)):
        return None
    return (f"科室 {code} 不存在或在 {first_day.isoformat()} 至 {last_day.isoformat()} 期间未启用 / department "
            f"{code} is unknown or not active between {first_day.isoformat()} and {last_day.isoformat()}")
