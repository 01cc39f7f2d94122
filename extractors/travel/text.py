"""Text helpers shared by the rail and air readers: values found in compact line text, dates, wraps."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from extractors.invoice.layout import Line
from extractors.invoice.model import Extracted, Source, missing

_DATE = re.compile(r"(\d{4})[年\-./](\d{1,2})[月\-./](\d{1,2})日?")
TEXT_CONFIDENCE = 0.95  # value and label in the same line of text
BELOW_CONFIDENCE = 0.9  # value matched to its label by position

def found(value: object, confidence: float = TEXT_CONFIDENCE) -> Extracted:  # type: ignore[type-arg]
    """A value read from the page's text."""
    if value is None or value == "":
        return missing(Source.PDF_TEXT)
    return Extracted(value, confidence, Source.PDF_TEXT)


def search(lines: Sequence[Line], pattern: re.Pattern[str]) -> tuple[int, re.Match[str]] | None:
    """The first line whose compact text matches, with the match."""
    for index, line in enumerate(lines):
        m = pattern.search(line.text)
        if m:
            return index, m
    return None


def parse_date(text: str | None) -> date | None:
    """A printed date (2025年01月20日, 2025-01-20) as a date; None when it is no real date."""
    m = _DATE.search(text or "")
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def continuation(lines: Sequence[Line], index: int, x0: float) -> str:
    """Text wrapped onto the next line under a value that starts at ``x0`` (long names), else ''."""
    if index + 1 >= len(lines):
        return ""
    line, below = lines[index], lines[index + 1]
    if below.top - line.bottom > 0.8 * line.size or not below.text or ":" in below.text:
        return ""
    for start, x in enumerate(below.x0s):
        if abs(x - x0) <= 1.5:
            end = start
            while end < len(below.text) and (end == start or below.gap_before(end) <= 1.2 * below.size):
                end += 1
            return below.text[start:end]
    return ""


def value_x0(line: Line, m: re.Match[str], group: int | str) -> float:
    """Where a matched group starts on the page."""
    return line.x0s[m.start(group)]
