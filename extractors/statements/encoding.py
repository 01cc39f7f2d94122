"""Bank statement text: the hospital's one UTF-8/GBK decoder, with a refusal that names the file."""

from __future__ import annotations

from smartfin.kernel.text import decode_chinese_text


def decode_text(data: bytes, file: str = "<input>") -> str:
    """Decode ``data`` with the detected encoding; raise a located error when neither fits."""
    from extractors.statements.errors import StatementError

    try:
        return decode_chinese_text(data)[0]
    except UnicodeDecodeError as exc:
        raise StatementError.single(
            file, f"is neither UTF-8 nor GBK/GB18030 text (byte offset {exc.start})") from None
