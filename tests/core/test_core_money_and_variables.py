"""Money parsing and typed engine variables: the borders where amounts most often go wrong."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from smartfin.camunda.variables import VariableTypeError, decode_variables, encode_value, encode_variables
from smartfin.kernel.money import InvalidAmount, format_yuan, from_fen, parse_amount, to_fen


@pytest.mark.parametrize("text, expected", [("1234.5", "1234.50"), ("¥1,234.56", "1234.56"), (" 7 ", "7.00"),
                                             ("0.10", "0.10"), (Decimal("3.1"), "3.10"), (12, "12.00"),
                                             ("1,234,567.00", "1234567.00"), ("￥12", "12.00")])
def test_amounts_a_clerk_writes_are_accepted(text, expected):
    assert parse_amount(text) == Decimal(expected)


@pytest.mark.parametrize("value, reason", [
    ("-5", "must not be negative"), ("abc", "is not a number"), ("12.345", "more than 2 decimal places"),
    ("", "is missing"), (None, "is missing"), (12.5, "not a float"), ("0", "greater than zero"),
    ("NaN", "not a finite number"), ("1000000000000000", "exceeds the largest"),
    # what a hostile or careless client sends instead of an amount
    ("1e3", "is not a number"), ("1,2,3", "is not a number"), ("１２３", "is not a number"), ("1٢3", "is not a number"),
])
def test_bad_amounts_are_refused_with_the_reason(value, reason):
    with pytest.raises(InvalidAmount, match=reason) as error:
        parse_amount(value, field="amount")
    assert error.value.field == "amount"


def test_fen_round_trip_is_exact():
    for text in ("0.01", "19182447.12", "999999999999.99"):
        assert from_fen(to_fen(Decimal(text))) == Decimal(text)
    assert format_yuan(Decimal("5")) == "5.00"
    with pytest.raises(InvalidAmount):
        to_fen(Decimal("0.001"))


def test_variables_are_sent_typed():
    encoded = encode_variables({"amount": Decimal("12.30"), "ok": True, "n": 3, "big": 2**40, "none": None,
                                "when": datetime(2026, 11, 23, 8, 0, tzinfo=UTC),
                                "day": date(2026, 11, 23),
                                "doc": {"value": "a business dict with a value key", "total": Decimal("1.10")}})
    assert encoded["amount"] == {"value": "12.30", "type": "String"}
    assert encoded["ok"]["type"] == "Boolean" and encoded["n"]["type"] == "Integer"
    assert encoded["big"]["type"] == "Long" and encoded["none"]["type"] == "Null"
    assert encoded["when"] == {"value": "2026-11-23T08:00:00.000+0000", "type": "Date"}
    assert encoded["day"] == {"value": "2026-11-23", "type": "String"}
    assert encoded["doc"]["type"] == "Json"
    assert json.loads(encoded["doc"]["value"]) == {"value": "a business dict with a value key", "total": "1.10"}
    assert decode_variables({"doc": encoded["doc"]})["doc"]["total"] == "1.10"


@pytest.mark.parametrize("value", [1.5, {"nested": [0.1]}, datetime(2026, 1, 1), object()])
def test_values_without_a_safe_engine_form_are_refused(value):
    with pytest.raises(VariableTypeError):
        encode_value("x", value)
