"""Generated rail e-tickets and air e-itineraries with their ground truth, for tests and the benchmark.

Drawn in the layouts of the real documents: the rail ticket's journey block (stations either side of the
train, date/time/car/seat/class, fare, masked ID and name) under the invoice header, and the itinerary's
flight table in its two forms (the 自/至 chain and one row per flight). Variations seen in real files:
labels as separate text objects, full-width punctuation, letter-spaced labels, stations printed with or
without 站, long station and buyer names (the buyer name wraps), amounts under their labels, several
flights. Every sample comes from a seed, so runs are reproducible.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import Decimal
from typing import Any

from extractors.invoice.samples import PdfPainter, random_digits
from extractors.invoice.uscc import make_uscc
from extractors.travel.model import AIR_CABINS, RAIL_SEATS, CabinClass, cabin_for_letter, deductible_vat

_STATIONS = [("北京南", "北京"), ("北京西", "北京"), ("上海虹桥", "上海"), ("上海", "上海"), ("广州南", "广州"),
             ("深圳北", "深圳"), ("杭州东", "杭州"), ("南京南", "南京"), ("武汉", "武汉"), ("长沙南", "长沙"),
             ("成都东", "成都"), ("西安北", "西安"), ("郑州东", "郑州"), ("乌鲁木齐南", "乌鲁木齐"),
             ("呼和浩特东", "呼和浩特"), ("哈尔滨西", "哈尔滨"), ("石家庄", "石家庄"), ("济南西", "济南"),
             ("重庆北", "重庆"), ("昆明南", "昆明")]
_AIRPORTS = [("北京首都", "PEK", "北京"), ("北京大兴", "PKX", "北京"), ("上海浦东", "PVG", "上海"),
             ("上海虹桥", "SHA", "上海"), ("广州白云", "CAN", "广州"), ("深圳宝安", "SZX", "深圳"),
             ("成都天府", "TFU", "成都"), ("乌鲁木齐地窝堡", "URC", "乌鲁木齐"), ("拉萨贡嘎", "LXA", "拉萨"),
             ("哈尔滨太平", "HRB", "哈尔滨"), ("西安咸阳", "XIY", "西安"), ("昆明长水", "KMG", "昆明")]
_CARRIERS = ["CA", "MU", "CZ", "HU", "3U", "ZH", "MF"]
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗欧阳"
_GIVEN = ["芳", "伟", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "秀英", "建华", "志强"]
_BUYERS = ["{c}市第一人民医院", "{c}市中医医院", "{c}医科大学附属第二医院",
           "{c}市妇幼保健院（{c}市妇女儿童医疗保健中心）", "{c}大学附属肿瘤医院（{c}市肿瘤防治研究所）"]
RAIL_LAYOUTS = ("rail-standard", "rail-separate", "rail-fullwidth", "rail-spaced", "rail-wrapped")
AIR_LAYOUTS = ("air-chain", "air-table", "air-chain-multi", "air-table-multi", "air-below")
WRAP_AT = 16  # characters of a buyer name on its first line in the wrapping layouts


@dataclass(frozen=True, slots=True)
class TravelSample:
    """One generated file and the flat values reading it must yield (None: the reader must refuse it)."""

    name: str
    layout: str
    data: bytes
    truth: dict[str, Any] | None
    expected_finding: str | None = None


def _person(rng: random.Random) -> str:
    surname = "欧阳" if rng.random() < 0.1 else rng.choice(_SURNAMES[:-2])
    return surname + rng.choice(_GIVEN)


def _masked_id(rng: random.Random) -> str:
    born = str(rng.randint(1960, 2000))
    return random_digits(rng, 6) + born + "****" + random_digits(rng, 3) + rng.choice("0123456789X")


def _buyer(rng: random.Random, long_name: bool) -> tuple[str, str]:
    city = rng.choice(["杭州", "南京", "成都", "武汉", "长沙"])
    name = (_BUYERS[rng.randint(3, 4)] if long_name else rng.choice(_BUYERS[:3])).format(c=city)
    return name, make_uscc("1", "2", rng.choice(["330106", "320106", "510107"]), random_digits(rng, 8))


def _number(rng: random.Random) -> str:
    return str(rng.randint(24, 26)) + random_digits(rng, 18)


def _cn_date(d: date) -> str:
    return f"{d.year}年{d.month:02d}月{d.day:02d}日"


def _segment_truth(**values: Any) -> dict[str, Any]:
    keys = ("carrier_no", "from_place", "to_place", "from_city", "to_city", "departure_date", "departure_time",
            "seat_class", "cabin", "booking_letter", "seat")
    return {k: values.get(k) for k in keys}


def _flat(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key == "segments":
            for index, segment in enumerate(value):
                for name, cell in segment.items():
                    out[f"segments[{index}].{name}"] = _nfkc(cell)
        else:
            out[key] = _nfkc(value)
    return out


def _nfkc(value: Any) -> Any:
    """Readers normalise text (full-width brackets become ASCII), so the truth is normalised too."""
    return unicodedata.normalize("NFKC", value) if isinstance(value, str) else value


class _Draw:
    """The painter with the layout's quirks: label/value as one or two objects, full-width, spacing."""

    def __init__(self, layout: str, painter: Any = None) -> None:
        self.p = painter if painter is not None else PdfPainter()
        self.separate = layout.endswith(("separate", "spaced"))
        self.fullwidth = layout.endswith("fullwidth")
        self.spaced = layout.endswith("spaced")

    def colon(self) -> str:
        return "：" if self.fullwidth else ":"

    def yuan(self) -> str:
        return "￥" if self.fullwidth else "¥"

    def field(self, x: float, y: float, label: str, value: str, size: float = 9) -> float:
        """Draw label and value; returns where the value starts."""
        if self.separate:
            self.p.text(x, y, label + self.colon(), size, char_space=3.0 if self.spaced else 0.0)
            vx = x + self.p.width(label + ":", size) + (3.0 * len(label) if self.spaced else 0) + 14
            self.p.text(vx, y, value, size)
            return vx
        text = label + self.colon()
        self.p.text(x, y, text + value, size)
        return x + self.p.width(text, size)

    def text(self, x: float, y: float, s: str, size: float = 9) -> None:
        self.p.text(x, y, s, size)


