"""Text with positions: glyphs grouped into lines, labels found in lines, values matched by geometry.

Invoice PDFs and OFD files place each label and value as separate text objects; reading order is not
reliable, so values are matched to labels by where they sit (same line to the right, or just below).
This module knows nothing about invoices beyond the label patterns it is given.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

UNREADABLE = "\ufffd"  # stands for a glyph without a character map, e.g. pdfminer's "(cid:42)"


class Glyph(NamedTuple):
    """One character with its box in points, y growing downwards (pdfplumber's ``top``)."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float


@dataclass(slots=True)
class Line:
    """Glyphs sharing a baseline, left to right, with a compact text for label matching.

    ``text`` is NFKC-normalised with whitespace removed (letter-spaced labels become plain words);
    ``x0s``/``x1s`` give each character of ``text`` its horizontal extent.
    """

    glyphs: list[Glyph]
    text: str = ""
    x0s: list[float] = field(default_factory=list)
    x1s: list[float] = field(default_factory=list)
    top: float = 0.0
    bottom: float = 0.0
    size: float = 0.0
    labels: list[LabelHit] = field(default_factory=list)

    def gap_before(self, index: int) -> float:
        """Horizontal distance between character ``index`` and the one before it (inf at the start)."""
        return self.x0s[index] - self.x1s[index - 1] if index > 0 else float("inf")

    def spaced_text(self) -> str:
        """Readable text with single spaces where the original had gaps or spaces (foreign invoices)."""
        out: list[str] = []
        previous: Glyph | None = None
        for g in self.glyphs:
            if previous is not None and g.x0 - previous.x1 > 0.2 * g.size and out and out[-1] != " ":
                out.append(" ")
            text = g.text if not g.text.isspace() else " "
            if text == " " and out and out[-1] == " ":
                continue
            out.append(text)
            previous = g
        return unicodedata.normalize("NFKC", "".join(out)).strip()


class LabelHit(NamedTuple):
    """A label accepted in a line: its name and the character range it covers in ``Line.text``."""

    name: str
    start: int
    end: int


class Value(NamedTuple):
    """Text matched to a label; ``same_run`` tells whether it followed the label without a gap."""

    text: str
    x0: float
    x1: float
    top: float
    same_run: bool


def glyph_text(raw: str) -> str:
    """Normalise one glyph's text; unmapped glyphs become the replacement character, never kept as is."""
    if raw.startswith("(cid:"):
        return UNREADABLE
    if raw < " ":  # control characters: glyphs the font lacks (e.g. ⊗), never text
        return ""
    return unicodedata.normalize("NFKC", raw) if not raw.isascii() else raw


def build_lines(glyphs: Iterable[Glyph]) -> list[Line]:
    """Group glyphs into lines by their vertical centre, then order each line left to right."""
    ordered = sorted(glyphs, key=lambda g: (g.top + g.bottom) / 2)
    lines: list[Line] = []
    current: list[Glyph] = []
    centre = 0.0
    for g in ordered:
        c = (g.top + g.bottom) / 2
        if current and c - centre > 0.4 * max(g.size, 1.0):
            lines.append(_finish_line(current))
            current = []
        if not current:
            centre = c
        current.append(g)
    if current:
        lines.append(_finish_line(current))
    return lines


def _finish_line(glyphs: list[Glyph]) -> Line:
    glyphs.sort(key=lambda g: g.x0)
    line = Line(glyphs)
    chars: list[str] = []
    for g in glyphs:
        text = glyph_text(g.text)
        for ch in text:
            if ch.isspace():
                continue
            chars.append(ch)
            line.x0s.append(g.x0)
            line.x1s.append(g.x1)
    line.text = "".join(chars)
    line.top = min(g.top for g in glyphs)
    line.bottom = max(g.bottom for g in glyphs)
    sizes = sorted(g.size for g in glyphs)
    line.size = sizes[len(sizes) // 2] or 1.0
    return line


@dataclass(frozen=True, slots=True)
class LabelSet:
    """Named label patterns (compact text, no spaces), compiled into one alternation."""

    patterns: dict[str, Sequence[str]]
    gap_factor: float = 1.2  # gaps wider than this × font size separate label, value and neighbours

    def compiled(self) -> re.Pattern[str]:
        """One regex with a named group per label, longest patterns first."""
        alternatives = []
        for name, options in self.patterns.items():
            body = "|".join(re.escape(o) for o in sorted(options, key=len, reverse=True))
            alternatives.append((max(len(o) for o in options), f"(?P<{name}>{body})"))
        alternatives.sort(key=lambda a: -a[0])
        return re.compile("|".join(a[1] for a in alternatives))


def find_labels(lines: Sequence[Line], labels: LabelSet) -> None:
    """Mark accepted labels in every line.

    A match counts as a label when a colon follows it, or when it stands alone between gaps, so that
    ``名称`` inside the table header ``项目名称`` is not taken for the name label.
    """
    regex = labels.compiled()
    for line in lines:
        if not line.text:
            continue
        gap = labels.gap_factor * line.size
        for m in regex.finditer(line.text):
            name = m.lastgroup
            if name is None:
                continue
            start, end = m.span()
            # "(大写)" and "(小写)" close themselves, like a colon
            followed_by_colon = (end < len(line.text) and line.text[end] == ":") or line.text[end - 1] == ")"
            starts_free = start == 0 or line.gap_before(start) > gap
            ends_free = end == len(line.text) or line.gap_before(end) > gap
            if followed_by_colon or (starts_free and ends_free):
                colon = end < len(line.text) and line.text[end] == ":"
                line.labels.append(LabelHit(name, start, end + (1 if colon else 0)))


def value_after(lines: Sequence[Line], line_index: int, hit: LabelHit, *,
                max_first_gap: float = 14.0, allow_below: bool = True) -> Value | None:
    """The text belonging to a label: on its line to the right, else on the next line just below.

    On the line the value runs from the first character after the label (at most ``max_first_gap`` font
    sizes away) until the next label or a wide gap. Below, it starts near the label's left edge.
    """
    line = lines[line_index]
    value = _run_from(line, hit.end, max_first_gap=max_first_gap)
    if value is not None:
        return value
    if not allow_below:
        return None
    label_x0 = line.x0s[hit.start]
    label_x1 = line.x1s[hit.end - 1]
    for below in lines[line_index + 1:]:
        if below.top - line.bottom > 2.2 * line.size:
            break
        if below.bottom <= line.bottom or not below.text:
            continue
        for index in range(len(below.text)):
            if below.x0s[index] >= label_x0 - line.size and below.x0s[index] <= label_x1 + 6 * line.size:
                if any(h.start == index for h in below.labels):
                    break
                found = _run_from(below, index, max_first_gap=0.0, first_is_start=True)
                if found is not None:
                    return found._replace(same_run=False)
                break
    return None


def _run_from(line: Line, start: int, *, max_first_gap: float, first_is_start: bool = False) -> Value | None:
    """Characters from ``start`` until the next label or a gap wider than the label set allows."""
    if start >= len(line.text):
        return None
    if not first_is_start and line.gap_before(start) > max_first_gap * line.size and start > 0:
        return None
    label_starts = {h.start for h in line.labels}
    if start in label_starts:
        return None
    gap = 1.2 * line.size
    end = start + 1
    while end < len(line.text) and end not in label_starts and line.gap_before(end) <= gap:
        end += 1
    same_run = start > 0 and line.gap_before(start) <= gap
    return Value(line.text[start:end], line.x0s[start], line.x1s[end - 1], line.top, same_run)


def segments(line: Line, start: int = 0, gap_factor: float = 0.9) -> list[tuple[str, float, float]]:
    """Split a line (from character ``start``) into runs separated by gaps: (text, x0, x1)."""
    out: list[tuple[str, float, float]] = []
    gap = gap_factor * line.size
    run_start = start
    for index in range(start + 1, len(line.text) + 1):
        if index == len(line.text) or line.gap_before(index) > gap:
            if run_start < index:
                out.append((line.text[run_start:index], line.x0s[run_start], line.x1s[index - 1]))
            run_start = index
    return out
