"""Uppercase amounts and unified social credit codes."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from extractors.invoice import (
    UppercaseAmountError,
    format_uppercase_amount,
    is_valid_uscc,
    parse_uppercase_amount,
    uscc_check_char,
)
from extractors.invoice.uscc import ALPHABET, is_valid_org_code_part, make_uscc


@pytest.mark.parametrize(("text", "amount"), [
    ("壹万零捌佰元整", "10800.00"),
    ("叁拾万元整", "300000.00"),
    ("壹佰贰拾叁元零伍分", "123.05"),
    ("⊗壹仟壹佰叁拾圆整", "1130.00"),
    ("人民币伍拾圆正", "50.00"),
    ("伍角", "0.50"),
    ("捌分", "0.08"),
    ("零元整", "0.00"),
    ("拾元整", "10.00"),
    ("壹拾万零壹圆整", "100001.00"),
    ("壹亿零伍佰万圆整", "105000000.00"),
    ("壹万亿圆整", "1000000000000.00"),
    ("玖仟玖佰玖拾玖圆玖角玖分", "9999.99"),
    ("壹圆伍角整", "1.50"),
    ("负壹佰圆整", "-100.00"),
    ("贰万零贰拾圆零贰分", "20020.02"),
])
def test_parse_uppercase(text: str, amount: str) -> None:
    assert parse_uppercase_amount(text) == Decimal(amount)


@pytest.mark.parametrize("text", ["", "壹贰圆", "圆整", "壹佰", "伍分整", "壹佰元伍", "ABC", "壹角壹角", "佰元整"])
def test_parse_uppercase_rejects_malformed(text: str) -> None:
    with pytest.raises(UppercaseAmountError):
        parse_uppercase_amount(text)


@pytest.mark.parametrize(("amount", "text"), [
    ("10800", "壹万零捌佰圆整"), ("300000", "叁拾万圆整"), ("30.05", "叁拾圆零伍分"), ("0.05", "伍分"),
    ("1010.10", "壹仟零壹拾圆壹角"), ("105000000", "壹亿零伍佰万圆整"), ("0", "零圆整"),
])
def test_format_uppercase(amount: str, text: str) -> None:
    assert format_uppercase_amount(Decimal(amount)) == text


def test_uppercase_round_trip_over_many_amounts() -> None:
    rng = random.Random(2024)
    for _ in range(20_000):
        fen = rng.randrange(0, 10 ** rng.randint(1, 16))
        amount = (Decimal(fen) / 100).quantize(Decimal("0.01"))
        assert parse_uppercase_amount(format_uppercase_amount(amount)) == amount, amount
        assert parse_uppercase_amount(format_uppercase_amount(amount, yuan="元")) == amount


def test_format_refuses_sub_fen_amounts() -> None:
    with pytest.raises(ValueError):
        format_uppercase_amount(Decimal("1.005"))


def test_known_codes_and_letter_first_codes_are_valid() -> None:
    for first17 in ("91350100M000100Y4", "12110000400000000", "N2330106MA2CD1234", "Y1440300MA5F00001",
                    "A1110000000000001"):
        code = first17 + uscc_check_char(first17)
        assert is_valid_uscc(code)
    assert is_valid_uscc("91350100M000100Y43")  # a published example code
    assert is_valid_uscc("n2330106ma2cd1234" + uscc_check_char("N2330106MA2CD1234"))


def test_altered_codes_fail() -> None:
    rng = random.Random(5)
    for _ in range(300):
        body = "".join(rng.choice(ALPHABET) for _ in range(17))
        code = body + uscc_check_char(body)
        assert is_valid_uscc(code)
        position = rng.randrange(18)
        replacement = rng.choice([c for c in ALPHABET if c != code[position]])
        assert not is_valid_uscc(code[:position] + replacement + code[position + 1:])
    assert not is_valid_uscc("91350100M000100Y4")  # too short
    assert not is_valid_uscc("91350100M000100YI3")  # I is not in the alphabet


def test_generated_codes_have_valid_organisation_part() -> None:
    code = make_uscc("9", "1", "330106", "MA27XY01")
    assert is_valid_uscc(code) and is_valid_org_code_part(code)
