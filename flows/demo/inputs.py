"""The reconciliation inputs of the demo: one bank day and one three-way day of a public hospital.

What a finance office finds on a normal morning, as its systems export it: the bank's statement (through
the bank's column map), the bank journal export (银行存款日记账), the HIS payment records, the WeChat Pay,
Alipay and UnionPay bills and the cashiers' cash hand-in. Every value is drawn from a generator seeded by
the date (and account), so the same day always gives the same files and a re-run of the demo is
recognised by the flows as the same day.

A few exceptions are planted, the kind a reviewer meets every week:

* bank — the bank's transfer fees, not yet booked (银行已付、单位未付); a payment keyed into the journal
  with two digits swapped, so the bank's line finds no entry; a patient's refund booked a clearing window
  ago that the bank has still not paid out (单位已付、银行未付);
* three-way — a WeChat payment the HIS never recorded (单边账); a cashier whose cash hand-in is short (短款).

Pure functions: values and file texts in and out, no database, no Prefect, no files written here.
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pandas as pd

from extractors.statements import ColumnMap
from smartfin.kernel.clock import HOSPITAL_TZ
from smartfin.kernel.money import from_fen, parse_amount, to_fen
from smartfin.reconciliation import ThreeWaySettings
from smartfin.reconciliation.text import normalise_name

HOSPITAL_NAME = "示范市第一人民医院"
BANK_NAME = "示范城市商业银行"
FEE_MARK = "手续费"  # how banks name their charges in the statement's memo


@dataclass(frozen=True)
class StatementLine:
    """One line of the demo bank's statement; money in positive, the running balance after it."""

    booked_at: datetime
    reference: str
    counterparty: str
    memo: str
    amount_fen: int
    balance_fen: int


@dataclass(frozen=True)
class JournalEntry:
    """One entry of the hospital's bank journal (银行存款日记账), money in positive."""

    entry_id: str
    day: date
    amount_fen: int
    reference: str
    counterparty: str


@dataclass(frozen=True)
class BankDayPlan:
    """How the hospital booked one statement day: the journal, and what it left open on purpose.

    ``unbooked_fen`` is the signed sum of the statement lines the journal lacks (fees, the mistyped
    line), ``journal_only_fen`` that of the journal's entries the statement lacks (the mistyped entry); the
    journal's closing balance follows from both. ``settlements`` are the channels' T+1 credits on the day.
    """

    journal: tuple[JournalEntry, ...]
    mistyped: JournalEntry | None
    mistyped_line_fen: int | None
    unbooked_fen: int
    journal_only_fen: int
    settlements: dict[str, int]


@dataclass(frozen=True)
class ThreeWayDay:
    """The files of one three-way day folder, and the two exceptions planted in them."""

    files: dict[str, bytes]
    missing_in_his: str  # the WeChat order id the HIS never recorded
    missing_fen: int
    short_cashier: str
    short_fen: int


def _rng(*parts: object) -> random.Random:
    """A generator seeded by the parts (a str seed is hashed the same way on every machine)."""
    return random.Random("smartfin-demo|" + "|".join(str(p) for p in parts))


def _yuan(fen: int) -> str:
    return str(from_fen(fen))


def _account_of(name: str) -> str:
    """A stable made-up account number per counterparty (the same name, the same number everywhere)."""
    return "62" + str(int(hashlib.sha256(name.encode()).hexdigest()[:16], 16))[:17].rjust(17, "0")


# ------------------------------------------------------------------------------------------------ bank


@dataclass(frozen=True)
class Channel:
    """A payment channel: its bill, what the bank calls its settlement, its fee in 1/10,000 of the amount."""

    name: str
    label: str
    fee_per_10k: int
    daily_net_fen: tuple[int, int]  # range of the demo bank's settlement credit, when the demo writes it
    order_prefix: str


