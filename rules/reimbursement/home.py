"""A business trip starts from the hospital's city and comes back to it (trip back home).

With the hospital's city set (``SMARTFIN_HOSPITAL_CITY``), the claim's tickets, in departure order, must
leave from that city and the last one arrive back in it; a chain that starts or ends elsewhere (a private
detour, a ticket of someone else's trip) goes to review with what the tickets show. A one-way trip (the
claim says so: the traveller moves on, or comes back by car) needs only the start. Unset, nothing is checked.
"""

from __future__ import annotations

from collections.abc import Sequence

from rules.reimbursement.trips import TripLeg, in_order
from smartfin.kernel.findings import Finding, Severity

HOME_CODES = frozenset({"TRIP_NOT_FROM_HOME", "TRIP_NOT_BACK_HOME"})


def home_city_name(city: str | None) -> str | None:
    """The city as the station tables name it: 杭州市 → 杭州; blank → None."""
    name = (city or "").strip().removesuffix("市")
    return name or None


def check_home_trip(legs: Sequence[TripLeg], home_city: str | None, *, one_way: bool = False) -> list[Finding]:
    """The ticket chain leaves from the hospital's city and (unless one-way) returns to it."""
    home = home_city_name(home_city)
    ordered = [leg for leg in in_order(legs) if leg.departure_date is not None]
    if home is None or not ordered:
        return []
    out: list[Finding] = []
    first, last = ordered[0], ordered[-1]
    if first.from_city and first.from_city != home:
        out.append(Finding(
            "TRIP_NOT_FROM_HOME", Severity.WARN,
            f"行程未从本院所在地{home}出发：第 {first.position + 1} 张票 {first.carrier_no or ''} "
            f"从{first.from_city}出发 / "
            f"the trip does not start from the hospital's city {home}: ticket {first.position + 1} "
            f"{first.carrier_no or ''} leaves from {first.from_city}",
            evidence={"home": home, "leaves": first.from_city, "carrier_no": first.carrier_no}, field="travel",
            invoice=first.position))
    if not one_way and last.to_city and last.to_city != home:
        out.append(Finding(
            "TRIP_NOT_BACK_HOME", Severity.WARN,
            f"行程未返回本院所在地{home}：最后一张票 {last.carrier_no or ''} 到达{last.to_city}；"
            "单程出差请在报销单注明 / "
            f"the trip does not return to the hospital's city {home}: the last ticket {last.carrier_no or ''} "
            f"arrives in {last.to_city}; mark the claim one-way if the traveller did not come back by ticket",
            evidence={"home": home, "arrives": last.to_city, "carrier_no": last.carrier_no}, field="travel",
            invoice=last.position))
    return out
