"""Insurance reports: a workbook and a one-page HTML report per day and per month, from the stored runs.

The workbook (the house spreadsheet writer, every text cell neutralised, money as exact numbers) holds the
run's exceptions and its tie-out or clearing; the page shows the headline figures and bar charts of the
exceptions by kind, the receivables by age and the DRG/DIP surplus or loss per department.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import pandas as pd

from smartfin.insurance.monthly import AGING_BUCKETS
from smartfin.kernel.charts import AMBER, BLUE, GREEN, RED, SERIES, Bar, bar_chart, cards, esc, legend, page
from smartfin.kernel.money import from_fen
from smartfin.kernel.spreadsheet import Row, Sheet, TitledSheet, xlsx_bytes

TYPE_LABELS = {"employee": "职工 Employees", "resident": "居民 Residents", "offsite": "异地 Off-site"}
EXCEPTION_LABELS = {
    "his_only": "HIS有平台无 HIS only", "platform_only": "平台有HIS无 Platform only",
    "amount_mismatch": "金额不符 Amount mismatch", "reversal_without_original": "冲正无原交易 Reversal w/o original",
    "reversal_mismatch": "冲正金额不符 Reversal mismatch", "reversal_repeated": "重复冲正 Reversed twice",
    "duplicate_settlement": "重复结算 Duplicate", "negative_component": "负数基金分项 Negative component",
    "total_mismatch": "汇总不符 Totals differ", "input_missing": "缺少文件 Input missing",
    "input_refused": "文件被拒收 File refused", "statement_unbalanced": "清算单不平 Statement unbalanced",
    "items_mismatch": "明细不符 Items differ", "declared_mismatch": "申报与HIS不符 Declared ≠ HIS",
    "disbursement_unmatched": "拨付未到账 Disbursement not received",
    "receipt_unmatched": "到账无对应 Receipt unmatched",
}
EXCEPTION_HEADER = ("类型 Type", "结算号 Settlement", "险种 Insurance", "分项 Component", "HIS/计算 Ours",
                    "对方 Theirs", "说明 Detail", "状态 Status")


def yuan(fen: int | None) -> str:
    """Fen as people read money: ``¥1,234.56``; a dash when there is no amount."""
    return "—" if fen is None or pd.isna(fen) else f"¥{from_fen(int(fen)):,.2f}"


def _money(fen: object) -> Decimal | None:
    return None if fen is None or pd.isna(fen) else from_fen(int(fen))  # type: ignore[arg-type]


def _text(value: object) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def exception_rows(exceptions: pd.DataFrame) -> list[Row]:
    """The exceptions as workbook rows."""
    return [(EXCEPTION_LABELS.get(r["type"], r["type"]), _text(r["settlement_id"]), _text(r["insurance_type"]),
             _text(r["component"]), _money(r["his_fen"]), _money(r["other_fen"]), r["detail"], r["status"])
            for r in exceptions.to_dict("records")]


TIE_HEADER = ("险种 Insurance", "分项 Component", "HIS", "平台明细 Platform detail", "平台汇总 Platform total",
              "明细可解释 Explained", "未解释 Residual")


def daily_workbook(day: str, exceptions: pd.DataFrame, ties: pd.DataFrame) -> bytes:
    """The day's exceptions and the tie-out of its totals per insurance type, titled like the other reports
    (title, day, 单位：元, header frozen beneath), so that finance prints it as it is."""
    tie_rows: list[Row] = [(TYPE_LABELS.get(r["insurance_type"], r["insurance_type"]), r["component"],
                            *(int(r[c]) if r["component"] == "count" else from_fen(int(r[c]))
                              for c in ("his_fen", "platform_detail_fen", "platform_total_fen", "explained_fen",
                                        "residual_fen")))
                           for r in ties.to_dict("records")]
    notes = [f"结算日 settlement day {day}"]
    sheets: Sequence[Sheet] = [
        TitledSheet("异常 Exceptions", "医保日对账异常 Daily insurance exceptions", EXCEPTION_HEADER,
                    exception_rows(exceptions), [*notes, f"{len(exceptions)} 项 items"]),
        TitledSheet("汇总核对 Totals", "医保日结算汇总核对 Daily insurance totals tie-out", TIE_HEADER, tie_rows,
                    [*notes, "人次行为笔数 rows of component count are numbers of settlements"]),
    ]
    return xlsx_bytes(sheets)


def monthly_workbook(month: str, statements: pd.DataFrame, exceptions: pd.DataFrame, aging: pd.DataFrame,
                     groups: pd.DataFrame) -> bytes:
    """The month's clearing statements, exceptions, receivables by age and DRG/DIP results, each sheet titled
    with the month and 单位：元 above a frozen header."""
    statement_rows: list[Row] = [
        (TYPE_LABELS.get(s["insurance_type"], s["insurance_type"]), s["statement_no"], s["issued_on"],
         *(from_fen(int(s[c])) for c in ("declared_fen", "approved_fen", "refused_fen", "deducted_fen",
                                         "retained_fen", "disbursed_fen")), "是 yes" if s["balanced"] else "否 NO")
        for s in statements.to_dict("records")]
    aging_rows: list[Row] = [(TYPE_LABELS.get(a["insurance_type"], a["insurance_type"]),
                              *(from_fen(int(a[b])) for b in (*AGING_BUCKETS, "outstanding_fen", "retention_fen")))
                             for a in aging.to_dict("records")]
    group_rows: list[Row] = [(g["method"], g["group_code"], g["department"], int(g["cases"]),
                              from_fen(int(g["payment_fen"])), from_fen(int(g["charge_fen"])),
                              from_fen(int(g["charge_surplus_fen"])), int(g["costed_cases"]), _money(g["cost_fen"]),
                              _money(g["cost_surplus_fen"])) for g in groups.to_dict("records")]
    notes = [f"清算月份 month {month}"]
    return xlsx_bytes([
        TitledSheet("清算单 Statements", "医保清算单 Insurance clearing statements", STATEMENT_HEADER, statement_rows,
                    notes),
        TitledSheet("异常 Exceptions", "医保月度对账异常 Monthly insurance exceptions", EXCEPTION_HEADER,
                    exception_rows(exceptions), [*notes, f"{len(exceptions)} 项 items"]),
        TitledSheet("账龄 Aging", "医保应收账龄 Insurance receivables by age", AGING_HEADER, aging_rows, notes),
        TitledSheet("DRG-DIP", "DRG/DIP 病组盈亏 DRG/DIP results by group", GROUP_HEADER, group_rows, notes),
    ])


STATEMENT_HEADER = ("险种 Insurance", "清算单号 Statement", "清算日期 Issued", "申报 Declared", "核定 Approved",
                    "拒付 Refused", "扣款 Deducted", "质保金 Retained", "拨付 Disbursed", "平衡 Balanced")
AGING_HEADER = ("险种 Insurance", *(f"{b} 天 days" for b in AGING_BUCKETS), "应收合计 Outstanding",
                "质保金 Retention")
GROUP_HEADER = ("方式 Method", "病组 Group", "科室 Department", "例数 Cases", "支付 Payment", "收费 Charges",
                "支付−收费 vs charges", "有成本例数 Costed", "成本 Cost", "支付−成本 vs cost")


def _exception_bars(exceptions: pd.DataFrame) -> str:
    counts = exceptions["type"].value_counts() if len(exceptions) else pd.Series(dtype=int)
    bars = [Bar(EXCEPTION_LABELS.get(str(k), str(k)), ((Decimal(int(v)), AMBER),), str(int(v)))
            for k, v in counts.items()]
    return bar_chart(bars, "异常 Exceptions by kind") if bars else "<p>无异常 No exception ✔</p>"


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def daily_page(day: str, status: str, summary: dict[str, int], exceptions: pd.DataFrame,
               ties: pd.DataFrame) -> str:
    """The day's page: headline, exceptions by kind, the totals that do not tie, the first exceptions."""
    totals = ties[ties["component"] == "total"]
    body = cards([("状态 Status", status), ("HIS 笔数 HIS rows", str(summary.get("his_rows", 0))),
                  ("平台笔数 Platform rows", str(summary.get("platform_rows", 0))),
                  ("匹配 Matched", str(summary.get("matched", 0))), ("异常 Exceptions", str(len(exceptions)))])
    body += _exception_bars(exceptions)
    body += "<h2>按险种汇总 Totals per insurance type</h2>" + _table(
        ("险种 Insurance", "HIS", "平台明细 Platform detail", "平台汇总 Platform total", "未解释 Residual"),
        [(TYPE_LABELS.get(r["insurance_type"], r["insurance_type"]), yuan(r["his_fen"]),
          yuan(r["platform_detail_fen"]), yuan(r["platform_total_fen"]), yuan(r["residual_fen"]))
         for r in totals.to_dict("records")])
    shown = exceptions.head(200)
    body += "<h2>异常明细 Exceptions</h2>" + _table((*EXCEPTION_HEADER[:4], "说明 Detail"), [
        (EXCEPTION_LABELS.get(r["type"], r["type"]), _text(r["settlement_id"]) or "",
         _text(r["insurance_type"]) or "", _text(r["component"]) or "", r["detail"])
        for r in shown.to_dict("records")])
    if len(exceptions) > len(shown):
        body += f"<p>… {len(exceptions) - len(shown)} more in the workbook</p>"
    return page(f"医保日对账 {day}", f"医保结算日对账 Insurance settlement reconciliation · {day}", body)