CHANNELS = (
    Channel("wechat", "微信支付", 30, (18_000_00, 46_000_00), "WX"),
    Channel("alipay", "支付宝", 30, (8_000_00, 22_000_00), "ZFB"),
    Channel("unionpay", "银联POS", 35, (25_000_00, 60_000_00), "YL"),
)


def settlement_counterparty(channel: str) -> str:
    """The name the channel's T+1 credit carries on the bank statement (as the three-way matcher knows it)."""
    return ThreeWaySettings().settlement_counterparties[channel][0]


def demo_statement(account: str, day: date, settled_day: date) -> list[StatementLine]:
    """The bank's lines of ``day`` for ``account`` when no online bank supplies them (the folder source).

    A hospital's main account: the channels' T+1 settlements of ``settled_day`` before dawn, the medical
    insurance fund's settlement, yesterday's cash from the cashiers' office, three supplier payments by
    online transfer and the bank's fee for them.
    """
    rng = _rng("bank", account, day)
    moves: list[tuple[time, str, str, int]] = []
    for index, channel in enumerate(CHANNELS):
        moves.append((time(3, 10 + 20 * index, rng.randint(0, 59)), settlement_counterparty(channel.name),
                      f"{channel.label}T+1结算 {settled_day:%m月%d日}交易", rng.randint(*channel.daily_net_fen)))
    transfers = (("国药控股示范市有限公司", "网银转账 药品款", 9, (80_000_00, 420_000_00)),
                 ("华润医药商业集团有限公司", "网银转账 药品款", 14, (50_000_00, 260_000_00)),
                 ("示范市康达医疗器械有限公司", "网银转账 医用耗材款", 15, (8_000_00, 60_000_00)))
    for counterparty, memo, hour, (low, high) in transfers:
        moves.append((time(hour, rng.randint(0, 59), rng.randint(0, 59)), counterparty, memo,
                      -rng.randint(low, high)))
    moves.append((time(10, rng.randint(0, 59), rng.randint(0, 59)), "示范市医疗保障事务中心", "门诊统筹基金结算款",
                  rng.randint(300_000_00, 900_000_00)))
    moves.append((time(11, rng.randint(0, 59), rng.randint(0, 59)), f"{HOSPITAL_NAME}（收费处）",
                  "现金解款 门诊收费处", rng.randint(2_000_000, 6_000_000)))
    moves.append((time(17, 10, 0), BANK_NAME, f"网银转账{FEE_MARK}", -len(transfers) * 5_50))
    balance = 30_000_000_00 + rng.randint(0, 8_000_000_00)
    lines = []
    for seq, (at, counterparty, memo, amount) in enumerate(sorted(moves), start=1):
        balance += amount
        lines.append(StatementLine(datetime.combine(day, at, HOSPITAL_TZ), f"{day:%Y%m%d}0{seq:06d}",
                                   counterparty, memo, amount, balance))
    return lines


