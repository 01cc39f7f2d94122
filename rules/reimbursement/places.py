"""Which city a rail station or an airport serves, from dated tables: the cities the trip rules compare.

``standards/stations.csv`` lists the main stations of every provincial capital and prefecture-level city
(name as printed on the ticket, city, province) and ``standards/airports.csv`` every mainland civil airport
with scheduled service (IATA code, name as printed on itineraries, city, province); each row is in force from
``effective_from`` (a new airport's opening day) to ``effective_to`` (closed or renamed). Names and codes are
facts, so a new station or airport is a row, not code.

The ticket readers guess a city from the printed name so that a ticket is usable at once; the audit takes
the table's city instead, and a station or airport the table does not know is named in a finding and the
claim goes to review: the lodging cap and the trip checks depend on the city, and a guess is not a fact.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from pathlib import Path

from rules.reimbursement.standards import STANDARDS_DIR, StandardsError
from rules.reimbursement.trips import AIR, RAIL, TripLeg
from smartfin.kernel.findings import Finding, Severity

_TERMINAL = re.compile(r"(?:T\d|[A-Z]{3})+$")


@dataclass(frozen=True)
class Place:
    """One station or airport and the city it serves, in force between two dates."""

    mode: str  # rail | air
    name: str
    code: str  # IATA code of an airport; '' for a station
    city: str
    province: str
    effective_from: date
    effective_to: date | None

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)


def _read(path: Path, mode: str) -> list[Place]:
    out = []
    with open(path, encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            try:
                start = date.fromisoformat(row["effective_from"].strip())
                end = (row.get("effective_to") or "").strip()
                out.append(Place(mode, row["name"].strip(), (row.get("iata") or "").strip(), row["city"].strip(),
                                 row["province"].strip(), start, date.fromisoformat(end) if end else None))
            except (KeyError, ValueError, AttributeError) as exc:
                raise StandardsError(f"{path.name} row {number}: {exc}") from None
    return out


@lru_cache(maxsize=4)
def load_places(folder: Path = STANDARDS_DIR) -> tuple[Place, ...]:
    """Every station and airport row of the tables (read once per folder)."""
    return tuple(_read(folder / "stations.csv", RAIL) + _read(folder / "airports.csv", AIR))


def printed_name(text: str) -> str:
    """The name as the tables hold it: without 站 / (国际)机场, a terminal (T2) or a trailing IATA code."""
    name = re.sub(r"\s+", "", text)
    name = _TERMINAL.sub("", name)
    return name.removesuffix("站").removesuffix("国际机场").removesuffix("机场")


def find_place(printed: str | None, mode: str, on: date, folder: Path = STANDARDS_DIR) -> Place | None:
    """The station or airport a ticket prints, in force on ``on``; None when the tables do not know it.

    An airport is also found by its IATA code, or by its own name without the city (首都, 双流) when only
    one airport has that name.
    """
    if not printed:
        return None
    name = printed_name(printed)
    code = re.search(r"([A-Z]{3})$", printed.strip())
    rows = [p for p in load_places(folder) if p.mode == mode and p.in_force(on)]
    exact = [p for p in rows if name and p.name == name]
    if exact or mode != AIR:
        return exact[0] if exact else None
    by_code = [p for p in rows if code and p.code == code.group(1)]
    if by_code:
        return by_code[0]
    by_own_name = [p for p in rows if len(name) >= 2 and p.name.endswith(name)]
    return by_own_name[0] if len(by_own_name) == 1 else None


def with_table_cities(leg: TripLeg, folder: Path = STANDARDS_DIR) -> TripLeg:
    """The leg with the table's cities for the places it knows (the reader's guess stays for the others)."""
    on = leg.departure_date or date.max
    origin = find_place(leg.from_place, leg.mode, on, folder)
    destination = find_place(leg.to_place, leg.mode, on, folder)
    return replace(leg, from_city=origin.city if origin else leg.from_city,
                   to_city=destination.city if destination else leg.to_city)


def unknown_places(legs: list[TripLeg], folder: Path = STANDARDS_DIR) -> list[Finding]:
    """A finding per station or airport of the tickets that the tables do not know (review, never a crash)."""
    out = []
    for leg in legs:
        on = leg.departure_date or date.max
        for printed in (leg.from_place, leg.to_place):
            if printed is None or find_place(printed, leg.mode, on, folder) is not None:
                continue
            what, table = ("车站", "stations.csv") if leg.mode == RAIL else ("机场", "airports.csv")
            out.append(Finding(
                "TRIP_PLACE_UNKNOWN", Severity.WARN,
                f"第 {leg.position + 1} 张票 {leg.carrier_no or ''} 的{what}“{printed}”不在站点/机场表中，"
                "城市无法确认 / "
                f"ticket {leg.position + 1} {leg.carrier_no or ''}: the {'station' if leg.mode == RAIL else 'airport'} "
                f"{printed!r} is not in {table}; its city cannot be confirmed, check it (and add the row)",
                evidence={"place": printed, "mode": leg.mode, "carrier_no": leg.carrier_no}, field="travel",
                invoice=leg.position))
    return out