def monthly_page(month: str, status: str, statements: pd.DataFrame, exceptions: pd.DataFrame, aging: pd.DataFrame,
                 groups: pd.DataFrame) -> str:
    """The month's page: the clearing, exceptions, receivables by age, DRG/DIP surplus or loss."""
    body = cards([("状态 Status", status),
                  ("申报 Declared", yuan(int(statements["declared_fen"].sum()))),
                  ("拒付+扣款 Refused+deducted", yuan(int(statements["refused_fen"].sum()
                                                          + statements["deducted_fen"].sum()))),
                  ("拨付 Disbursed", yuan(int(statements["disbursed_fen"].sum()))),
                  ("异常 Exceptions", str(len(exceptions)))])
    body += _exception_bars(exceptions)
    colours = (GREEN, BLUE, AMBER, RED)
    bars = [Bar(TYPE_LABELS.get(a["insurance_type"], a["insurance_type"]),
                tuple((from_fen(int(a[b])), colours[i]) for i, b in enumerate(AGING_BUCKETS)),
                yuan(int(a["outstanding_fen"]))) for a in aging.to_dict("records")]
    body += "<h2>应收账龄 Receivables by age</h2>" + legend(
        [(colours[i], f"{b} 天 days") for i, b in enumerate(AGING_BUCKETS)]) + bar_chart(bars, "应收 Outstanding")
    if len(groups):
        by_department = groups.groupby("department")["charge_surplus_fen"].sum().sort_values()
        dept_bars = [Bar(str(d), ((abs(from_fen(int(v))), GREEN if v >= 0 else RED),), yuan(int(v)))
                     for d, v in by_department.items()]
        body += "<h2>DRG/DIP 结余 Surplus (green) or loss (red) against charges</h2>" + bar_chart(
            dept_bars, "支付 − 收费 Payment − charges per department")
    body += "<h2>异常明细 Exceptions</h2>" + _table(("类型 Type", "险种 Insurance", "说明 Detail"), [
        (EXCEPTION_LABELS.get(r["type"], r["type"]), _text(r["insurance_type"]) or "", r["detail"])
        for r in exceptions.to_dict("records")])
    body += legend([(SERIES[0], "金额均为人民币元 Amounts in yuan")])
    return page(f"医保月度清算 {month}", f"医保月度清算 Insurance clearing · {month}", body)