def statement_csv(account: str, lines: Iterable[StatementLine], cmap: ColumnMap) -> str:
    """The statement as the bank's online banking exports it, in the columns of the bank's column map.

    Uses each canonical column's first header name; debit/credit columns, or one amount (with a direction
    mark where the map has one). A map with neither cannot be written and is refused by name.
    """
    cols = cmap.columns
    split_time = "booked_time" in cols
    texts = ("reference", "counterparty_name", "counterparty_account", "memo")
    if "debit" in cols and "credit" in cols:
        money = [cols["debit"][0], cols["credit"][0]]
    elif "amount" in cols:
        money = [cols["amount"][0]] + ([cols["direction"][0]] if "direction" in cols else [])
    else:
        raise ValueError(f"column map {cmap.name!r} has neither debit/credit nor amount columns")
    header = ([cols["booked_at"][0]] + ([cols["booked_time"][0]] if split_time else [])
              + [cols[c][0] for c in texts if c in cols] + money
              + [cols[c][0] for c in ("balance", "currency") if c in cols])
    marks = {sign: next((k for k, v in cmap.direction_values.items() if v == sign), "") for sign in (-1, 1)}
    currency = next((k for k, v in cmap.currency_aliases.items() if v == "CNY"), "CNY")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([f"账号：{account}", f"户名：{HOSPITAL_NAME}"])
    writer.writerow(header)
    for line in lines:
        row = ([line.booked_at.strftime("%Y-%m-%d"), line.booked_at.strftime("%H:%M:%S")] if split_time
               else [line.booked_at.strftime("%Y-%m-%d %H:%M:%S")])
        values = {"reference": line.reference, "counterparty_name": line.counterparty,
                  "counterparty_account": _account_of(line.counterparty), "memo": line.memo}
        row += [values[c] for c in texts if c in cols]
        if len(money) == 2 and "direction" not in cols:
            row += [_yuan(-line.amount_fen) if line.amount_fen < 0 else "",
                    _yuan(line.amount_fen) if line.amount_fen > 0 else ""]
        elif "direction" in cols:
            row += [_yuan(abs(line.amount_fen)), marks[-1 if line.amount_fen < 0 else 1]]
        else:
            row.append(_yuan(line.amount_fen))
        row += [_yuan(line.balance_fen)] * ("balance" in cols) + [currency] * ("currency" in cols)
        writer.writerow(row)
    return out.getvalue()


def transposed(fen: int, *, smaller: bool = False) -> int:
    """The amount a clerk keys with two neighbouring yuan digits swapped (12,850.00 → 12,580.00).

    The swap nearest the hundreds of yuan is taken (``smaller``: only one that lowers the amount); an
    amount with no such pair is keyed ¥90 off instead (a transposition error is always a multiple of 9).
    """
    digits = list(str(abs(fen)))
    yuan = len(digits) - 2
    for i in sorted(range(yuan - 1), key=lambda i: abs(i - (yuan - 3))):
        lowers = digits[i] > digits[i + 1]
        if digits[i] != digits[i + 1] and (lowers or not smaller) and not (i == 0 and digits[1] == "0"):
            digits[i], digits[i + 1] = digits[i + 1], digits[i]
            value = int("".join(digits))
            return -value if fen < 0 else value
    return fen - 9_000 if fen < 0 or smaller else fen + 9_000


def plan_bank_day(day: date, lines: pd.DataFrame) -> BankDayPlan:
    """The journal the hospital keeps for a statement day (canonical lines, see ``extractors.statements``).

    Every line is booked except the bank's fees, and the day's last outgoing payment (on a day without
    one, the last receipt) is keyed with two digits swapped. Outgoing transfers carry the bank's serial
    (copied from the receipt); receipts are booked by amount and payer only, as clerks do.
    """
    ordered = lines.sort_values(["booked_at", "line_id"], kind="stable")
    fee = (ordered["amount_fen"] < 0) & ordered["memo"].astype(str).str.contains(FEE_MARK)
    payments = ordered[(ordered["amount_fen"] < 0) & ~fee]
    chosen = payments if len(payments) else ordered[ordered["amount_fen"] > 0]
    mistyped_id = chosen["line_id"].iloc[-1] if len(chosen) else None
    owner = {normalise_name(n): ch for ch, names in ThreeWaySettings().settlement_counterparties.items()
             for n in names}
    settlements: dict[str, int] = {}
    for row in ordered[ordered["amount_fen"] > 0].itertuples(index=False):
        channel = owner.get(normalise_name(str(row.counterparty_name)))
        if channel:
            settlements[channel] = settlements.get(channel, 0) + int(row.amount_fen)
    journal: list[JournalEntry] = []
    counters = {"银收": 0, "银付": 0}
    mistyped: JournalEntry | None = None
    mistyped_line_fen: int | None = None
    for row in ordered[~fee].itertuples(index=False):
        amount = int(row.amount_fen)
        kind = "银收" if amount > 0 else "银付"
        counters[kind] += 1
        entry_id = f"{day:%Y%m%d}-{kind}-{counters[kind]:03d}"
        if row.line_id == mistyped_id:
            # a receipt keyed too high would pass for a fee the bank kept: keyed lower, it stays unmatched
            mistyped = JournalEntry(entry_id, day, transposed(amount, smaller=amount > 0), "",
                                    str(row.counterparty_name))
            mistyped_line_fen = amount
            journal.append(mistyped)
        else:
            journal.append(JournalEntry(entry_id, day, amount, str(row.reference) if amount < 0 else "",
                                        str(row.counterparty_name)))
    unbooked = int(ordered.loc[fee, "amount_fen"].sum()) + (mistyped_line_fen or 0)
    return BankDayPlan(tuple(journal), mistyped, mistyped_line_fen, unbooked,
                       mistyped.amount_fen if mistyped else 0, settlements)


