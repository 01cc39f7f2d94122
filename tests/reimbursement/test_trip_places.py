"""Stations and airports → cities from the dated tables: coverage, lookups, unknown places to review."""

from __future__ import annotations

import shutil
from datetime import date, time
from decimal import Decimal
from pathlib import Path

import pytest

from rules.reimbursement import ClaimFacts, InvoiceFacts, TravelFacts, TripLeg, audit_claim, needs_review, standards_on
from rules.reimbursement.places import find_place, load_places
from rules.reimbursement.standards import STANDARDS_DIR, StandardsError
from tests.support.travel_samples import _AIRPORTS, _STATIONS

ON = date(2026, 8, 10)
DAY = date(2026, 7, 6)
CAPITALS = {"北京": "北京", "上海": "上海", "天津": "天津", "重庆": "重庆", "河北": "石家庄", "山西": "太原",
            "内蒙古": "呼和浩特", "辽宁": "沈阳", "吉林": "长春", "黑龙江": "哈尔滨", "江苏": "南京", "浙江": "杭州",
            "安徽": "合肥", "福建": "福州", "江西": "南昌", "山东": "济南", "河南": "郑州", "湖北": "武汉",
            "湖南": "长沙", "广东": "广州", "广西": "南宁", "海南": "海口", "四川": "成都", "贵州": "贵阳",
            "云南": "昆明", "西藏": "拉萨", "陕西": "西安", "甘肃": "兰州", "青海": "西宁", "宁夏": "银川",
            "新疆": "乌鲁木齐"}


def test_the_tables_cover_every_capital_and_hundreds_of_stations_and_airports() -> None:
    places = load_places()
    stations = [p for p in places if p.mode == "rail"]
    airports = [p for p in places if p.mode == "air"]
    assert len(stations) >= 300 and len({p.city for p in stations}) >= 300 and len(airports) >= 230
    assert {p.province for p in places} == set(CAPITALS)
    for province, capital in CAPITALS.items():
        assert any(p.city == capital and p.province == province for p in stations), capital
        assert any(p.city == capital and p.province == province for p in airports), capital
    codes = [p.code for p in airports]
    assert len(set(codes)) == len(codes) and all(len(c) == 3 and c.isupper() for c in codes)
    assert len({p.name for p in stations}) == len(stations)


def test_every_place_the_ticket_readers_meet_in_the_corpus_is_known() -> None:
    for station, city in _STATIONS:
        assert find_place(station + "站", "rail", DAY).city == city  # type: ignore[union-attr]
    for airport, code, city in _AIRPORTS:
        assert find_place(airport, "air", DAY).city == city  # type: ignore[union-attr]
        assert find_place(code, "air", DAY).city == city  # type: ignore[union-attr]


@pytest.mark.parametrize(("printed", "mode", "city"), [
    ("福田", "rail", "深圳"), ("汉口站", "rail", "武汉"), ("曲阜东", "rail", "济宁"), ("首都", "air", "北京"),
    ("北京首都T3", "air", "北京"), ("双流", "air", "成都"), ("潮汕", "rail", "潮州"), ("揭阳潮汕", "air", "揭阳"),
])
def test_names_as_tickets_print_them(printed: str, mode: str, city: str) -> None:
    found = find_place(printed, mode, DAY)
    assert found is not None and found.city == city


def test_an_airport_is_known_from_its_opening_day() -> None:
    assert find_place("成都天府", "air", date(2021, 6, 26)) is None
    assert find_place("成都天府", "air", date(2021, 6, 27)) is not None


def leg(position: int, origin: str, destination: str, guessed: tuple[str, str], day: date) -> TripLeg:
    return TripLeg(position, "rail", f"G{position + 1}", guessed[0], guessed[1], day, time(9, 0), "second-class",
                   "二等座", origin, destination)


def claim_with(*legs: TripLeg) -> tuple[ClaimFacts, list[InvoiceFacts]]:
    trip = TravelFacts("深圳", "广东", DAY, date(2026, 7, 9))
    invoices = [InvoiceFacts(x.position, "rail-ticket", None, f"253200000000000000{x.position:02d}", DAY, None, None,
                             Decimal("300.00"), "CNY", (), legs=(x,)) for x in legs]
    return ClaimFacts("BX-2026-000041", "zhang.wei", "travel", ON, travel=trip), invoices


def test_the_tables_city_replaces_the_readers_guess() -> None:
    # the reader guessed 福田 as a city: the chain looked broken and the destination wrong
    facts, invoices = claim_with(leg(0, "广州南", "福田", ("广州", "福田"), DAY),
                                 leg(1, "深圳北", "广州南", ("深圳", "广州"), date(2026, 7, 9)))
    codes = [f.code for f in audit_claim(facts, invoices, standards_on(ON))]
    assert not {"TRIP_CITIES_BROKEN", "TRIP_DESTINATION_MISMATCH", "TRIP_PLACE_UNKNOWN"} & set(codes)


def test_an_unknown_station_is_named_and_sent_to_review() -> None:
    facts, invoices = claim_with(leg(0, "广州南", "深圳坪山", ("广州", "深圳坪山"), DAY))
    findings = audit_claim(facts, invoices, standards_on(ON))
    unknown = [f for f in findings if f.code == "TRIP_PLACE_UNKNOWN"]
    assert [(f.evidence["place"], f.invoice) for f in unknown] == [("深圳坪山", 0)] and needs_review(findings)


def test_a_bad_row_is_refused_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / "standards"
    shutil.copytree(STANDARDS_DIR, folder)
    with open(folder / "stations.csv", "a", encoding="utf-8") as handle:
        handle.write("某站,某市,某省,2020-13-01,\n")
    with pytest.raises(StandardsError, match=r"stations.csv row \d+"):
        load_places(folder)


# the provinces as an independent airport list (the airportsdata package) spells them
PROVINCES_IN_ENGLISH = {
    "Beijing": "北京", "Shanghai": "上海", "Tianjin": "天津", "Chongqing": "重庆", "Hebei": "河北", "Shanxi": "山西",
    "Inner Mongolia": "内蒙古", "Inner-Mongolia": "内蒙古", "Liaoning": "辽宁", "Jilin": "吉林",
    "Heilongjiang": "黑龙江", "Jiangsu": "江苏", "Zhejiang": "浙江", "Anhui": "安徽", "Fujian": "福建",
    "Jiangxi": "江西", "Shandong": "山东", "Henan": "河南", "Hubei": "湖北", "Hunan": "湖南", "Guangdong": "广东",
    "Guangxi": "广西", "Hainan": "海南", "Sichuan": "四川", "Guizhou": "贵州", "Yunnan": "云南", "Tibet": "西藏",
    "Shaanxi": "陕西", "Gansu": "甘肃", "Qinghai": "青海", "Ningxia Hui Autonomous Region": "宁夏", "Ningxia": "宁夏",
    "Xinjiang": "新疆"}


def test_the_airport_codes_agree_with_an_independent_airport_list() -> None:
    import airportsdata

    reference = airportsdata.load("IATA")
    airports = [p for p in load_places() if p.mode == "air"]
    shared = [p for p in airports if p.code in reference]
    assert len(shared) >= 200, f"only {len(shared)} of {len(airports)} codes are in the reference list"
    wrong = [(p.code, p.name, p.province, reference[p.code]["country"], reference[p.code]["subd"]) for p in shared
             if reference[p.code]["country"] != "CN"
             or PROVINCES_IN_ENGLISH.get(reference[p.code]["subd"]) != p.province]
    assert wrong == [], "a code that names an airport in another province or country"
