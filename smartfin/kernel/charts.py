"""The house style of SmartFin's one-page reports: self-contained HTML with inline SVG charts.

A finance director opens a report in any browser, offline, and prints it; so nothing is fetched (no
scripts, fonts or images from elsewhere) and every chart is plain SVG drawn here. Amounts arrive exact
(Decimal); they become floats only as pixel positions, never as the figures printed beside the bars,
which the caller formats.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

GREEN, AMBER, RED, GREY, BLUE = "#2e7d32", "#ef6c00", "#c62828", "#9e9e9e", "#1565c0"
#: colours of the parts of a stacked bar, in order (colour-blind safe, printable)
SERIES = ("#1565c0", "#90caf9", "#2e7d32", "#a5d6a7", "#ef6c00", "#ffcc80", "#6a1b9a", "#ce93d8")

PAGE_STYLE = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei","PingFang SC",sans-serif;margin:2em auto;max-width:1000px;
color:#222} h1{font-size:1.5em} h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
.cards{display:flex;flex-wrap:wrap;gap:12px} .card{border:1px solid #ddd;border-radius:6px;padding:10px 14px;
min-width:160px} .k{font-size:.8em;color:#666} .v{font-size:1.3em;font-weight:bold}
.verdict{font-size:1.2em;font-weight:bold} table{border-collapse:collapse;width:100%;font-size:.85em}
th,td{border-bottom:1px solid #eee;padding:4px 6px;text-align:right} th:nth-child(-n+2),td:nth-child(-n+2)
{text-align:left} .legend span{margin-right:1.2em} @media print{body{margin:0}}
"""

_WIDTH, _LEFT, _BAR, _GAP = 760, 230, 22, 10


def esc(value: object) -> str:
    """Text for HTML and SVG: escaped, quotes included."""
    return html.escape(str(value))


def page(title: str, heading: str, body: str, style: str = "") -> str:
    """A whole report page in the house style; ``title`` and ``heading`` are escaped, ``body`` is HTML."""
    return (f'<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">\n<title>{esc(title)}</title>\n'
            f"<style>{PAGE_STYLE}{style}</style></head><body>\n<h1>{esc(heading)}</h1>\n{body}\n</body></html>\n")


def cards(items: Sequence[tuple[str, str]]) -> str:
    """The headline figures as cards (key above, value large)."""
    inner = "".join(f'<div class="card"><div class="k">{esc(k)}</div><div class="v">{esc(v)}</div></div>'
                    for k, v in items)
    return f'<div class="cards">{inner}</div>'


def legend(items: Sequence[tuple[str, str]]) -> str:
    """A line of coloured squares naming what each colour means: ``(colour, label)``."""
    return "<p class='legend'>" + "".join(f"<span style='color:{c}'>■ {esc(label)}</span> " for c, label in items) \
        + "</p>"


@dataclass(frozen=True)
class Bar:
    """One row of a horizontal bar chart: its label, the parts stacked left to right, the text after it."""

    label: str
    parts: tuple[tuple[Decimal, str], ...]   # (value, colour); negative parts are drawn as zero
    text: str
    bold: bool = False


def bar_chart(bars: Sequence[Bar], title: str, *, marker: tuple[Decimal, str] | None = None) -> str:
    """Horizontal (stacked) bars scaled to the longest row; ``marker`` draws a dashed line at a value
    (e.g. the peers' average) with its caption. Empty when there is nothing to draw."""
    if not bars:
        return ""
    plot = _WIDTH - _LEFT - 150
    longest = max([sum((max(v, Decimal(0)) for v, _ in b.parts), Decimal(0)) for b in bars]
                  + [marker[0] if marker else Decimal(0)])
    scale = float(plot) / float(longest) if longest > 0 else 0.0
    height = 40 + len(bars) * (_BAR + _GAP) + (30 if marker else 4)
    parts = [f'<svg viewBox="0 0 {_WIDTH} {height}" width="100%" role="img" aria-label="{esc(title)}">',
             f'<text x="0" y="18" font-size="15" font-weight="bold">{esc(title)}</text>']
    for i, bar in enumerate(bars):
        y = 36 + i * (_BAR + _GAP)
        weight = ' font-weight="bold"' if bar.bold else ""
        parts.append(f'<text x="{_LEFT - 8}" y="{y + 16}" font-size="13" text-anchor="end"{weight}>'
                     f"{esc(bar.label)}</text>")
        parts.append(f'<rect x="{_LEFT}" y="{y}" width="{plot}" height="{_BAR}" fill="#f5f5f5"/>')
        x = float(_LEFT)
        for value, colour in bar.parts:
            w = float(max(value, Decimal(0))) * scale
            if w > 0:
                parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{_BAR}" fill="{colour}"/>')
            x += w
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 16}" font-size="12"{weight}>{esc(bar.text)}</text>')
    if marker:
        mx = _LEFT + float(marker[0]) * scale
        parts.append(f'<line x1="{mx:.1f}" y1="30" x2="{mx:.1f}" y2="{height - 22}" stroke="{BLUE}" '
                     f'stroke-width="2" stroke-dasharray="6 4"/>')
        parts.append(f'<text x="{mx:.1f}" y="{height - 6}" font-size="12" fill="{BLUE}" text-anchor="middle">'
                     f"{esc(marker[1])}</text>")
    parts.append("</svg>")
    return "".join(parts)


