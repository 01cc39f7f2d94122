"""Day folders for the reconciliation flow tests: bank statements, bank journal exports, HIS and channel files.

Written as the hospital's systems write them (ICBC CSV with title line, GBK or UTF-8; WeChat bill
CSV; HIS export), so the flows are exercised through the real parsers.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

ICBC_HEADER = "交易时间,凭证号,对方单位名称,对方账号,摘要,借方发生额,贷方发生额,余额,币种\n"


def statement_csv(account: str, rows: list[tuple[str, str, str, str, str, str, str]],
                  currency: str = "人民币") -> str:
    """ICBC export; each row (time, ref, counterparty, memo, debit, credit, balance)."""
    body = "".join(f"{t},{ref},{cp},6222000011112222,{memo},{debit},{credit},{bal},{currency}\n"
                   for t, ref, cp, memo, debit, credit, bal in rows)
    return f"账号：{account},户名：某市第一人民医院\n" + ICBC_HEADER + body


def ledger_csv(rows: list[tuple[str, str, str, str, str]], balance: str | None) -> str:
    """Bank journal export; rows (entry_id, date, amount, reference, counterparty)."""
    lines = ["entry_id,date,amount,reference,counterparty,balance"]
    for i, (eid, day, amount, ref, cp) in enumerate(rows):
        lines.append(f"{eid},{day},{amount},{ref},{cp},{balance if i == len(rows) - 1 and balance else ''}")
    return "\n".join(lines) + "\n"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def clean_bank_day(root: Path, account: str, day: date, encoding: str = "utf-8") -> Path:
    """A day whose two statement lines match the journal: one by reference, one by amount and payee."""
    folder = root / "bank" / account / day.isoformat()
    d = day.isoformat()
    write(folder / "statement.csv", statement_csv(account, [
        (f"{d} 09:12:00", "000123", "国药控股股份有限公司", "货款", "\"1,200.50\"", "", "98799.50"),
        (f"{d} 15:00:00", "000124", "北京市医疗保障事务中心", "医保结算款", "", "25000.00", "123799.50"),
    ]), encoding)
    write(folder / "ledger.csv", ledger_csv([
        ("J-1", d, "-1200.50", "000123", "国药控股股份有限公司"),
        ("J-2", d, "25000.00", "", "北京市医疗保障事务中心"),
    ], "123799.50"))
    return folder


def bank_accounts_env(*accounts: str) -> str:
    return json.dumps([{"account": a, "bank": "icbc", "portal_account": f"login-{a}"} for a in accounts])


WECHAT_HEADER = "交易时间,微信订单号,商户订单号,交易状态,应结订单金额,商户退款单号,退款金额,手续费\n"
HIS_HEADER = "his_txn_id,channel,order_id,refund_id,kind,amount,occurred_at,cashier\n"


def three_way_day(root: Path, hospital: str, account: str, day: date, *, his_only: bool = False,
                  encoding: str = "utf-8") -> Path:
    """HIS, WeChat bill, cash and the T+1 statement of one day; ``his_only`` adds an HIS-only payment."""
    folder = root / "three-way" / hospital / day.isoformat()
    d = day.isoformat()
    his = HIS_HEADER + (f"H1,wechat,O1,,payment,10.00,{d} 09:00:00,C1\n"
                        f"H2,wechat,O2,,payment,50.00,{d} 09:05:00,C1\n"
                        f"H3,cash,,,payment,20.00,{d} 09:10:00,C1\n")
    if his_only:
        his += f"H4,wechat,O9,,payment,30.00,{d} 10:00:00,C1\n"
    write(folder / "his.csv", his)
    write(folder / "wechat.csv", WECHAT_HEADER + f"{d} 09:00:00,W1,O1,SUCCESS,10.00,,,0.06\n"
                                                 f"{d} 09:05:00,W2,O2,SUCCESS,50.00,,,0.30\n", encoding)
    write(folder / "cash.csv", "cashier,amount\nC1,20.00\n")
    settle = date.fromordinal(day.toordinal() + 1)
    s = settle.isoformat()
    write(root / "bank" / account / s / "statement.csv", statement_csv(account, [
        (f"{s} 10:00:00", "900001", "财付通支付科技有限公司", "微信结算", "", "59.64", "10059.64"),
    ]), encoding)
    return folder
