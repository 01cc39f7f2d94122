"""Files that cannot be read automatically: each yields a specific finding, never an exception."""

from __future__ import annotations

import pytest

from extractors.invoice import ExtractionSettings, extract_invoice
from tests.support.invoice_samples import bad_file_samples


@pytest.mark.parametrize("sample", bad_file_samples(), ids=lambda s: s.name)
def test_bad_file_gives_its_finding(sample) -> None:  # type: ignore[no-untyped-def]
    result = extract_invoice(sample.data, filename=sample.filename)
    assert result.record is None
    assert sample.expected_finding in result.finding_codes()
    assert result.needs_manual_entry
    assert all(f.message for f in result.findings)


def test_image_only_scan_reason(bad_samples) -> None:  # type: ignore[no-untyped-def]
    result = extract_invoice(bad_samples["image-only"].data)
    assert result.needs_manual_entry is not None
    assert result.needs_manual_entry.startswith("scan not readable by OCR")


def test_oversized_file_is_refused_before_reading(tmp_path, make_sample) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "big.pdf"
    path.write_bytes(make_sample("pre2024-standard", 1).data)
    limit = ExtractionSettings(max_bytes=1000)
    assert extract_invoice(path, settings=limit).finding_codes() == ["FILE_TOO_LARGE"]
    assert extract_invoice(path.read_bytes(), settings=limit).finding_codes() == ["FILE_TOO_LARGE"]


def test_missing_path(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert extract_invoice(tmp_path / "nope.pdf").finding_codes() == ["FILE_NOT_FOUND"]


def test_empty_file_on_disk(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "empty.ofd"
    path.write_bytes(b"")
    assert extract_invoice(path).finding_codes() == ["FILE_EMPTY"]


def test_pdf_name_without_pdf_content_is_corrupt() -> None:
    assert extract_invoice(b"\x00\x01garbage", filename="invoice.pdf").finding_codes() == ["FILE_CORRUPT"]


def test_broken_ofd_and_xml() -> None:
    assert "FILE_CORRUPT" in extract_invoice(b"<EInvoice><InvoiceNumber>1", filename="a.xml").finding_codes()
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("OFD.xml", "<ofd:OFD xmlns:ofd='http://www.ofdspec.org/2016'><ofd:DocBody/></ofd:OFD>")
    assert extract_invoice(buffer.getvalue()).finding_codes() == ["FILE_CORRUPT"]
