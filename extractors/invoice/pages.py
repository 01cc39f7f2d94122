"""How many pages of one document are read, and what is said when a document has more.

An invoice's items may run over a sales list (销货清单) of dozens of pages, so every page is read; the cost
grows with the pages (one character pass per page, measured in bench/bench_extract.py). A hard ceiling
keeps an upload from holding a worker for minutes: a document longer than ``PAGE_CEILING`` pages is read up
to the ceiling and goes to review with a finding that names the pages not read — never a silent stop.
"""

from __future__ import annotations

from smartfin.kernel.findings import Finding, Severity

PAGE_CEILING = 500  # pages read of one document; a 500-page list is ~10 000 item rows


def over_ceiling(page_count: int) -> list[Finding]:
    """The finding for a document longer than the ceiling (none when it fits): its items are incomplete."""
    if page_count <= PAGE_CEILING:
        return []
    return [Finding(
        "PAGES_OVER_CEILING", Severity.BLOCK,
        f"文件共 {page_count} 页，超过自动读取上限 {PAGE_CEILING} 页，第 {PAGE_CEILING + 1}–{page_count} 页未读 / "
        f"the document has {page_count} pages, more than the ceiling of {PAGE_CEILING}: pages "
        f"{PAGE_CEILING + 1}–{page_count} were not read, check the items by hand", field="items",
        evidence={"pages": page_count, "ceiling": PAGE_CEILING})]
