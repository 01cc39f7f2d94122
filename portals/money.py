"""Money as integer fen, the way the portals store and print it.

Legacy screens accept amounts typed by clerks ("1,234.5", " 12 "), so parsing is lenient about
separators and strict about precision: a third decimal place is an error, never rounded away.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_UNITS = ("", "拾", "佰", "仟")
_SECTIONS = ("", "万", "亿", "万亿")


def parse_fen(text: str | None) -> int | None:
    """Parse a typed amount into fen; blank is 0, anything malformed or negative is None."""
    cleaned = (text or "").strip().replace(",", "").replace("，", "")
    if not cleaned:
        return 0
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")):
        return None
    return int(value * 100)


def fen_to_decimal(fen: int) -> Decimal:
    """Fen as a two-place Decimal (for XML and spreadsheet cells)."""
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def format_fen(fen: int, grouping: bool = True) -> str:
    """Print fen as yuan with two decimals, grouped by thousands the way screens show it."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    body = f"{yuan:,}" if grouping else str(yuan)
    return f"{sign}{body}.{cents:02d}"


def _section_uppercase(number: int) -> str:
    out = ""
    zero_pending = False
    for power in range(3, -1, -1):
        digit = number // 10**power % 10
        if digit == 0:
            zero_pending = bool(out)
            continue
        if zero_pending:
            out += "零"
            zero_pending = False
        out += _DIGITS[digit] + _UNITS[power]
    return out


def fen_to_uppercase(fen: int) -> str:
    """Chinese uppercase amount (大写金额) as printed on bank receipts, e.g. 壹万零伍元整."""
    yuan, cents = divmod(abs(fen), 100)
    jiao, fen_digit = divmod(cents, 10)
    sections = []
    rest = yuan
    while rest:
        sections.append(rest % 10000)
        rest //= 10000
    text = ""
    zero_pending = False
    for index in reversed(range(len(sections))):
        section = sections[index]
        if section == 0:
            zero_pending = bool(text)
            continue
        if text and (zero_pending or section < 1000):
            text += "零"
        text += _section_uppercase(section) + _SECTIONS[index]
        zero_pending = False
    if text:
        text += "元"
    if jiao == 0 and fen_digit == 0:
        return (text or "零元") + "整"
    if jiao:
        text += _DIGITS[jiao] + "角"
    elif text:
        text += "零"
    if fen_digit:
        text += _DIGITS[fen_digit] + "分"
    else:
        text += "整"
    return text
