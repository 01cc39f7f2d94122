"""Statement parsers: CSV/Excel by column map (GBK and UTF-8), camt.053, MT940, OFX, and bad input."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest
from openpyxl import Workbook

from extractors.statements import (
    ColumnMap,
    CurrencyMismatch,
    DuplicateStatement,
    MissingColumns,
    NoStatementData,
    OverlappingStatement,
    StatementError,
    StatementSpan,
    check_new_statement,
    detect_encoding,
    load_day,
    parse_channel_bill,
    parse_statement,
)

ICBC_CSV = (
    "账号：1001234509000012345,户名：某市第一人民医院\n"
    "交易时间,凭证号,对方单位名称,对方账号,摘要,借方发生额,贷方发生额,余额,币种\n"
    "2024-03-01 09:12:00,000123,国药控股股份有限公司,6222000011112222,货款（三月）,\"1,200.50\",,98799.50,人民币\n"
    "2024-03-01 15:00:00,000124,北京市医疗保障事务中心,110000001,医保结算款,,25000.00,123799.50,人民币\n"
    "合计,,,,,1200.50,25000.00,,\n"
)


def write(tmp_path: Path, name: str, text: str, encoding: str) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8", "utf-8-sig"])
def test_icbc_csv_in_every_encoding(tmp_path: Path, encoding: str) -> None:
    path = write(tmp_path, "icbc.csv", ICBC_CSV, encoding)
    statement = parse_statement(path, account="1001234509000012345", bank="icbc")
    lines = statement.lines
    assert lines["amount_fen"].tolist() == [-120_050, 2_500_000]
    assert lines["amount_fen"].dtype == np.int64
    assert lines["reference"].tolist() == ["000123", "000124"]  # leading zeros kept
    assert lines["counterparty_name"].iloc[0] == "国药控股股份有限公司"
    assert lines["memo"].iloc[0] == "货款（三月）"  # Chinese text intact
    assert str(lines["booked_at"].dt.tz) == "Asia/Shanghai"
    assert statement.closing_balance_fen == 12_379_950
    assert statement.period_start == date(2024, 3, 1)


def test_gbk_and_utf8_give_the_same_fingerprint(tmp_path: Path) -> None:
    a = parse_statement(write(tmp_path, "a.csv", ICBC_CSV, "gbk"), account="A", bank="icbc")
    b = parse_statement(write(tmp_path, "b.csv", ICBC_CSV, "utf-8-sig"), account="A", bank="icbc")
    assert a.fingerprint == b.fingerprint
    assert detect_encoding(ICBC_CSV.encode("gbk")) == "gb18030"
    assert detect_encoding(ICBC_CSV.encode("utf-8")) == "utf-8-sig"


CITYBANK_CSV = (
    "账户明细查询\n"
    "账号,33010201040012345,户名,某市第一人民医院\n"
    "起始日期,2024-03-01,终止日期,2024-03-01,币种,人民币\n"
    "期初余额,1000.00,期末余额,1349.50\n"
    "\n"
    "交易日期,交易时间,摘要,借方发生额,贷方发生额,余额,对方户名,对方账号,对方开户行,交易流水号,用途\n"
    "2024-03-01,09:05:07,医保结算,,400.00,1400.00,北京市医疗保障事务中心,110000001,某行,202403010100001,医保\n"
    "2024-03-01,16:40:00,手续费,0.50,,1399.50,,,,202403010100002,\n"
    "2024-03-01,23:59:59,转账支出,50.00,,1349.50,某某物业,6222,某行,202403010100003,物业费\n"
)


def test_split_date_and_time_columns_make_one_timestamp(tmp_path: Path) -> None:
    path = write(tmp_path, "statement.csv", CITYBANK_CSV, "gbk")
    statement = parse_statement(path, account="33010201040012345", bank="citybank")
    lines = statement.lines
    assert [t.strftime("%Y-%m-%d %H:%M:%S") for t in lines["booked_at"]] == [
        "2024-03-01 09:05:07", "2024-03-01 16:40:00", "2024-03-01 23:59:59"]
    assert str(lines["booked_at"].dt.tz) == "Asia/Shanghai"  # 23:59:59 local stays on the 1st
    assert lines["amount_fen"].tolist() == [40_000, -50, -5_000]
    assert lines["reference"].tolist() == ["202403010100001", "202403010100002", "202403010100003"]
    assert statement.closing_balance_fen == 134_950
    assert statement.period_end == date(2024, 3, 1)


def test_unreadable_time_of_day_names_row_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "statement.csv", CITYBANK_CSV.replace("16:40:00", "下午四点"), "utf-8")
    with pytest.raises(StatementError) as refused:
        parse_statement(path, account="33010201040012345", bank="citybank")
    [problem] = refused.value.problems
    assert (problem.row, problem.column) == (8, "交易时间") and "下午四点" in problem.message


def test_excel_with_signed_amount_and_direction(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["中国农业银行 账户明细"])
    sheet.append(["交易时间", "交易金额", "借贷标志", "交易流水号", "对方户名", "交易用途"])
    sheet.append(["2024-03-02 10:00:00", 1999.99, "贷", "0009", "支付宝（中国）网络技术有限公司", "结算"])
    sheet.append(["20240302", "300.10", "借", "0010", "某某物业", "物业费"])
    path = tmp_path / "abc.xlsx"
    book.save(path)
    lines = parse_statement(path, account="A", bank="abc").lines
    assert lines["amount_fen"].tolist() == [199_999, -30_010]
    assert lines["reference"].tolist() == ["0009", "0010"]


def test_renamed_column_names_what_is_missing_and_what_was_seen(tmp_path: Path) -> None:
    text = ICBC_CSV.replace("贷方发生额", "收入").replace("借方发生额", "支出")
    with pytest.raises(MissingColumns) as err:
        parse_statement(write(tmp_path, "x.csv", text, "gbk"), account="A", bank="icbc")
    message = str(err.value)
    assert "x.csv" in message and "'amount or debit+credit'" in message and "收入" in message


def test_bad_amount_and_date_are_reported_with_rows(tmp_path: Path) -> None:
    text = ICBC_CSV.replace("2024-03-01 15:00:00", "2024-13-45").replace('"1,200.50"', "一千")
    with pytest.raises(StatementError) as err:
        parse_statement(write(tmp_path, "bad.csv", text, "utf-8"), account="A", bank="icbc")
    rows = {(p.row, p.column) for p in err.value.problems}
    assert (3, "借方发生额") in rows and (4, "交易时间") in rows


def test_currency_mismatch(tmp_path: Path) -> None:
    text = ICBC_CSV.replace("25000.00,123799.50,人民币", "25000.00,123799.50,美元")
    with pytest.raises(CurrencyMismatch) as err:
        parse_statement(write(tmp_path, "usd.csv", text, "gbk"), account="A", bank="icbc")
    assert err.value.problems[0].row == 4 and "USD" in str(err.value)


def test_empty_file_and_empty_day_are_no_data(tmp_path: Path) -> None:
    empty = write(tmp_path, "empty.csv", "", "utf-8")
    with pytest.raises(NoStatementData):
        parse_statement(empty, account="A", bank="icbc")
    header_only = write(tmp_path, "h.csv", ICBC_CSV.split("\n")[1] + "\n", "utf-8")
    with pytest.raises(NoStatementData):
        parse_statement(header_only, account="A", bank="icbc")
    assert load_day([], date(2024, 3, 1), account="A").no_data
    day = load_day([empty], date(2024, 3, 1), account="A", bank="icbc")
    assert day.no_data and day.empty_files == ("empty.csv",)


def test_duplicate_and_overlapping_statements(tmp_path: Path) -> None:
    first = parse_statement(write(tmp_path, "a.csv", ICBC_CSV, "gbk"), account="A", bank="icbc")
    again = parse_statement(write(tmp_path, "b.csv", ICBC_CSV, "utf-8"), account="A", bank="icbc")
    span = StatementSpan("#1", "A", first.fingerprint, first.period_start, first.period_end)
    with pytest.raises(DuplicateStatement):
        check_new_statement(again, [span])
    later = parse_statement(write(tmp_path, "c.csv", ICBC_CSV.replace("000124", "000125"), "gbk"),
                            account="A", bank="icbc")
    with pytest.raises(OverlappingStatement) as err:
        check_new_statement(later, [span])
    assert "2024-03-01" in str(err.value)
    check_new_statement(later, [StatementSpan("#2", "B", "x", first.period_start, first.period_end)])


CAMT = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<GrpHdr><MsgId>M1</MsgId><CreDtTm>2024-03-02T08:00:00</CreDtTm></GrpHdr>
<Stmt><Id>S1</Id><Acct><Id><Othr><Id>1001</Id></Othr></Id><Ccy>CNY</Ccy></Acct>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="CNY">5000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<Dt><Dt>2024-03-01</Dt></Dt></Bal>
<Ntry><Amt Ccy="CNY">1234.56</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2024-03-01</Dt></BookgDt>
<ValDt><Dt>2024-03-01</Dt></ValDt><AcctSvcrRef>BANKREF1</AcctSvcrRef>
<NtryDtls><TxDtls><Refs><EndToEndId>HX0001</EndToEndId></Refs>
<RltdPties><Dbtr><Nm>上海市医疗保障局</Nm></Dbtr></RltdPties>
<RmtInf><Ustrd>医保拨付 三月</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
<Ntry><Amt Ccy="CNY">20.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2024-03-01</Dt></BookgDt>
<AcctSvcrRef>FEE9</AcctSvcrRef><AddtlNtryInf>手续费</AddtlNtryInf></Ntry>
</Stmt></BkToCstmrStmt></Document>"""