def journal_closing(bank_closing_fen: int, plan: BankDayPlan, carried_open_fen: int) -> int:
    """The journal's closing balance that its open items explain, so the 余额调节表 balances.

    The bank's balance, plus what the journal holds and the bank does not (the mistyped entry, and
    ``carried_open_fen``: entries of the window's earlier days still open, such as the patient refund), less
    what the bank holds and the journal does not (the fees, the mistyped line).
    """
    return bank_closing_fen + carried_open_fen + plan.journal_only_fen - plan.unbooked_fen


JOURNAL_HEADER = ["entry_id", "date", "amount", "reference", "counterparty", "balance"]


def journal_csv(entries: Iterable[JournalEntry], closing_fen: int | None) -> str:
    """The bank journal export (``ledger.csv``): one row per entry with the running balance, when known."""
    rows = list(entries)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(JOURNAL_HEADER)
    after = closing_fen
    balances: list[str] = []
    for entry in reversed(rows):
        balances.append(_yuan(after) if after is not None else "")
        after = None if after is None else after - entry.amount_fen
    for entry, balance in zip(rows, reversed(balances), strict=True):
        writer.writerow([entry.entry_id, entry.day.isoformat(), _yuan(entry.amount_fen), entry.reference,
                         entry.counterparty, balance])
    return out.getvalue()


def journal_with(existing: str | None, entry: JournalEntry) -> str:
    """A journal export with ``entry`` added at its end, unless it is already there (by entry id).

    An existing export keeps every row; its running balance, when it has one, is carried on.
    """
    if existing is None:
        return journal_csv([entry], None)
    rows = [r for r in csv.reader(io.StringIO(existing)) if any(c.strip() for c in r)]
    header = [h.strip() for h in rows[0]]
    if any(dict(zip(header, r, strict=False)).get("entry_id") == entry.entry_id for r in rows[1:]):
        return existing
    values = {"entry_id": entry.entry_id, "date": entry.day.isoformat(), "amount": _yuan(entry.amount_fen),
              "reference": entry.reference, "counterparty": entry.counterparty, "balance": ""}
    last = dict(zip(header, rows[-1], strict=False)) if len(rows) > 1 else {}
    if last.get("balance", "").strip():
        values["balance"] = _yuan(to_fen(parse_amount(last["balance"], allow_zero=True, allow_negative=True))
                                  + entry.amount_fen)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows(rows)
    writer.writerow([values.get(h, "") for h in header])
    return out.getvalue()


_PATIENTS = ("陈秀兰", "王建国", "刘桂芳", "张德明", "李玉梅", "赵志强", "黄淑珍", "周国华")


def patient_refund(day: date) -> JournalEntry:
    """A patient's inpatient prepayment refund (住院预交金退费) transferred to their card on ``day``."""
    rng = _rng("refund", day)
    amount = rng.randint(12, 58) * 100_00 + rng.choice((0, 50_00))
    return JournalEntry(f"{day:%Y%m%d}-银付-901", day, -amount, f"TF{day:%Y%m%d}{rng.randint(1, 999):04d}",
                        rng.choice(_PATIENTS))


