"""Deterministic statement data for the demo bank accounts.

Every day of every account is generated from a seed of (account number, date), so a statement for
any range is reproducible across restarts and machines — tests can assert on it and reconciliation
demos can be replayed. Balances are carried day by day from the account's opening date, so every
download shows a consistent running balance. The transactions mimic a public hospital's main
account: T+1 settlements of patient payments (WeChat Pay, Alipay, UnionPay) net of fees, the monthly
medical-insurance fund settlement, supplier payments, salaries, social insurance, utilities.
"""

from __future__ import annotations

import hashlib
import random
import threading
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

HOSPITAL = "示范市第一人民医院"
BANK_NAME = "示范城市商业银行"


@dataclass(frozen=True)
class BankAccount:
    """A demo account; `profile` selects which kind of transactions it sees."""

    index: int
    number: str
    holder: str
    kind: str
    branch: str
    bic: str
    opened: date
    opening_balance_fen: int
    profile: str


DEMO_ACCOUNTS = (
    BankAccount(
        1,
        "33010201040012345",
        HOSPITAL,
        "基本存款账户",
        f"{BANK_NAME}示范市分行营业部",
        "SFCBCNBJXXX",
        date(2024, 1, 1),
        36_500_000_00,
        "basic",
    ),
    BankAccount(
        2,
        "33010201040067890",
        HOSPITAL,
        "专用存款账户（科研经费）",
        f"{BANK_NAME}示范市高新支行",
        "SFCBCNBJXXX",
        date(2024, 1, 1),
        4_200_000_00,
        "research",
    ),
)


@dataclass(frozen=True)
class Transaction:
    """One statement line. Debit = money out, credit = money in (Chinese bank statement convention)."""

    txn_id: str
    account_number: str
    booked_at: datetime
    summary: str
    debit_fen: int
    credit_fen: int
    balance_fen: int
    counterparty_name: str
    counterparty_account: str
    counterparty_bank: str
    purpose: str


@dataclass(frozen=True)
class Statement:
    account: BankAccount
    start: date
    end: date
    opening_balance_fen: int
    closing_balance_fen: int
    transactions: tuple[Transaction, ...]


@dataclass(frozen=True)
class _Movement:
    at: time
    summary: str
    amount_fen: int  # positive = in, negative = out
    counterparty: str
    purpose: str


_COUNTERPARTY_BANKS = ("中国工商银行", "中国建设银行", "中国农业银行", "中国银行", "招商银行", "交通银行")
_SUPPLIERS = (
    ("国药控股示范市有限公司", "药品款", 80_000_00, 650_000_00),
    ("华润医药商业集团有限公司", "药品款", 60_000_00, 480_000_00),
    ("示范市康达医疗器械有限公司", "医用耗材款", 20_000_00, 260_000_00),
    ("示范市洁康后勤服务有限公司", "物业服务费", 50_000_00, 180_000_00),
    ("上海联影医疗科技股份有限公司", "设备款", 300_000_00, 1_200_000_00),
)
_CHANNELS = (
    ("微信支付", "财付通支付科技有限公司", 120_000_00, 300_000_00, 30),
    ("支付宝", "支付宝（中国）网络技术有限公司", 60_000_00, 150_000_00, 30),
    ("银联POS", "银联商务股份有限公司", 150_000_00, 400_000_00, 35),
)
_STAFF = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊")


def counterparty_account(name: str) -> str:
    """A stable fake account number per counterparty name (same name, same number everywhere)."""
    digest = hashlib.sha256(name.encode()).hexdigest()
    return "62" + str(int(digest[:16], 16))[:17].rjust(17, "0")


def counterparty_bank(name: str) -> str:
    if name == BANK_NAME:
        return BANK_NAME
    return _COUNTERPARTY_BANKS[int(hashlib.sha256(name.encode()).hexdigest()[:4], 16) % len(_COUNTERPARTY_BANKS)]


def _clock(rng: random.Random, first_hour: int, last_hour: int) -> time:
    return time(rng.randint(first_hour, last_hour), rng.randint(0, 59), rng.randint(0, 59))