MT940 = """:20:STMT0301
:25:1001234509
:28C:1/1
:60F:C240229CNY1000,00
:61:2403010301C1234,56NTRFHX0001//BANK1
:86:医保拨付 三月
:61:2403010301D20,00NCHGNONREF//FEE9
:86:手续费
:62F:C240301CNY2214,56
"""

OFX = """OFXHEADER:100
DATA:OFXSGML
VERSION:102
SECURITY:NONE
ENCODING:USASCII
CHARSET:1252
COMPRESSION:NONE
OLDFILEUID:NONE
NEWFILEUID:NONE

<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS><DTSERVER>20240302<LANGUAGE>ENG</SONRS></SIGNONMSGSRSV1>
<BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS><STMTRS><CURDEF>CNY
<BANKACCTFROM><BANKID>ICBC<ACCTID>1001<ACCTTYPE>CHECKING</BANKACCTFROM>
<BANKTRANLIST><DTSTART>20240301<DTEND>20240301
<STMTTRN><TRNTYPE>CREDIT<DTPOSTED>20240301100000[+8:CST]<TRNAMT>1234.56<FITID>F1<REFNUM>HX0001
<NAME>Medical Insurance<MEMO>March</STMTTRN>
<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20240301120000[+8:CST]<TRNAMT>-20.00<FITID>F2<NAME>Bank fee</STMTTRN>
</BANKTRANLIST><LEDGERBAL><BALAMT>2214.56<DTASOF>20240301</LEDGERBAL></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>
"""


