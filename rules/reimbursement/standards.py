"""Reimbursement standards as versioned data: each row of ``standards/*.csv`` has effective dates.

Finance changes a cap or a limit by adding a row that starts on the day the new rule applies (and ending
the old one), never by editing code; a claim is always judged by the standards in force on its date.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

STANDARDS_DIR = Path(__file__).with_name("standards")
GRADES = ("general", "senior", "minister")  # 其他人员 / 司局级 / 部级


class StandardsError(ValueError):
    """A standards table that cannot be used (bad row, no row in force); names the file and row."""


@dataclass(frozen=True)
class _Dated:
    effective_from: date
    effective_to: date | None

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)


@dataclass(frozen=True)
class TravelAllowance(_Dated):
    """Flat meal and city-transport allowance per person per calendar day for a group of provinces."""

    region: str
    provinces: frozenset[str]
    meal_per_day: Decimal
    transport_per_day: Decimal


@dataclass(frozen=True)
class LodgingCap(_Dated):
    """Lodging cap per night for a staff grade in a city ("*" = any other city), with its peak season."""

    city: str
    grade: str
    cap_per_night: Decimal
    peak_cap_per_night: Decimal | None
    peak_months: frozenset[int]

    def cap_in(self, month: int) -> Decimal:
        if self.peak_cap_per_night is not None and month in self.peak_months:
            return self.peak_cap_per_night
        return self.cap_per_night


@dataclass(frozen=True)
class AttachmentRule(_Dated):
    """From ``min_amount`` on, a claim of these categories must name ``requirement`` (e.g. a contract)."""

    categories: frozenset[str]
    min_amount: Decimal
    requirement: str
    label: str


@dataclass(frozen=True)
class TransportClass(_Dated):
    """The seat or cabin classes (``extractors.travel.CabinClass`` values) a grade may travel in by rail or air."""

    grade: str
    mode: str  # rail | air
    classes: frozenset[str]


@dataclass(frozen=True)
class PersonalTitleRule(_Dated):
    """Invoices of these categories may carry a person as buyer (no tax id), up to ``max_amount`` when set."""

    categories: frozenset[str]
    max_amount: Decimal | None
    note: str


@dataclass(frozen=True)
class Limit(_Dated):
    name: str
    value: Decimal


@dataclass(frozen=True)
class Standards:
    """Everything the audit rules need, as in force on ``on``."""

    on: date
    allowances: tuple[TravelAllowance, ...]
    lodging: tuple[LodgingCap, ...]
    attachments: tuple[AttachmentRule, ...]
    limits: dict[str, Decimal]
    transport: tuple[TransportClass, ...] = ()
    personal_titles: tuple[PersonalTitleRule, ...] = ()

    def allowed_classes(self, grade: str, mode: str) -> frozenset[str]:
        """The classes a grade may book by ``rail`` or ``air``; unknown grades and missing rows are errors."""
        if grade not in GRADES:
            raise StandardsError(f"grade {grade!r} is unknown (use one of {', '.join(GRADES)})")
        for row in self.transport:
            if row.grade == grade and row.mode == mode:
                return row.classes
        raise StandardsError(f"transport_classes.csv: no row for {grade} by {mode} in force on {self.on}")

    def personal_title_allowed(self, category: str, amount: Decimal | None) -> bool:
        """Whether an invoice of this category and amount may be titled to a person (buyer_titles.csv)."""
        return any(category in rule.categories and (rule.max_amount is None or (amount is not None
                   and amount <= rule.max_amount)) for rule in self.personal_titles)

    def limit(self, name: str) -> Decimal:
        try:
            return self.limits[name]
        except KeyError:
            raise StandardsError(f"limits.csv: no row for {name!r} in force on {self.on}") from None

    def allowance_for(self, province: str) -> TravelAllowance:
        """The allowance row for a destination province (the default row when none names it)."""
        fallback = None
        for row in self.allowances:
            if province and province in row.provinces:
                return row
            if not row.provinces:
                fallback = row
        if fallback is None:
            raise StandardsError(f"travel_allowances.csv: no default row in force on {self.on}")
        return fallback

    def lodging_cap(self, city: str, grade: str, month: int) -> Decimal:
        """The cap per night for a grade in a city in a month; unknown grades are an error."""
        if grade not in GRADES:
            raise StandardsError(f"grade {grade!r} is unknown (use one of {', '.join(GRADES)})")
        default = None
        for row in self.lodging:
            if row.grade != grade:
                continue
            if row.city == city:
                return row.cap_in(month)
            if row.city == "*":
                default = row
        if default is None:
            raise StandardsError(f"lodging_caps.csv: no row for grade {grade} in force on {self.on}")
        return default.cap_in(month)


def _dates(path: Path, number: int, row: dict[str, str]) -> tuple[date, date | None]:
    try:
        start = date.fromisoformat(row["effective_from"].strip())
        end_text = (row.get("effective_to") or "").strip()
        return start, date.fromisoformat(end_text) if end_text else None
    except (KeyError, ValueError) as exc:
        raise StandardsError(f"{path.name} row {number}: bad effective dates ({exc})") from None


def _rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return [(number, row) for number, row in enumerate(csv.DictReader(handle), start=2)]


@lru_cache(maxsize=4)
def load_tables(folder: Path = STANDARDS_DIR) -> tuple[tuple[object, ...], ...]:
    """Every row of every table, parsed once (all effective periods)."""
    try:
        allowances = tuple(
            TravelAllowance(*_dates(folder / "travel_allowances.csv", n, r), region=r["region"].strip(),
                            provinces=frozenset(r["provinces"].split()), meal_per_day=Decimal(r["meal_per_day"]),
                            transport_per_day=Decimal(r["transport_per_day"]))
            for n, r in _rows(folder / "travel_allowances.csv"))
        lodging = tuple(
            LodgingCap(*_dates(folder / "lodging_caps.csv", n, r), city=r["city"].strip(), grade=r["grade"].strip(),
                       cap_per_night=Decimal(r["cap_per_night"]),
                       peak_cap_per_night=Decimal(r["peak_cap_per_night"]) if r["peak_cap_per_night"] else None,
                       peak_months=frozenset(int(m) for m in r["peak_months"].split()))
            for n, r in _rows(folder / "lodging_caps.csv"))
        attachments = tuple(
            AttachmentRule(*_dates(folder / "attachments.csv", n, r), categories=frozenset(r["categories"].split()),
                           min_amount=Decimal(r["min_amount"]), requirement=r["requirement"].strip(),
                           label=r["label"].strip())
            for n, r in _rows(folder / "attachments.csv"))
        titles = tuple(
            PersonalTitleRule(*_dates(folder / "buyer_titles.csv", n, r), categories=frozenset(r["categories"].split()),
                              max_amount=Decimal(r["max_amount"]) if r["max_amount"].strip() else None,
                              note=r["note"].strip())
            for n, r in _rows(folder / "buyer_titles.csv"))
        limits = tuple(Limit(*_dates(folder / "limits.csv", n, r), name=r["name"].strip(), value=Decimal(r["value"]))
                       for n, r in _rows(folder / "limits.csv"))
    except (ArithmeticError, KeyError, ValueError) as exc:
        if isinstance(exc, StandardsError):
            raise
        raise StandardsError(f"{folder}: a standards table has a malformed value ({exc!r})") from None
    return allowances, lodging, attachments, limits, titles


@lru_cache(maxsize=4)
def load_transport_classes(folder: Path = STANDARDS_DIR) -> tuple[TransportClass, ...]:
    """Every row of ``transport_classes.csv`` (all effective periods); a bad row names file and row."""
    path = folder / "transport_classes.csv"
    rows = []
    for number, row in _rows(path):
        mode = (row.get("mode") or "").strip()
        if mode not in ("rail", "air"):
            raise StandardsError(f"{path.name} row {number}: mode {mode!r} must be rail or air")
        rows.append(TransportClass(*_dates(path, number, row), grade=(row.get("grade") or "").strip(), mode=mode,
                                   classes=frozenset((row.get("classes") or "").split())))
    return tuple(rows)


def standards_on(on: date, folder: Path = STANDARDS_DIR) -> Standards:
    """The standards in force on a date (the claim's submission date)."""
    allowances, lodging, attachments, limits, titles = load_tables(folder)
    transport = load_transport_classes(folder)
    return Standards(
        on=on,
        allowances=tuple(r for r in allowances if r.in_force(on)),  # type: ignore[attr-defined]
        lodging=tuple(r for r in lodging if r.in_force(on)),  # type: ignore[attr-defined]
        attachments=tuple(r for r in attachments if r.in_force(on)),  # type: ignore[attr-defined]
        limits={r.name: r.value for r in limits if r.in_force(on)},  # type: ignore[attr-defined]
        transport=tuple(r for r in transport if r.in_force(on)),
        personal_titles=tuple(r for r in titles if r.in_force(on)),  # type: ignore[attr-defined,misc]
    )