def _basic_day(rng: random.Random, day: date, opening_fen: int) -> list[_Movement]:
    moves = []
    settled = day - timedelta(days=1)
    weekend_factor = 0.6 if settled.weekday() >= 5 else 1.0
    for channel, company, low, high, fee_per_10k in _CHANNELS:
        gross = int(rng.randint(low, high) * weekend_factor)
        fee = (gross * fee_per_10k + 5000) // 10000
        moves.append(
            _Movement(
                _clock(rng, 3, 6),
                f"{channel}T+1结算",
                gross - fee,
                company,
                f"{settled:%Y%m%d}交易额{gross / 100:.2f}手续费{fee / 100:.2f}",
            )
        )
    if opening_fen < 8_000_000_00:
        moves.append(_Movement(time(9, 0, 5), "财政拨款", 15_000_000_00, "示范市财政局国库支付中心", "财政补助资金"))
    if day.weekday() < 5:
        payments = rng.randint(1, 4)
        for _ in range(payments):
            name, purpose, low, high = rng.choice(_SUPPLIERS[:-1] if rng.random() < 0.9 else _SUPPLIERS)
            moves.append(_Movement(_clock(rng, 9, 16), "网银转账", -rng.randint(low, high), name, purpose))
        moves.append(_Movement(time(17, 10, 0), "手续费", -payments * 5_50, BANK_NAME, "网银转账手续费"))
        moves.append(
            _Movement(
                _clock(rng, 10, 11),
                "现金存款",
                rng.randint(10_000_00, 60_000_00),
                f"{HOSPITAL}（收费处）",
                "门诊收费处现金解款",
            )
        )
    if day.day == 5:
        moves.append(
            _Movement(
                _clock(rng, 10, 15),
                "医保基金结算",
                rng.randint(6_000_000_00, 9_000_000_00),
                "示范市医疗保障事务中心",
                f"{(day.replace(day=1) - timedelta(days=1)):%Y年%m月}医保基金拨付",
            )
        )
    if day.day == 10:
        moves.append(
            _Movement(
                _clock(rng, 9, 11),
                "税费扣缴",
                -rng.randint(2_200_000_00, 2_800_000_00),
                "国家税务总局示范市税务局",
                "社会保险费及代扣个人所得税",
            )
        )
    if day.day == 15:
        moves.append(
            _Movement(
                _clock(rng, 8, 9),
                "代发工资",
                -rng.randint(8_500_000_00, 9_500_000_00),
                f"{HOSPITAL}职工（批量代发）",
                f"{day:%Y年%m月}工资",
            )
        )
    if day.day == 20:
        moves.append(
            _Movement(
                _clock(rng, 9, 16), "委托收款", -rng.randint(250_000_00, 400_000_00), "国网示范市供电公司", "电费"
            )
        )
        moves.append(
            _Movement(
                _clock(rng, 9, 16), "委托收款", -rng.randint(60_000_00, 90_000_00), "示范市自来水有限公司", "水费"
            )
        )
    if day.day == 21 and day.month in (3, 6, 9, 12):
        moves.append(_Movement(time(0, 30, 0), "结息", rng.randint(20_000_00, 60_000_00), BANK_NAME, "活期存款利息"))
    return moves


def _research_day(rng: random.Random, day: date, opening_fen: int) -> list[_Movement]:
    moves = []
    if opening_fen < 1_000_000_00:
        moves.append(_Movement(time(9, 30, 0), "科研经费拨入", 2_000_000_00, "国家自然科学基金委员会", "科研项目经费"))
    if day.weekday() < 5:
        if rng.random() < 0.3:
            supplier = rng.choice(("示范市生物试剂有限公司", "赛默飞世尔科技（中国）有限公司"))
            moves.append(
                _Movement(_clock(rng, 9, 16), "网银转账", -rng.randint(5_000_00, 80_000_00), supplier, "试剂耗材款")
            )
        if rng.random() < 0.1:
            moves.append(
                _Movement(
                    _clock(rng, 9, 16), "代付", -rng.randint(1_000_00, 8_000_00), rng.choice(_STAFF), "差旅费报销"
                )
            )
    if day.day == 8 and rng.random() < 0.25:
        moves.append(
            _Movement(
                _clock(rng, 10, 15),
                "科研经费拨入",
                rng.randint(300_000_00, 900_000_00),
                "示范省科学技术厅",
                "省级科研项目经费",
            )
        )
    if day.day == 21 and day.month in (3, 6, 9, 12):
        moves.append(_Movement(time(0, 30, 0), "结息", rng.randint(2_000_00, 6_000_00), BANK_NAME, "活期存款利息"))
    return moves


