"""A reconciliation day as finance files it in Excel: the bank's 银行存款余额调节表 with its matches and open items,
and the three-way exceptions by type and status.

Only the layout is chosen here (titled sheets of ``smartfin.kernel.spreadsheet``: title, 单位：元, frozen header);
the figures come from the run's stored matches and exceptions and, for the statement, from the
``BalanceStatement`` the bank flow computed, so the workbook says exactly what the run decided.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from smartfin.kernel.money import from_fen
from smartfin.kernel.spreadsheet import Row, TitledSheet, xlsx_bytes
from smartfin.reconciliation.balance import BalanceStatement
from smartfin.reconciliation.models import Match, ReconciliationRun, ReconException

EXCEPTION_NAMES = {
    "HIS_ONLY": "HIS 单边 HIS only", "CHANNEL_ONLY": "渠道单边 Channel only",
    "AMOUNT_MISMATCH": "金额不符 Amount mismatch",
    "DUPLICATE_REFUND": "重复退款 Duplicate refund", "REFUND_WITHOUT_PAYMENT": "无原交易退款 Refund without payment",
    "SETTLEMENT_MISMATCH": "结算不符 Settlement mismatch", "CASHIER_LONG": "长款 Cashier long",
    "CASHIER_SHORT": "短款 Cashier short", "PREPAYMENT_IMBALANCE": "预交金不平 Prepayment imbalance",
    "PREPAYMENT_OPENING_MISMATCH": "预交金期初不符 Prepayment opening mismatch",
    "BANK_ONLY": "银行已记单位未记 Bank only", "LEDGER_ONLY": "单位已记银行未记 Ledger only",
    "BALANCE_DIFFERENCE": "余额调节表不平 Balance difference", "INPUT_REJECTED": "文件被拒收 Input rejected",
    "NO_DATA": "无数据 No data",
}
STATEMENT_HEADER = ("银行方 Bank side", "金额 Amount", "单位账方 Ledger side", "金额 Amount")
MATCH_HEADER = ("账户 Account", "层级 Level", "规则 Rule", "评分 Score", "状态 Status", "金额 Amount",
                "银行方 Left ids", "单位方 Right ids", "处理人 Resolved by")
EXCEPTION_HEADER = ("范围 Scope", "编号 Id", "类型 Type", "层级 Level", "渠道 Channel", "金额 Amount", "状态 Status",
                    "说明 Detail", "关联 References", "处理 Resolution", "处理人 Resolved by")
SUMMARY_HEADER = ("类型 Type", "状态 Status", "笔数 Count", "金额 Amount")


@dataclass(frozen=True)
class AccountDay:
    """One account's day: its stored run (None when nothing was stored), the statement when both closing
    balances were known, and why there is none otherwise."""

    account: str
    run: ReconciliationRun | None
    statement: BalanceStatement | None
    problem: str = ""


def statement_rows(statement: BalanceStatement) -> list[Row]:
    """余额调节表, both sides: bank balance + receipts in transit − payments in transit = ledger balance + bank-only
    credits − bank-only debits; a difference no open item explains is its own row."""
    rows: list[Row] = [
        ["银行对账单余额 Bank statement balance", statement.bank_balance,
         "单位日记账余额 Ledger balance", statement.ledger_balance],
        ["加：单位已收、银行未收 Add: ledger-only receipts", statement.ledger_only_receipts,
         "加：银行已收、单位未收 Add: bank-only credits", statement.bank_only_credits],
        ["减：单位已付、银行未付 Less: ledger-only payments", statement.ledger_only_payments,
         "减：银行已付、单位未付 Less: bank-only debits", statement.bank_only_debits],
        ["调节后余额 Adjusted balance", statement.bank_adjusted, "调节后余额 Adjusted balance",
         statement.ledger_adjusted],
    ]
    if not statement.balanced:
        rows.append(["差额 Difference (bank − ledger)", statement.difference, "不平衡 Does not balance", None])
    return rows


def _exception_row(scope: str, exception: ReconException) -> Row:
    return [scope, exception.id, EXCEPTION_NAMES.get(exception.type, exception.type), exception.level,
            exception.channel, from_fen(exception.amount_fen), exception.status, exception.detail,
            ", ".join(exception.references), exception.resolution, exception.resolved_by]


def bank_reconciliation_xlsx(day: date, accounts: Sequence[AccountDay], matches: Sequence[Match],
                             exceptions: Sequence[ReconException]) -> bytes:
    """The day's bank reconciliation: one 余额调节表 sheet per account, then every match and every exception.

    ``matches`` and ``exceptions`` are the stored rows of the accounts' runs (their ``run_id`` names the account).
    """
    scope_of = {a.run.id: a.account for a in accounts if a.run is not None}
    sheets: list[TitledSheet] = []
    for number, account in enumerate(accounts, start=1):
        notes = [f"账户 account {account.account}；业务日 business day {day.isoformat()}"]
        if account.statement is None:
            notes.append(f"未编制 not prepared: {account.problem or '缺少期末余额 a closing balance is missing'}")
            rows: list[Row] = []
        else:
            verdict = "平衡 balanced" if account.statement.balanced else "不平衡 does not balance"
            notes.append(f"结果 result: {verdict}")
            rows = statement_rows(account.statement)
        sheets.append(TitledSheet(f"余额调节表 {number}", "银行存款余额调节表 Bank reconciliation statement",
                                  STATEMENT_HEADER, rows, notes))
    sheets.append(TitledSheet(
        "匹配 Matches", "银行对账匹配 Bank reconciliation matches", MATCH_HEADER,
        [[scope_of.get(m.run_id, str(m.run_id)), m.level, m.rule, m.score, m.status, from_fen(m.amount_fen),
          ", ".join(m.left_ids), ", ".join(m.right_ids), m.resolved_by] for m in matches],
        [f"业务日 business day {day.isoformat()}；{len(matches)} 组 matches"]))
    sheets.append(TitledSheet(
        "未达及例外 Exceptions", "未达账项及例外 Open items and exceptions", EXCEPTION_HEADER,
        [_exception_row(scope_of.get(e.run_id, str(e.run_id)), e) for e in exceptions],
        [f"业务日 business day {day.isoformat()}；{len(exceptions)} 项 items"]))
    return xlsx_bytes(sheets)


def exception_summary_rows(exceptions: Sequence[ReconException]) -> list[Row]:
    """Count and amount per type and status, then the total: the reviewer's first look at a day."""
    counts: Counter[tuple[str, str]] = Counter()
    amounts: Counter[tuple[str, str]] = Counter()
    for exception in exceptions:
        counts[(exception.type, exception.status)] += 1
        amounts[(exception.type, exception.status)] += exception.amount_fen
    rows: list[Row] = [[EXCEPTION_NAMES.get(kind, kind), status, counts[(kind, status)],
                        from_fen(amounts[(kind, status)])] for kind, status in sorted(counts)]
    rows.append(["合计 total", None, len(exceptions), from_fen(sum(e.amount_fen for e in exceptions))])
    return rows


def three_way_exceptions_xlsx(run: ReconciliationRun, exceptions: Sequence[ReconException]) -> bytes:
    """A three-way day's exceptions (HIS ↔ channel ↔ bank, cashier, prepayment): a summary by type and status,
    then every exception with its detail, references and resolution."""
    notes = [f"医院 hospital {run.scope}；业务日 business day {run.business_date.isoformat()}；"
             f"结果 outcome {run.outcome}；自动匹配 auto-matched {run.auto_matched_count}"]
    return xlsx_bytes([
        TitledSheet("汇总 Summary", "三方对账差异汇总 Three-way exceptions by type", SUMMARY_HEADER,
                    exception_summary_rows(exceptions), notes),
        TitledSheet("差异明细 Exceptions", "三方对账差异明细 Three-way exceptions", EXCEPTION_HEADER,
                    [_exception_row(run.scope, e) for e in exceptions], notes),
    ])
