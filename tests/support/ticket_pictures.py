"""Scans and photos of the generated rail e-tickets and air e-itineraries, for the OCR tests and benchmark.

Each ticket PDF of ``tests.support.travel_samples`` is rendered as a 200 dpi scan; the photos get what a
phone does to a printed ticket (``tests.support.ocr_samples.photograph``: tilt, blur, perspective and
uneven light, upside down, on its side, sensor noise, JPEG). Every rail and air layout appears, and every
kind of picture: a PNG scan, a scan saved as an image-only PDF, and the five photo effects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.support.ocr_samples import PHOTO_EFFECTS, encode, image_pdf, photograph, render_pdf
from tests.support.travel_samples import AIR_LAYOUTS, RAIL_LAYOUTS, TravelSample, air_sample, rail_sample

TICKET_PICTURES = ("scan-png", "scan-pdf", *PHOTO_EFFECTS)


@dataclass(frozen=True, slots=True)
class TicketPicture:
    """One picture file of a ticket and the flat values reading it must give."""

    name: str
    filename: str
    data: bytes
    truth: dict[str, Any]
    sample: TravelSample

    @property
    def photo(self) -> bool:
        """A phone photo rather than a flat scan."""
        return not self.name.startswith("scan")


def ticket_picture(sample: TravelSample, kind: str, seed: int) -> TicketPicture:
    """One ticket as a scan (``scan-png``, ``scan-pdf``) or a photo with one of ``PHOTO_EFFECTS``."""
    assert sample.truth is not None
    page = render_pdf(sample.data)
    stem = sample.name.removesuffix(".pdf")
    if kind == "scan-png":
        return TicketPicture(f"scan-{stem}", f"{stem}.png", encode(page), sample.truth, sample)
    if kind == "scan-pdf":
        return TicketPicture(f"scan-pdf-{stem}", f"{stem}-scan.pdf", image_pdf(page), sample.truth, sample)
    photo = photograph(page, kind, seed)
    return TicketPicture(f"photo-{kind}-{stem}", f"{stem}-{kind}.jpg", encode(photo, ".jpg", 80), sample.truth,
                         sample)


def ticket_picture_corpus(seed: int = 0) -> list[TicketPicture]:
    """One picture per rail and air layout, cycling through the picture kinds so each appears."""
    out = []
    for index, layout in enumerate(RAIL_LAYOUTS + AIR_LAYOUTS):
        make = rail_sample if layout.startswith("rail") else air_sample
        sample = make(layout, seed * 1000 + 500 + index)
        out.append(ticket_picture(sample, TICKET_PICTURES[index % len(TICKET_PICTURES)], seed * 100 + index))
    return out


def ticket_field_accuracy(pairs: list[tuple[Any, dict[str, Any]]]) -> tuple[dict[str, list[int]], list[str]]:
    """Per field path (segment index dropped): [right, expected] over (ticket read, truth) pairs, and the misses."""
    per_field: dict[str, list[int]] = {}
    misses: list[str] = []
    for index, (ticket, truth) in enumerate(pairs):
        got = ticket.flat_values() if ticket is not None else {}
        for key, want in truth.items():
            name = key.split(".", 1)[1] if key.startswith("segments[") else key
            counts = per_field.setdefault(name, [0, 0])
            counts[1] += 1
            if got.get(key) == want:
                counts[0] += 1
            else:
                misses.append(f"#{index} {key}: read {got.get(key)!r}, expected {want!r}")
    return per_field, misses
