"""Vouchers (contract 1): validation, the payment builder, and the process-variable round trip."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from smartfin.ports.vouchers import InvalidVoucher, Voucher, VoucherLine, payment_voucher

D = Decimal


def test_payment_voucher_books_expense_bank_and_the_parallel_budget_entry() -> None:
    voucher = payment_voucher(document_type="claim", document_no="CLM-2026-0007", booked_on=date(2026, 3, 5),
                              summary="差旅费报销 张伟", amount=D("1234.50"), attachments=3)
    assert voucher.external_ref == "claim:CLM-2026-0007"
    assert voucher.voucher_type == "付"
    assert [(line.account, line.debit, line.credit) for line in voucher.lines] == [
        ("5001", D("1234.50"), D("0.00")), ("1002", D("0.00"), D("1234.50"))]
    assert [(line.account, line.debit, line.credit) for line in voucher.budget_lines] == [
        ("7201", D("1234.50"), D("0.00")), ("8001", D("0.00"), D("1234.50"))]
    assert voucher.amount == D("1234.50")


def test_variable_round_trip_is_json_safe_and_exact() -> None:
    voucher = payment_voucher(document_type="spending-request", document_no="REQ-9", booked_on=date(2026, 1, 2),
                              summary="购买试剂", amount=D("0.10"))
    variable = voucher.as_variable()
    assert variable["lines"][0] == {"account": "5001", "summary": "购买试剂", "debit": "0.10", "credit": "0.00"}
    assert variable["bookedOn"] == "2026-01-02" and variable["externalRef"] == "spending-request:REQ-9"
    assert Voucher.from_variable(variable) == voucher


def test_unbalanced_voucher_is_refused_with_both_totals() -> None:
    with pytest.raises(InvalidVoucher) as refused:
        Voucher("claim", "C-1", date(2026, 1, 2), "记", "x", 0,
                (VoucherLine("5001", "x", D("100.00"), D(0)), VoucherLine("2302", "x", D(0), D("99.99"))))
    assert "借贷不平衡" in str(refused.value) and "100.00" in str(refused.value) and "99.99" in str(refused.value)


def test_cash_line_without_budget_lines_is_refused() -> None:
    with pytest.raises(InvalidVoucher, match="平行记账"):
        Voucher("claim", "C-2", date(2026, 1, 2), "付", "x", 0,
                (VoucherLine("5001", "x", D("10.00"), D(0)), VoucherLine("1002", "x", D(0), D("10.00"))))


def test_budget_amount_must_equal_net_cash() -> None:
    with pytest.raises(InvalidVoucher, match="货币资金净额"):
        Voucher("claim", "C-3", date(2026, 1, 2), "付", "x", 0,
                (VoucherLine("5001", "x", D("10.00"), D(0)), VoucherLine("1002", "x", D(0), D("10.00"))),
                (VoucherLine("7201", "x", D("9.00"), D(0)), VoucherLine("8001", "x", D(0), D("9.00"))))


def test_non_cash_transfer_needs_no_budget_lines() -> None:
    voucher = Voucher("asset", "FA-1", date(2026, 1, 2), "转", "固定资产入账", 1,
                      (VoucherLine("1601", "入账", D("50000.00"), D(0)),
                       VoucherLine("2302", "入账", D(0), D("50000.00"))))
    assert voucher.budget_lines == ()


@pytest.mark.parametrize(("change", "named"), [
    ({"bookedOn": "2026-13-01"}, "bookedOn"),
    ({"voucherType": "借"}, "voucher_type"),
    ({"summary": ""}, "summary"),
    ({"attachments": "3"}, "attachments"),
    ({"externalRef": "claim:OTHER"}, "externalRef"),
    ({"lines": "5001"}, "lines"),
])
def test_malformed_variable_names_the_field(change: dict[str, object], named: str) -> None:
    variable = payment_voucher(document_type="claim", document_no="C-4", booked_on=date(2026, 1, 2), summary="x",
                               amount=D("5.00")).as_variable()
    with pytest.raises(InvalidVoucher) as refused:
        Voucher.from_variable({**variable, **change})
    assert named in str(refused.value)


def test_float_amounts_are_refused_at_the_border() -> None:
    variable = payment_voucher(document_type="claim", document_no="C-5", booked_on=date(2026, 1, 2), summary="x",
                               amount=D("5.00")).as_variable()
    variable["lines"][0]["debit"] = 5.0
    with pytest.raises(InvalidVoucher, match="float"):
        Voucher.from_variable(variable)
