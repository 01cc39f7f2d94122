"""Money as exact decimals: parsing untrusted input, and the fen integers the tables store.

Amounts cross three borders — forms and CSV files (strings), the engine (strings of exact decimals, never
floats), and the database (integer fen) — and every border uses these functions so that a malformed
amount is rejected with the same words everywhere.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999999.99")


class InvalidAmount(ValueError):
    """An amount that cannot be money: says what was given and why it was refused."""

    def __init__(self, value: object, reason: str, field: str = "amount") -> None:
        self.value = value
        self.reason = reason
        self.field = field
        super().__init__(f"{field}: {reason} (got {value!r})")


# ASCII digits only (a full-width "１２３" or an exponent "1e3" is not what a clerk keys), and grouping
# commas only where they group thousands ("1,234.50", never "1,2,3").
_PLAIN_AMOUNT = re.compile(r"-?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?|-?\.[0-9]+|(?i:nan|[+-]?inf(?:inity)?)")


def parse_amount(value: object, *, field: str = "amount", allow_zero: bool = False,
                 allow_negative: bool = False) -> Decimal:
    """Parse a yuan amount from user or file input, refusing anything a clerk would not write.

    Floats are refused outright: by the time a float arrives the exact value is already lost.
    Thousands separators (``1,234.50``) and a leading ``¥`` are accepted because Chinese bank and
    invoice exports use them.
    """
    if isinstance(value, bool | float):
        raise InvalidAmount(value, "must be given as an exact decimal string, not a float", field)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidAmount(value, "is missing", field)
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, str):
        text = value.strip().lstrip("¥￥").strip().replace("，", ",")
        if not _PLAIN_AMOUNT.fullmatch(text):
            raise InvalidAmount(value, "is not a number a clerk writes in yuan (digits 0-9, an optional decimal "
                                "point, thousands separators every three digits; no exponent)", field)
        try:
            amount = Decimal(text.replace(",", ""))
        except InvalidOperation:
            raise InvalidAmount(value, "is not a number", field) from None
    else:
        raise InvalidAmount(value, f"has unsupported type {type(value).__name__}", field)
    if not amount.is_finite():
        raise InvalidAmount(value, "is not a finite number", field)
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and amount != amount.quantize(CENT):
        raise InvalidAmount(value, "has more than 2 decimal places", field)
    if amount < 0 and not allow_negative:
        raise InvalidAmount(value, "must not be negative", field)
    if amount == 0 and not allow_zero:
        raise InvalidAmount(value, "must be greater than zero", field)
    if abs(amount) > MAX_AMOUNT:
        raise InvalidAmount(value, f"exceeds the largest supported amount {MAX_AMOUNT}", field)
    return amount.quantize(CENT)


def to_fen(amount: Decimal) -> int:
    """Yuan to integer fen; the amount must already be exact to the fen."""
    quantized = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    if quantized != amount:
        raise InvalidAmount(amount, "has more than 2 decimal places")
    return int(quantized * 100)


def from_fen(fen: int) -> Decimal:
    """Integer fen to a yuan Decimal with exactly two places."""
    return (Decimal(fen) / 100).quantize(CENT)


def format_yuan(amount: Decimal) -> str:
    """The wire form of money: a plain string with two decimals (``"1234.50"``)."""
    return str(amount.quantize(CENT))