class StatementBook:
    """Generates and remembers days; balances are carried forward from each account's opening."""

    def __init__(self, accounts: tuple[BankAccount, ...] = DEMO_ACCOUNTS) -> None:
        self.accounts = {account.number: account for account in accounts}
        self._days: dict[str, list[tuple[Transaction, ...]]] = {a.number: [] for a in accounts}
        self._lock = threading.Lock()

    def account(self, number: str) -> BankAccount | None:
        return self.accounts.get(number)

    def _closing(self, account: BankAccount, offset: int) -> int:
        """Closing balance of day `offset` (already generated); quiet days carry the last balance."""
        days = self._days[account.number]
        while offset >= 0:
            if days[offset]:
                return days[offset][-1].balance_fen
            offset -= 1
        return account.opening_balance_fen

    def day(self, account: BankAccount, day: date) -> tuple[Transaction, ...]:
        """The booked transactions of one day (empty before the account was opened)."""
        offset = (day - account.opened).days
        if offset < 0:
            return ()
        with self._lock:
            days = self._days[account.number]
            while len(days) <= offset:
                days.append(
                    self._generate(
                        account, account.opened + timedelta(days=len(days)), self._closing(account, len(days) - 1)
                    )
                )
            return days[offset]

    def _generate(self, account: BankAccount, day: date, opening_fen: int) -> tuple[Transaction, ...]:
        rng = random.Random(f"{account.number}|{day.isoformat()}")
        maker = _basic_day if account.profile == "basic" else _research_day
        moves = sorted(maker(rng, day, opening_fen), key=lambda m: m.at)
        balance = opening_fen
        txns = []
        for seq, move in enumerate(moves, start=1):
            balance += move.amount_fen
            txns.append(
                Transaction(
                    txn_id=f"{day:%Y%m%d}{account.index:02d}{seq:05d}",
                    account_number=account.number,
                    booked_at=datetime.combine(day, move.at),
                    summary=move.summary,
                    debit_fen=-move.amount_fen if move.amount_fen < 0 else 0,
                    credit_fen=move.amount_fen if move.amount_fen > 0 else 0,
                    balance_fen=balance,
                    counterparty_name=move.counterparty,
                    counterparty_account=counterparty_account(move.counterparty),
                    counterparty_bank=counterparty_bank(move.counterparty),
                    purpose=move.purpose,
                )
            )
        return tuple(txns)

    def statement(self, account: BankAccount, start: date, end: date) -> Statement:
        """Transactions from start to end inclusive, with the balances either side."""
        start = max(start, account.opened)
        self.day(account, max(start, end))  # generates every day up to the end once
        with self._lock:
            opening = self._closing(account, (start - account.opened).days - 1)
        txns: list[Transaction] = []
        current = start
        while current <= end:
            txns.extend(self.day(account, current))
            current += timedelta(days=1)
        closing = txns[-1].balance_fen if txns else opening
        return Statement(account, start, end, opening, closing, tuple(txns))

    def find(self, txn_id: str) -> tuple[BankAccount, Transaction] | None:
        """Locate a transaction by its serial number (date + account index + sequence)."""
        if len(txn_id) != 15 or not txn_id.isdigit():
            return None
        try:
            day = datetime.strptime(txn_id[:8], "%Y%m%d").date()
        except ValueError:
            return None
        account = next((a for a in self.accounts.values() if a.index == int(txn_id[8:10])), None)
        if account is None or day > date.today():
            return None
        for txn in self.day(account, day):
            if txn.txn_id == txn_id:
                return account, txn
        return None
