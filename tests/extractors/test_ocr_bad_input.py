"""Pictures claimants really send that cannot be read as they are: each a specific finding, never a crash."""

from __future__ import annotations

import random

import pytest

from extractors.invoice import extract_invoice
from extractors.ocr.images import SCREEN_PEAK, screen_pattern
from smartfin.kernel.findings import Severity
from tests.extractors.conftest import LATE
from tests.support.ocr_samples import encode, scan, screen_photo, two_invoices, unusable_pictures


@pytest.mark.parametrize("picture", unusable_pictures(), ids=lambda p: p.name)
def test_unusable_picture_gives_its_finding_before_recognition(picture) -> None:  # type: ignore[no-untyped-def]
    result = extract_invoice(picture.data, filename=picture.filename, today=LATE)
    assert result.record is None
    assert result.finding_codes() == [picture.expected_finding]
    assert result.needs_manual_entry
    assert result.findings[0].message


def test_tiny_picture_names_its_size() -> None:
    tiny = next(p for p in unusable_pictures() if p.name == "tiny")
    message = extract_invoice(tiny.data).findings[0].message
    assert "pixels" in message and "400" in message


def test_two_invoices_on_one_page_are_refused_with_both_numbers() -> None:
    picture = two_invoices()
    result = extract_invoice(picture.data, filename=picture.filename, today=LATE)
    assert result.record is None
    [finding] = [f for f in result.findings if f.code == "TWO_INVOICES_ON_PAGE"]
    assert len(finding.evidence["numbers"]) == 2
    assert finding.evidence["qr_codes"] == 2
    assert result.needs_manual_entry == "two invoices on one picture"


def test_photo_of_a_screen_is_flagged_for_review() -> None:
    page, sample = scan("pre2024-standard", 61)
    result = extract_invoice(encode(screen_photo(page, 1), ".jpg", 85), today=LATE)
    [finding] = [f for f in result.findings if f.code == "IMAGE_SCREEN_PHOTO"]
    assert finding.evidence["pattern_strength"] >= SCREEN_PEAK
    assert finding.severity is Severity.WARN  # a person looks at it before it is trusted
    assert result.record is not None and sample.truth is not None
    assert result.record.number.value == sample.truth.number.value


def test_paper_scans_do_not_look_like_screens() -> None:
    from extractors.ocr import load_image

    page, _ = scan("digital-standard", 62)
    for data in (encode(page), encode(page, ".jpg", 60)):
        image, problem = load_image(data)
        assert image is not None and problem is None
        assert screen_pattern(image) < SCREEN_PEAK


def test_random_bytes_behind_image_headers_never_crash() -> None:
    rng = random.Random(14)
    for magic in (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"II*\x00", b"GIF8", b"BM"):
        data = magic + bytes(rng.randrange(256) for _ in range(2000))
        result = extract_invoice(data, filename="upload.jpg")
        assert result.record is None and result.needs_manual_entry
        assert result.finding_codes() == ["IMAGE_CORRUPT"], (magic, result.finding_codes())


def test_camera_orientation_tag_is_applied_when_decoding() -> None:
    import io

    from PIL import Image

    from extractors.ocr import load_image

    portrait = Image.new("RGB", (600, 900), "white")
    portrait.paste((0, 0, 0), (50, 50, 250, 120))
    exif = Image.Exif()
    exif[0x0112] = 6  # the phone was held turned: show the picture turned 90° clockwise
    buffer = io.BytesIO()
    portrait.save(buffer, format="JPEG", exif=exif)
    image, problem = load_image(buffer.getvalue())
    assert problem is None and image is not None
    assert image.shape[:2] == (600, 900)


def test_decompression_bomb_is_refused_not_decoded() -> None:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("1", (16_000, 16_000)).save(buffer, format="PNG")
    result = extract_invoice(buffer.getvalue(), filename="huge.png")
    assert result.finding_codes() == ["IMAGE_TOO_LARGE"]
    assert result.needs_manual_entry == "picture too large"
