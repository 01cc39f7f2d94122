"""Chinese uppercase amounts (大写金额) such as ``壹万零捌佰圆整`` or ``叁拾圆零伍分``.

Invoices print the total with tax twice, in figures and in uppercase; the two must agree, so the
uppercase form is parsed rather than trusted. Third-party converters fail on forms that real invoices
print, hence this small, strict implementation.
"""

from __future__ import annotations

from decimal import Decimal

DIGITS = "零壹贰叁肆伍陆柒捌玖"
_DIGIT_VALUE = {ch: i for i, ch in enumerate(DIGITS)}
# Variants seen in printed amounts; mapped before parsing.
_VARIANTS = str.maketrans({"〇": "零", "两": "贰", "貳": "贰", "陸": "陆", "萬": "万", "億": "亿", "圓": "圆"})
_SMALL_UNITS = {"拾": 10, "佰": 100, "仟": 1000}
_YUAN = "元圆"
_END = "整正"
_PREFIXES = ("人民币", "⊗", "ⓧ", "(", ")", "（", "）", "¥", "￥", " ", "\u3000")


class UppercaseAmountError(ValueError):
    """The text is not a well-formed uppercase amount; says where parsing stopped."""


def _parse_integer(text: str, original: str) -> int:
    """Parse the part before 圆/元: digits with 拾佰仟 inside 万 and 亿 sections."""
    total = 0
    section = 0
    number: int | None = None
    previous = ""
    for ch in text:
        if ch in _DIGIT_VALUE:
            if number is not None and number != 0 and ch != "零":
                raise UppercaseAmountError(f"two digits without a unit in {original!r}")
            number = _DIGIT_VALUE[ch]
        elif ch in _SMALL_UNITS:
            if number is None:
                # "拾万" / leading "拾": an implicit one, accepted only for ten.
                if ch != "拾" or previous not in ("", "万", "亿", "零"):
                    raise UppercaseAmountError(f"unit {ch!r} without a digit in {original!r}")
                number = 1
            elif number == 0:
                raise UppercaseAmountError(f"unit {ch!r} after 零 in {original!r}")
            section += number * _SMALL_UNITS[ch]
            number = None
        elif ch == "万":
            if number is None and section == 0:
                raise UppercaseAmountError(f"万 without a value in {original!r}")
            total += (section + (number or 0)) * 10_000
            section, number = 0, None
        elif ch == "亿":
            if number is None and section == 0 and total == 0:
                raise UppercaseAmountError(f"亿 without a value in {original!r}")
            total = (total + section + (number or 0)) * 100_000_000
            section, number = 0, None
        else:
            raise UppercaseAmountError(f"unexpected character {ch!r} in {original!r}")
        previous = ch
    return total + section + (number or 0)


def _parse_fraction(text: str, original: str) -> int:
    """Parse the part after 圆/元: ``[零]X角[Y分]``, ``[零]Y分``, or nothing; returns fen."""
    fen = 0
    pending: int | None = None
    seen_jiao = seen_fen = False
    for ch in text:
        if ch in _DIGIT_VALUE:
            if pending not in (None, 0):
                raise UppercaseAmountError(f"two digits without a unit in {original!r}")
            pending = _DIGIT_VALUE[ch]
        elif ch == "角":
            if pending is None or seen_jiao or seen_fen:
                raise UppercaseAmountError(f"misplaced 角 in {original!r}")
            fen += pending * 10
            pending, seen_jiao = None, True
        elif ch == "分":
            if pending is None or seen_fen:
                raise UppercaseAmountError(f"misplaced 分 in {original!r}")
            fen += pending
            pending, seen_fen = None, True
        else:
            raise UppercaseAmountError(f"unexpected character {ch!r} in {original!r}")
    if pending not in (None, 0):
        raise UppercaseAmountError(f"digit without 角 or 分 at the end of {original!r}")
    return fen


def parse_uppercase_amount(text: str) -> Decimal:
    """Parse an uppercase amount into yuan with two decimals.

    Accepts 圆 or 元, 整 or 正, a ``人民币``/``⊗`` prefix, 零 before 角/分 (``…圆零伍分``) and a leading
    ``负`` for red-letter (negative) invoices. Raises ``UppercaseAmountError`` for anything else.
    """
    original = text
    text = text.translate(_VARIANTS).strip()
    for prefix in _PREFIXES:
        text = text.replace(prefix, "")
    negative = text.startswith("负")
    if negative:
        text = text[1:]
    if not text:
        raise UppercaseAmountError("empty uppercase amount")
    ends_whole = text[-1] in _END
    if ends_whole:
        text = text[:-1]
    yuan_at = max(text.rfind(ch) for ch in _YUAN)
    if yuan_at >= 0:
        integer_text, fraction_text = text[:yuan_at], text[yuan_at + 1:]
    elif "角" in text or "分" in text:
        integer_text, fraction_text = "", text
    else:
        raise UppercaseAmountError(f"no 圆/元, 角 or 分 in {original!r}")
    if ends_whole and fraction_text.endswith("分"):
        raise UppercaseAmountError(f"整 after 分 in {original!r}")
    integer = _parse_integer(integer_text, original) if integer_text else 0
    fraction = _parse_fraction(fraction_text, original)
    if not integer_text and not fraction_text:
        raise UppercaseAmountError(f"no value in {original!r}")
    fen = integer * 100 + fraction
    amount = (Decimal(fen) / 100).quantize(Decimal("0.01"))
    return -amount if negative else amount


def _four_digits(group: int) -> str:
    """A 0..9999 group with 仟佰拾 and inner zeros collapsed to one 零 (no leading/trailing 零)."""
    out = []
    zero_pending = False
    for power, unit in ((1000, "仟"), (100, "佰"), (10, "拾"), (1, "")):
        digit = group // power % 10
        if digit == 0:
            zero_pending = bool(out)
            continue
        if zero_pending:
            out.append("零")
            zero_pending = False
        out.append(DIGITS[digit] + unit)
    return "".join(out)


def _integer_words(n: int) -> str:
    """Yuan part: 亿 and 万 sections, with one 零 where a section starts below its top digit."""
    if n >= 10**8:
        size, unit = 10**8, "亿"
    elif n >= 10**4:
        size, unit = 10**4, "万"
    else:
        return _four_digits(n)
    high, low = divmod(n, size)
    text = _integer_words(high) + unit
    if low:
        text += ("零" if low < size // 10 else "") + _integer_words(low)
    return text


def format_uppercase_amount(amount: Decimal, *, yuan: str = "圆") -> str:
    """Write an amount the way invoices print 价税合计(大写): ``壹万零捌佰圆整``, ``叁拾圆零伍分``.

    Used by the sample generator and to show a clerk the expected wording next to the printed one.
    """
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"amount {amount} has more than two decimals")
    sign = "负" if amount < 0 else ""
    fen_total = int(abs(amount) * 100)
    integer, jiao, fen = fen_total // 100, fen_total // 10 % 10, fen_total % 10
    parts: list[str] = [_integer_words(integer), yuan] if integer else []
    if jiao == 0 and fen == 0:
        return sign + ("".join(parts) if integer else "零" + yuan) + "整"
    if jiao:
        parts.append(DIGITS[jiao] + "角")
    if fen:
        if not jiao and integer:
            parts.append("零")
        parts.append(DIGITS[fen] + "分")
    return sign + "".join(parts)