# ------------------------------------------------------------------------------------------ three-way


@dataclass(frozen=True)
class BillLine:
    """One line of a channel bill: a patient's payment, or the refund of one (``refund_id`` set)."""

    channel: str
    order_id: str
    txn_id: str
    at: datetime
    amount_fen: int
    fee_fen: int
    refund_id: str = ""

    @property
    def kind(self) -> str:
        return "refund" if self.refund_id else "payment"


def _patient_amount(rng: random.Random) -> int:
    """What a patient pays at once: a registration fee (they cluster), an outpatient bill, an inpatient deposit."""
    draw = rng.random()
    if draw < 0.25:
        return rng.choice((5_00, 10_00, 20_00, 50_00))
    if draw < 0.87:
        return rng.randint(15_00, 600_00)
    return rng.randint(10, 80) * 100_00


def _fee(amount_fen: int, per_10k: int) -> int:
    return (amount_fen * per_10k + 5_000) // 10_000


def _amounts_netting(rng: random.Random, net_fen: int, per_10k: int) -> list[tuple[int, int]]:
    """Payments (amount, fee) whose amounts less fees add up to exactly ``net_fen``.

    The last payment takes what is left; amount − fee(amount) grows by 0 or 1 fen per fen of amount, so an
    amount giving exactly the rest exists next to rest / (1 − rate).
    """
    amounts: list[tuple[int, int]] = []
    remaining = net_fen
    while remaining > 0:
        amount = _patient_amount(rng)
        fee = _fee(amount, per_10k)
        if amount - fee > remaining - 30_00:
            break
        amounts.append((amount, fee))
        remaining -= amount - fee
    if remaining > 0:
        guess = remaining * 10_000 // (10_000 - per_10k)
        last = next((a for a in range(max(1, guess - 3), guess + 6) if a - _fee(a, per_10k) == remaining), None)
        amounts.append((last, _fee(last, per_10k)) if last is not None else (guess, guess - remaining))
    return amounts


def _moment(rng: random.Random, day: date, first: time = time(7, 30), last: time = time(20, 30)) -> datetime:
    start = datetime.combine(day, first, HOSPITAL_TZ)
    span = int((datetime.combine(day, last, HOSPITAL_TZ) - start).total_seconds())
    return start + timedelta(seconds=rng.randint(0, span))


def _txn_id(rng: random.Random, channel: str, day: date) -> str:
    if channel == "wechat":
        return f"4200002{day:%Y%m%d}{rng.randint(0, 10**13 - 1):013d}"
    if channel == "alipay":
        return f"{day:%Y%m%d}22001{rng.randint(0, 10**15 - 1):015d}"
    return f"{rng.randint(0, 10**12 - 1):012d}"  # UnionPay's retrieval reference number


def channel_bill(channel: Channel, day: date, net_fen: int) -> list[BillLine]:
    """One channel's bill of ``day`` whose net (payments − refunds − fees) is ``net_fen``, the T+1 credit.

    WeChat and Alipay bills also hold one payment refunded later the same day (退费, its fee returned),
    which leaves the net as it is.
    """
    rng = _rng("bill", channel.name, day)
    amounts = [(amount, fee, False) for amount, fee in _amounts_netting(rng, net_fen, channel.fee_per_10k)]
    if channel.name in ("wechat", "alipay"):
        amount = rng.randint(30_00, 400_00)
        amounts.insert(rng.randint(0, len(amounts)), (amount, _fee(amount, channel.fee_per_10k), True))
    moments = sorted(_moment(rng, day, last=time(19, 0)) for _ in amounts)
    payments, refunds = [], []
    for seq, (at, (amount, fee, refunded)) in enumerate(zip(moments, amounts, strict=True), start=1):
        payment = BillLine(channel.name, f"{channel.order_prefix}{day:%Y%m%d}{seq:05d}",
                           _txn_id(rng, channel.name, day), at, amount, fee)
        payments.append(payment)
        if refunded:
            refunds.append(BillLine(channel.name, payment.order_id, payment.txn_id,
                                    at + timedelta(minutes=rng.randint(20, 90)), amount, fee,
                                    f"TK{day:%Y%m%d}{rng.randint(1, 9999):04d}"))
    payments += refunds
    return sorted(payments, key=lambda p: (p.at, p.kind))


