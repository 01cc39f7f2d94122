"""Unified social credit code (统一社会信用代码, GB 32100-2015) and its check characters.

Tax ids on Chinese invoices are these codes; a mistyped or misread character is caught by the check
character. Public checkers reject valid codes that start with a letter, so the rule is written here.
"""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 3^(i-1) mod 31 for positions 1..17
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714 organisation code


def uscc_check_char(first17: str) -> str:
    """The 18th character for the first 17; raises ValueError on characters outside the alphabet."""
    if len(first17) != 17:
        raise ValueError(f"expected 17 characters, got {len(first17)}")
    try:
        total = sum(_VALUE[ch] * w for ch, w in zip(first17.upper(), _WEIGHTS, strict=True))
    except KeyError as exc:
        raise ValueError(f"character {exc.args[0]!r} is not allowed in a credit code") from None
    check = 31 - total % 31
    return ALPHABET[0 if check == 31 else check]


def is_valid_uscc(code: str) -> bool:
    """True when ``code`` has 18 allowed characters and a matching check character."""
    code = code.strip().upper()
    if len(code) != 18 or any(ch not in _VALUE for ch in code):
        return False
    return uscc_check_char(code[:17]) == code[17]


def org_code_check_char(first8: str) -> str:
    """GB 11714 check character of an organisation code (characters 9–17 of a credit code)."""
    if len(first8) != 8:
        raise ValueError(f"expected 8 characters, got {len(first8)}")
    total = 0
    for ch, w in zip(first8.upper(), _ORG_WEIGHTS, strict=True):
        if ch.isdigit():
            total += int(ch) * w
        elif "A" <= ch <= "Z":
            total += (ord(ch) - 55) * w
        else:
            raise ValueError(f"character {ch!r} is not allowed in an organisation code")
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def is_valid_org_code_part(code: str) -> bool:
    """True when characters 9–17 of an 18-character credit code pass the GB 11714 check."""
    part = code.strip().upper()[8:17]
    if len(part) != 9:
        return False
    try:
        return org_code_check_char(part[:8]) == part[8]
    except ValueError:
        return False


def make_uscc(authority: str, kind: str, region: str, org_body: str) -> str:
    """Assemble a valid code from its parts; used by the sample generator.

    ``authority`` (1 char, e.g. "1" public institution, "9" company, "N" agricultural) and ``kind``
    (1 char), ``region`` (6 digits) and the 8-character organisation body.
    """
    org = org_body.upper() + org_code_check_char(org_body)
    first17 = authority + kind + region + org
    return first17 + uscc_check_char(first17)