@pytest.mark.parametrize(("name", "text", "encoding"), [("s.xml", CAMT, "utf-8"), ("s.sta", MT940, "gbk"),
                                                        ("s.sta", MT940, "utf-8"), ("s.ofx", OFX, "ascii")])
def test_structured_formats(tmp_path: Path, name: str, text: str, encoding: str) -> None:
    statement = parse_statement(write(tmp_path, name, text, encoding), account="1001")
    lines = statement.lines
    assert lines["amount_fen"].tolist() == [123_456, -2_000]
    assert lines["reference"].iloc[0] == "HX0001"
    assert lines["booked_at"].dt.date.tolist() == [date(2024, 3, 1)] * 2
    assert statement.currency == "CNY"
    if name != "s.ofx":
        assert lines["memo"].iloc[0] == "医保拨付 三月"
    if name != "s.xml":
        assert statement.closing_balance_fen == 221_456


def test_wechat_bill(tmp_path: Path) -> None:
    text = ("微信支付账单明细\n"
            "交易时间,公众账号ID,商户号,微信订单号,商户订单号,交易类型,交易状态,应结订单金额,微信退款单号,商户退款单号,"
            "退款金额,手续费,费率\n"
            "`2024-03-01 08:00:01,`wx1,`1900,`4200001,`HO0001,`JSAPI,`SUCCESS,`10.00,`0,`0,`0.00,`0.06,`0.60%\n"
            "`2024-03-01 09:00:01,`wx1,`1900,`4200001,`HO0001,`JSAPI,`REFUND,`0.00,`5000001,`RF01,`5.00,`-0.03,`0.60%\n"
            "总交易单数,应结订单总金额\n")
    bill = parse_channel_bill(write(tmp_path, "wx.csv", text, "gbk"), ColumnMap.load("wechat"))
    assert bill["kind"].tolist() == ["payment", "refund"]
    assert bill["amount_fen"].tolist() == [1_000, 500] and bill["fee_fen"].tolist() == [6, -3]
    assert bill["order_id"].tolist() == ["HO0001", "HO0001"] and bill["refund_id"].tolist() == ["", "RF01"]
