"""Text files from Chinese systems: UTF-8 (with or without BOM) or GBK/GB18030.

Online-banking, HIS and spreadsheet exports are still mostly GBK; newer tools write UTF-8 with a BOM so
that Excel opens them. Strict UTF-8 decoding almost never succeeds on GBK text containing Chinese, so
"UTF-8 if it decodes, else GB18030" is reliable. GB18030 is a superset of GBK and GB2312, so one
fallback covers all three.
"""

from __future__ import annotations

import codecs
import unicodedata

UTF8_SIG = "utf-8-sig"
GB18030 = "gb18030"


def detect_encoding(data: bytes) -> str:
    """The encoding to decode ``data`` with: ``utf-8-sig`` (BOM or plain UTF-8) or ``gb18030``."""
    if data.startswith(codecs.BOM_UTF8):
        return UTF8_SIG
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return GB18030
    return UTF8_SIG


def decode_chinese_text(data: bytes) -> tuple[str, str]:
    """The text (a BOM removed) and the encoding it was decoded with; ``UnicodeDecodeError`` when neither fits."""
    encoding = detect_encoding(data)
    return data.decode(encoding), encoding


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: Chinese characters (wide and full-width) take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def fit_columns(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` terminal columns and padded to exactly that many, so that tables
    with Chinese names stay aligned (``str.ljust`` counts a Chinese character as one column)."""
    out, used = [], 0
    for ch in text:
        w = display_width(ch)
        if used + w > width:
            break
        out.append(ch)
        used += w
    return "".join(out) + " " * (width - used)