def line_chart(points: Sequence[tuple[str, Decimal | None]], title: str, texts: Sequence[str],
               colour: str = BLUE) -> str:
    """A line over labelled points (months), each point captioned with its ``texts`` entry; a missing value
    (``None``) breaks the line and is captioned by the caller's words. Empty when there are no points."""
    if not points:
        return ""
    width, height, left, top, bottom = _WIDTH, 230, 40, 40, 40
    known = [v for _, v in points if v is not None]
    # the axis spans the values with a margin (not from zero), so a month's change is visible; each point
    # carries its figure, so the reader never reads a value off the axis
    high = max(known, default=Decimal(1))
    low = min(known, default=Decimal(0))
    margin = (high - low) / 4 or abs(high) / 10 or Decimal(1)
    high, low = high + margin, max(low - margin, Decimal(0)) if low >= 0 else low - margin
    span = float(high - low) or 1.0
    step = (width - 2 * left) / max(len(points) - 1, 1)
    plot_h = height - top - bottom
    y_of = lambda v: top + plot_h * (1 - float(v - low) / span)  # noqa: E731
    parts = [f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{esc(title)}">',
             f'<text x="0" y="18" font-size="15" font-weight="bold">{esc(title)}</text>',
             f'<line x1="{left}" y1="{y_of(low):.1f}" x2="{width - left}" y2="{y_of(low):.1f}" stroke="#ccc"/>']
    segment: list[str] = []
    segments: list[list[str]] = [segment]
    for i, (label, value) in enumerate(points):
        x = left + i * step
        parts.append(f'<text x="{x:.1f}" y="{height - 12}" font-size="11" text-anchor="middle">{esc(label)}</text>')
        if value is None:
            segment = []
            segments.append(segment)
            parts.append(f'<text x="{x:.1f}" y="{y_of(low) - 6:.1f}" font-size="10" fill="{GREY}" '
                         f'text-anchor="middle">{esc(texts[i])}</text>')
            continue
        y = y_of(value)
        segment.append(f"{x:.1f},{y:.1f}")
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"/>')
        parts.append(f'<text x="{x:.1f}" y="{y - 8:.1f}" font-size="10" text-anchor="middle">{esc(texts[i])}</text>')
    for seg in segments:
        if len(seg) > 1:
            parts.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{colour}" stroke-width="2"/>')
    parts.append("</svg>")
    return "".join(parts)


def series_chart(labels: Sequence[str], series: Sequence[tuple[str, str, Sequence[Decimal | None]]], title: str,
                 *, threshold: tuple[Decimal, str] | None = None) -> str:
    """Several lines over the same labelled points on one axis — forecast against actual, base against a
    scenario: ``series`` is ``(name, colour, values)``, a ``None`` value breaks that line. ``threshold`` draws a
    dashed red line at a value (a minimum balance) with its caption. Empty when there is nothing to draw."""
    known = [v for _, _, values in series for v in values if v is not None]
    if not labels or not known:
        return ""
    width, height, left, top, bottom = _WIDTH, 280, 60, 40, 60
    high = max(known + ([threshold[0]] if threshold else []))
    low = min(known + ([threshold[0]] if threshold else []))
    margin = (high - low) / 8 or abs(high) / 10 or Decimal(1)
    high, low = high + margin, low - margin
    span = float(high - low) or 1.0
    step = (width - 2 * left) / max(len(labels) - 1, 1)
    y_of = lambda v: top + (height - top - bottom) * (1 - float(v - low) / span)  # noqa: E731
    parts = [f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{esc(title)}">',
             f'<text x="0" y="18" font-size="15" font-weight="bold">{esc(title)}</text>']
    every = max(1, len(labels) // 13)
    for i, label in enumerate(labels):
        if i % every == 0:
            parts.append(f'<text x="{left + i * step:.1f}" y="{height - bottom + 16}" font-size="10" '
                         f'text-anchor="middle">{esc(label)}</text>')
    for value in (low + margin, high - margin):
        parts.append(f'<text x="{left - 4}" y="{y_of(value) + 4:.1f}" font-size="10" text-anchor="end">'
                     f"{esc(f'{value:,.0f}')}</text>")
    if threshold:
        y = y_of(threshold[0])
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - left}" y2="{y:.1f}" stroke="{RED}" '
                     f'stroke-width="1.5" stroke-dasharray="6 4"/>')
        parts.append(f'<text x="{width - left}" y="{y - 4:.1f}" font-size="11" fill="{RED}" text-anchor="end">'
                     f"{esc(threshold[1])}</text>")
    for _name, colour, values in series:
        segment: list[str] = []
        for i, value in enumerate(values):
            if value is None:
                if len(segment) > 1:
                    parts.append(f'<polyline points="{" ".join(segment)}" fill="none" stroke="{colour}" '
                                 f'stroke-width="2"/>')
                segment = []
                continue
            segment.append(f"{left + i * step:.1f},{y_of(value):.1f}")
        if len(segment) > 1:
            parts.append(f'<polyline points="{" ".join(segment)}" fill="none" stroke="{colour}" stroke-width="2"/>')
        elif segment:
            x, y = segment[0].split(",")
            parts.append(f'<circle cx="{x}" cy="{y}" r="3" fill="{colour}"/>')
    parts.append("</svg>")
    return "".join(parts) + legend([(colour, name) for name, colour, _ in series])
