"""OFD in the tax bureau's structure: custom tags first, labels on the template page, page content last."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date

import pytest

from extractors.invoice import Source, SourceFormat, extract_invoice
from extractors.invoice.samples_ofd import ofd_tagged_sample

LATE = date(2100, 1, 1)


def _rewrite(data: bytes, name: str, change) -> bytes:  # type: ignore[no-untyped-def]
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            payload = source.read(info)
            if info.filename == name:
                payload = change(payload.decode("utf-8")).encode("utf-8")
            target.writestr(info, payload)
    return out.getvalue()


@pytest.mark.parametrize("digital", [False, True])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_field_of_a_bureau_ofd_matches_ground_truth(digital: bool, seed: int) -> None:
    sample = ofd_tagged_sample(seed, digital=digital)
    result = extract_invoice(sample.data, filename=sample.filename, today=LATE)
    assert result.source_format is SourceFormat.OFD and result.record is not None, result.findings
    want, got = sample.truth.flat_values(), result.record.flat_values()
    assert {k: got[k] for k in want if got[k] != want[k]} == {}
    assert result.needs_manual_entry is None and not result.blocked


def test_labels_live_only_on_the_template_page() -> None:
    archive = zipfile.ZipFile(io.BytesIO(ofd_tagged_sample(1).data))
    page = archive.read("Doc_0/Pages/Page_0/Content.xml").decode()
    template = archive.read("Doc_0/Tpls/Tpl_0/Content.xml").decode()
    assert "发票号码" not in page and "发票号码" in template
    assert 'TemplateID="2"' in page


def test_custom_tags_alone_give_the_header_values() -> None:
    sample = ofd_tagged_sample(2)
    without_template = _rewrite(sample.data, "Doc_0/Pages/Page_0/Content.xml",
                                lambda xml: re.sub(r"<ofd:Template [^>]*/>", "", xml))
    result = extract_invoice(without_template, today=LATE)
    assert result.record is not None
    for field in ("number", "code", "issue_date", "check_code", "buyer_tax_id", "seller_name", "total_with_tax"):
        assert getattr(result.record, field).value == getattr(sample.truth, field).value, field
        assert getattr(result.record, field).source is Source.OFD
    assert "OFD_LABELS_MISSING" in result.finding_codes()


def test_template_and_page_are_read_by_position_when_there_are_no_tags() -> None:
    sample = ofd_tagged_sample(3, digital=True)
    untagged = _rewrite(sample.data, "Doc_0/Document.xml",
                        lambda xml: re.sub(r"<ofd:CustomTags>.*?</ofd:CustomTags>", "", xml))
    record = extract_invoice(untagged, today=LATE).record
    assert record is not None
    assert record.number.value == sample.truth.number.value
    assert [i.values() for i in record.items] == [i.values() for i in sample.truth.items]


def test_tags_win_over_position() -> None:
    sample = ofd_tagged_sample(1)
    archive = zipfile.ZipFile(io.BytesIO(sample.data))
    tags = archive.read("Doc_0/Tags/CustomTag.xml").decode()
    buyer_object = re.search(r"<BuyerName><ofd:ObjectRef PageRef=\"1\">(\d+)<", tags)[1]  # type: ignore[index]
    seller_object = re.search(r"<SellerName><ofd:ObjectRef PageRef=\"1\">(\d+)<", tags)[1]  # type: ignore[index]
    swapped = _rewrite(sample.data, "Doc_0/Tags/CustomTag.xml", lambda xml: xml.replace(
        f">{buyer_object}<", ">BUYER<").replace(f">{seller_object}<", f">{buyer_object}<").replace(
        ">BUYER<", f">{seller_object}<"))
    record = extract_invoice(swapped, today=LATE).record
    assert record is not None
    assert record.buyer_name.value == sample.truth.seller_name.value  # the tag decides, not the position
