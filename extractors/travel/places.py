"""From a station or airport as printed to the city it serves, for trip and lodging checks.

Rail stations are named after their city plus a direction (北京南, 杭州东) or a district (上海虹桥); airports
after their city plus the airport's name (上海浦东, 成都天府), or the airport name alone on some itineraries
(首都, 双流). The longest known city at the start of the name wins; an airport name alone is looked up in
``places.csv``. Both tables are data, so a new station or airport needs no code.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

_HERE = Path(__file__).parent


@lru_cache(maxsize=1)
def _cities() -> dict[str, str]:
    with open(_HERE / "cities.csv", encoding="utf-8", newline="") as handle:
        return {row["city"].strip(): row["province"].strip() for row in csv.DictReader(handle)}


@lru_cache(maxsize=1)
def _places() -> dict[str, str]:
    with open(_HERE / "places.csv", encoding="utf-8", newline="") as handle:
        return {row["place"].strip(): row["city"].strip() for row in csv.DictReader(handle)}


def city_of(place: str | None) -> str | None:
    """The city a station or airport lies in; an unknown name stands for itself (without 站/机场)."""
    if not place:
        return None
    name = place.strip().removesuffix("站").removesuffix("国际机场").removesuffix("机场")
    for city in sorted(_cities(), key=len, reverse=True):
        if name.startswith(city):
            return city
    for airport, city in _places().items():
        if name.startswith(airport):
            return city
    # an unlisted station: drop the direction suffix (南宁 stays, 襄阳东 → 襄阳)
    if len(name) > 2 and name[-1] in "东南西北":
        return name[:-1]
    return name


def province_of(city: str | None) -> str | None:
    """The province of a listed city (for the travel allowance region), else None."""
    return _cities().get(city or "")