def _csv(rows: Iterable[Iterable[object]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S")


def wechat_bill_csv(payments: list[BillLine]) -> str:
    """WeChat Pay's merchant bill: every value prefixed with a backtick, as WeChat writes it."""
    header = ["交易时间", "公众账号ID", "商户号", "微信订单号", "商户订单号", "用户标识", "交易类型", "交易状态",
              "付款银行", "货币种类", "应结订单金额", "微信退款单号", "商户退款单号", "退款金额", "商品名称", "手续费",
              "费率"]
    rows = []
    for p in payments:
        refund = p.kind == "refund"
        values = [_stamp(p.at), "wx8a6c1f2e9b3d4c5e", "1623456789", p.txn_id, p.order_id,
                  f"oUpF8u{hashlib.sha256(p.order_id.encode()).hexdigest()[:22]}", "JSAPI",
                  "REFUND" if refund else "SUCCESS", "OTHERS", "CNY", _yuan(p.amount_fen),
                  f"5030{p.txn_id[4:]}" if refund else "0", p.refund_id, _yuan(p.amount_fen if refund else 0),
                  "门诊缴费退费" if refund else "门诊缴费", _yuan(p.fee_fen), "0.30%"]
        rows.append([f"`{v}" for v in values])
    return _csv([header, *rows])


def alipay_bill_csv(payments: list[BillLine], day: date) -> str:
    """Alipay's business detail export: ``#`` title and footer lines around the table, refunds negative."""
    header = ["支付宝交易号", "商户订单号", "业务类型", "商品名称", "创建时间", "完成时间", "对方账户", "订单金额(元)",
              "商家实收(元)", "退款批次号/请求号", "服务费(元)", "备注"]
    rows: list[list[object]] = [["#支付宝业务明细查询"], ["#账号：[20881234567801560156]"],
                                [f"#起始日期：[{day:%Y年%m月%d日} 00:00:00]   终止日期：[{day:%Y年%m月%d日} 23:59:59]"],
                                ["#-----------------------------------------业务明细列表----------------------------------------"],
                                header]
    for p in payments:
        sign = -1 if p.kind == "refund" else 1
        payer = f"1{int(hashlib.sha256(p.order_id.encode()).hexdigest()[:4], 16) % 90 + 10}****{p.order_id[-4:]}"
        rows.append([p.txn_id, p.order_id, "交易退款" if sign < 0 else "交易", "门诊缴费", _stamp(p.at),
                     _stamp(p.at + timedelta(seconds=3)), payer, _yuan(sign * p.amount_fen),
                     _yuan(sign * (p.amount_fen - p.fee_fen)), p.refund_id, _yuan(sign * p.fee_fen), ""])
    total = sum((-1 if p.kind == "refund" else 1) * p.amount_fen for p in payments)
    rows += [["#-----------------------------------------业务明细列表结束------------------------------------"],
             [f"#交易合计：{len(payments)}笔，共{_yuan(total)}元"],
             [f"#导出时间：[{day + timedelta(days=1):%Y年%m月%d日} 06:00:00]"]]
    return _csv(rows)


def unionpay_bill_csv(payments: list[BillLine]) -> str:
    """UnionPay Merchant Services' POS detail: card numbers masked, the settled amount beside the fee."""
    header = ["交易时间", "终端号", "商户订单号", "检索参考号", "卡号", "交易类型", "交易金额", "手续费", "清算金额",
              "退货流水号"]
    rows = [[_stamp(p.at), f"POS{int(p.txn_id[-2:]) % 6 + 1:02d}", p.order_id, p.txn_id,
             f"622848******{p.txn_id[-4:]}", "退货" if p.kind == "refund" else "消费", _yuan(p.amount_fen),
             _yuan(p.fee_fen), _yuan(p.amount_fen - p.fee_fen), p.refund_id] for p in payments]
    return _csv([header, *rows])


CASHIERS = ("SF01", "SF02", "SF03")  # the outpatient cashiers' HIS codes
KIOSKS = ("ZZJ01", "ZZJ02", "ZZJ03")  # self-service machines


def three_way_day(day: date, settlements: dict[str, int]) -> ThreeWayDay:
    """The three-way day folder of ``day``: HIS, one bill per channel that settled, and the cash hand-in.

    ``settlements`` are the channels' T+1 credits on the bank statement of the next day; each channel's
    bill nets to exactly its credit, so the settlement level matches. The HIS lacks one WeChat payment
    (of Alipay or UnionPay when WeChat did not settle) and one cashier hands in ¥50.00 too little.
    """
    rng = _rng("three-way", day)
    bills = {c.name: channel_bill(c, day, settlements[c.name]) for c in CHANNELS if settlements.get(c.name, 0) > 0}
    files: dict[str, bytes] = {}
    writers = {"wechat": lambda ps: wechat_bill_csv(ps).encode("utf-8-sig"),
               "alipay": lambda ps: alipay_bill_csv(ps, day).encode("gbk"),
               "unionpay": lambda ps: unionpay_bill_csv(ps).encode("gbk")}
    for name, payments in bills.items():
        files[f"{name}.csv"] = writers[name](payments)
    candidates = next(([p for p in ps if p.kind == "payment" and p.amount_fen >= 20_00 and p.order_id not in
                        {r.order_id for r in ps if r.kind == "refund"}] for ps in bills.values()), [])
    missing = rng.choice(candidates) if candidates else None
    his: list[tuple[str, str, str, str, int, datetime, str]] = []
    for payments in bills.values():
        for p in payments:
            if p is not missing:
                his.append((p.channel, p.order_id, p.refund_id, p.kind, p.amount_fen,
                            p.at - timedelta(seconds=rng.randint(1, 20)), rng.choice(KIOSKS + CASHIERS)))
    cash: dict[str, int] = {}
    for cashier in CASHIERS:
        for _ in range(rng.randint(12, 30)):
            amount = _patient_amount(rng) if rng.random() < 0.9 else rng.choice((5_00, 10_00))
            his.append(("cash", "", "", "payment", amount, _moment(rng, day, time(7, 30), time(17, 30)), cashier))
            cash[cashier] = cash.get(cashier, 0) + amount
    short_cashier, short_fen = CASHIERS[1], 50_00
    rows: list[list[object]] = [["his_txn_id", "channel", "order_id", "refund_id", "kind", "amount", "occurred_at",
                                 "cashier"]]
    for n, (channel, order_id, refund_id, kind, amount, at, cashier) in enumerate(
            sorted(his, key=lambda h: (h[5], h[1], h[3])), start=1):
        rows.append([f"H{day:%Y%m%d}{n:06d}", channel, order_id, refund_id, kind, _yuan(amount), _stamp(at), cashier])
    files["his.csv"] = _csv(rows).encode("utf-8")
    deposits = [["cashier", "amount"]] + [[c, _yuan(cash[c] - (short_fen if c == short_cashier else 0))]
                                          for c in CASHIERS]
    files["cash.csv"] = _csv(deposits).encode("utf-8")
    return ThreeWayDay(files, missing.order_id if missing else "", missing.amount_fen if missing else 0,
                       short_cashier, short_fen)
