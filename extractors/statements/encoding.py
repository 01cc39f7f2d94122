"""Text encoding of Chinese bank exports: UTF-8 (with or without BOM) or GBK/GB18030.

Online-banking exports of the large Chinese banks are still mostly GBK; newer portals write UTF-8 with a
BOM so that Excel opens them. Strict UTF-8 decoding almost never succeeds on GBK text containing Chinese,
so "UTF-8 if it decodes, else GB18030" is reliable. GB18030 is a superset of GBK and GB2312, so one
fallback covers all three.
"""

from __future__ import annotations

import codecs

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


def decode_text(data: bytes, file: str = "<input>") -> str:
    """Decode ``data`` with the detected encoding; raise a located error when neither fits."""
    from extractors.statements.errors import StatementError

    encoding = detect_encoding(data)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise StatementError.single(
            file, f"is neither UTF-8 nor GBK/GB18030 text (byte offset {exc.start})") from None