def _buyer_block(d: _Draw, y: float, name: str, uscc: str, wrap: bool) -> None:
    first, rest = (name[:WRAP_AT], name[WRAP_AT:]) if wrap and len(name) > WRAP_AT else (name, "")
    vx = d.field(40, y, "购买方名称", first)
    if rest:
        d.text(vx, y - 11, rest)
    d.field(400, y, "统一社会信用代码", uscc)


def rail_sample(layout: str, seed: int, painter: Any = None) -> TravelSample:
    """A rail e-ticket in one of ``RAIL_LAYOUTS`` (drawn by ``painter`` when given: an OFD page)."""
    rng = random.Random(f"rail-{layout}-{seed}")
    (origin, origin_city), (dest, dest_city) = rng.sample(_STATIONS, 2)
    train = rng.choice("GGGDDCKZT") + str(rng.randint(1, 9999 if rng.random() < 0.3 else 999))
    seat_class = rng.choice(["二等座", "二等座", "一等座", "商务座", "硬座", "软座", "硬卧", "软卧", "无座"])
    if seat_class == "无座":
        seat = "无座"
    elif seat_class.endswith("卧"):
        seat = f"{rng.randint(1, 16):02d}车{rng.randint(1, 66):03d}号{rng.choice('上中下')}铺"
    else:
        seat = f"{rng.randint(1, 16):02d}车{rng.randint(1, 20):02d}{rng.choice('ABCDF')}号"
    departs = date(2025, 1, 1) + timedelta(days=rng.randint(0, 600))
    at = time(rng.randint(6, 22), rng.choice([0, 5, 12, 18, 25, 33, 40, 47, 55]))
    issued = departs - timedelta(days=rng.randint(0, 20))
    fare = Decimal(rng.randint(1950, 240000)) / 100 if rng.random() < 0.8 else Decimal(rng.randint(20, 2400))
    fare = fare.quantize(Decimal("0.01"))
    name, pid = _person(rng), _masked_id(rng)
    buyer, uscc = _buyer(rng, long_name=layout == "rail-wrapped")
    number, eticket = _number(rng), random_digits(rng, 1) + random_digits(rng, 20)
    with_suffix = layout != "rail-fullwidth"

    d = _Draw(layout, painter)
    d.text(230, 362, "电子发票（铁路电子客票）", 16)
    d.field(470, 366, "发票号码", number)
    d.field(470, 350, "开票日期", _cn_date(issued))
    station = (lambda s: s + "站") if with_suffix else (lambda s: s)
    d.text(60, 305, station(origin), 15)
    d.text(290, 305, train, 15)
    d.text(430, 305, station(dest), 15)
    d.text(60, 290, "Pinyin", 7)
    d.text(430, 290, "Pinyin", 7)
    d.text(60, 268, f"{_cn_date(departs)} {at:%H:%M}开", 11)
    d.text(290, 268, seat, 11)
    d.text(430, 268, seat_class, 11)
    if layout == "rail-separate":
        d.field(60, 246, "票价", d.yuan() + f"{fare:.2f}", 11)
    else:
        d.text(60, 246, d.yuan() + f"{fare:.2f}", 11)
        d.text(160, 246, "票价" if layout != "rail-standard" else "", 9)
    id_first = rng.random() < 0.7
    d.text(60, 224, f"{pid} {name}" if id_first else f"{name} {pid}", 11)
    d.field(60, 204, "电子客票号", eticket)
    _buyer_block(d, 120, buyer, uscc, wrap=layout == "rail-wrapped")
    d.text(40, 60, "仅供报销使用", 9)
    segment = _segment_truth(carrier_no=train, from_place=origin, to_place=dest, from_city=origin_city,
                             to_city=dest_city, departure_date=departs, departure_time=at, seat_class=seat_class,
                             cabin=RAIL_SEATS[seat_class], seat=seat)
    truth = {"kind": "rail-ticket", "number": number, "issue_date": issued, "passenger_name": name,
             "passenger_id": pid, "segments": [segment], "fare": fare, "fuel_surcharge": None,
             "development_fund": None, "other_taxes": None, "total": fare, "ticket_no": eticket,
             "buyer_name": buyer, "buyer_tax_id": uscc, "deductible_vat": deductible_vat(fare)}
    return TravelSample(f"{layout}-{seed}.pdf", layout, d.p.finish() if painter is None else b"", _flat(truth))


def air_sample(layout: str, seed: int, *, with_fare: bool = True, class_printed: bool = True) -> TravelSample:
    """An air e-itinerary in one of ``AIR_LAYOUTS`` (one flight, or two to four for ``*-multi``); without
    ``class_printed`` a chain layout leaves 座位等级 empty, as itineraries that print only the fare basis do."""
    rng = random.Random(f"air-{layout}-{seed}")
    legs = rng.randint(2, 4) if layout.endswith("multi") else 1
    places = rng.sample(_AIRPORTS, legs + 1)
    day = date(2025, 1, 1) + timedelta(days=rng.randint(0, 600))
    issued = day - timedelta(days=rng.randint(0, 20))
    name, pid = _person(rng), _masked_id(rng).replace("****", "********")[:18]
    buyer, uscc = _buyer(rng, long_name=rng.random() < 0.4)
    number = _number(rng)
    eticket = f"{rng.choice(['999', '781', '784', '880'])}-{random_digits(rng, 10)}"
    chain = "chain" in layout
    segments = []
    for leg in range(legs):
        letter = rng.choice("YYYYBMHKLQFCJW")
        cabin_word = None
        if not chain or rng.random() < 0.5:
            cabin_word = {CabinClass.FIRST: "头等舱", CabinClass.BUSINESS: "公务舱",
                          CabinClass.PREMIUM_ECONOMY: "超级经济舱"}.get(cabin_for_letter(letter), "经济舱")
        printed = (cabin_word or "") + letter
        flight = rng.choice(_CARRIERS) + str(rng.randint(1000 if rng.random() < 0.7 else 100, 9999))
        at = time(rng.randint(6, 22), rng.choice([0, 5, 15, 20, 35, 40, 50]))
        segments.append(_segment_truth(
            carrier_no=flight, from_place=places[leg][0], to_place=places[leg + 1][0], from_city=places[leg][2],
            to_city=places[leg + 1][2], departure_date=day, departure_time=at, seat_class=printed,
            cabin=AIR_CABINS[cabin_word] if cabin_word else cabin_for_letter(letter), booking_letter=letter))
        day += timedelta(days=rng.randint(0, 3))
    fare = Decimal(rng.randint(30, 600) * 10 * legs).quantize(Decimal("0.01"))
    fuel = Decimal(rng.choice([0, 20, 40, 60, 80, 120]) * legs).quantize(Decimal("0.01"))
    fund = Decimal(50 * legs).quantize(Decimal("0.01"))
    other = Decimal(rng.choice([0, 0, 10, 20])).quantize(Decimal("0.01"))
    total = fare + fuel + fund + other

    d = _Draw(layout)
    d.text(180, 362, "电子发票（航空运输电子客票行程单）", 15)
    d.field(470, 366, "发票号码", number)
    d.field(470, 350, "开票日期", _cn_date(issued))
    d.field(30, 325, "旅客姓名", name)
    d.field(200, 325, "有效身份证件号码", pid)
    d.field(430, 325, "签注", "不得签转/变更退票收费")
    header_y, step = 300, 18
    if chain:
        for x, head in ((30, "自/至"), (150, "承运人"), (200, "航班号"), (270, "座位等级"), (360, "日期"),
                        (440, "时间"), (500, "客票级别"), (590, "免费行李")):
            d.text(x, header_y, head, 8)
        y = header_y - step
        for leg, seg in enumerate(segments):
            d.text(30, y, "自" if leg == 0 else "至", 9)
            d.text(45, y, seg["from_place"], 9)
            d.text(45 + d.p.width(seg["from_place"], 9) + 8, y, places[leg][1], 9)
            d.text(150, y, seg["carrier_no"][:2], 9)
            d.text(200, y, seg["carrier_no"], 9)
            if class_printed:
                d.text(270, y, seg["seat_class"], 9)
            d.text(360, y, seg["departure_date"].isoformat(), 9)
            d.text(440, y, f"{seg['departure_time']:%H:%M}", 9)
            d.text(500, y, seg["booking_letter"] + "CN", 9)
            d.text(590, y, "20K", 9)
            y -= step
        d.text(30, y, "至", 9)
        d.text(45, y, places[-1][0], 9)
        d.text(45 + d.p.width(places[-1][0], 9) + 8, y, places[-1][1], 9)
        d.text(200, y, "VOID", 9)
    else:
        for x, head in ((30, "序号"), (60, "出发"), (170, "到达"), (280, "航班号"), (350, "舱位"),
                        (440, "日期"), (520, "起飞时间")):
            d.text(x, header_y, head, 8)
        y = header_y - step
        for leg, seg in enumerate(segments):
            d.text(30, y, str(leg + 1), 9)
            d.text(60, y, seg["from_place"], 9)
            d.text(170, y, seg["to_place"], 9)
            d.text(280, y, seg["carrier_no"], 9)
            d.text(350, y, seg["seat_class"], 9)
            d.text(440, y, seg["departure_date"].isoformat(), 9)
            d.text(520, y, f"{seg['departure_time']:%H:%M}", 9)
            y -= step
    amounts = (("票价", fare if with_fare else None), ("燃油附加费", fuel), ("民航发展基金", fund),
               ("其他税费", other), ("合计", total))
    y = 160
    if layout == "air-below":
        for i, (label, value) in enumerate(amounts):
            d.text(30 + i * 120, y, label, 9)
            if value is not None:
                d.text(30 + i * 120, y - 14, f"CNY{value:.2f}", 9)
    else:
        x = 30.0
        for label, value in amounts:
            shown = "" if value is None else f"CNY {value:.2f}" if rng.random() < 0.5 else f"{d.yuan()}{value:.2f}"
            d.field(x, y, label, shown)
            x += 130
    d.field(30, 126, "电子客票号码", eticket)
    _buyer_block(d, 100, buyer, uscc, wrap=True)
    d.text(30, 50, "填开单位：" + rng.choice(["中国国际航空股份有限公司", "中国东方航空股份有限公司"]), 9)
    truth = {"kind": "air-itinerary", "number": number, "issue_date": issued, "passenger_name": name,
             "passenger_id": pid, "segments": segments, "fare": fare if with_fare else None, "fuel_surcharge": fuel,
             "development_fund": fund, "other_taxes": other, "total": total, "ticket_no": eticket,
             "buyer_name": buyer, "buyer_tax_id": uscc,
             "deductible_vat": deductible_vat(fare + fuel) if with_fare else None}
    return TravelSample(f"{layout}-{seed}.pdf", layout, d.p.finish(), _flat(truth),
                        None if with_fare else "AIR_FARE_MISSING")


def refund_voucher(seed: int, *, change: bool = False) -> TravelSample:
    """A rail refund (退票费) or change (改签费) voucher: same title as a ticket, never read as one."""
    rng = random.Random(f"refund-{seed}-{change}")
    d = _Draw("rail-standard")
    d.text(230, 362, "电子发票（铁路电子客票）", 16)
    d.field(470, 366, "发票号码", _number(rng))
    d.field(470, 350, "开票日期", _cn_date(date(2025, 3, 1) + timedelta(days=rng.randint(0, 200))))
    (origin, _), (dest, _) = rng.sample(_STATIONS, 2)
    d.text(60, 305, origin + "站", 15)
    d.text(290, 305, "G" + str(rng.randint(1, 999)), 15)
    d.text(430, 305, dest + "站", 15)
    fee = Decimal(rng.randint(500, 9000)) / 100
    d.field(60, 246, "改签费" if change else "退票费", f"¥{fee:.2f}", 11)
    buyer, uscc = _buyer(rng, long_name=False)
    _buyer_block(d, 120, buyer, uscc, wrap=False)
    return TravelSample(f"{'change' if change else 'refund'}-{seed}.pdf", "rail-refund", d.p.finish(), None,
                        "TICKET_REFUND_VOUCHER")


def travel_corpus(count: int, *, seed: int = 0) -> list[TravelSample]:
    """``count`` readable tickets cycling through every rail and air layout, reproducibly."""
    layouts = RAIL_LAYOUTS + AIR_LAYOUTS
    out = []
    for i in range(count):
        layout = layouts[i % len(layouts)]
        make = rail_sample if layout.startswith("rail") else air_sample
        out.append(make(layout, seed * 100_000 + i))
    return out
