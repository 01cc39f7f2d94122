"""Counterparty names compared the way a clerk reads them, Chinese characters kept.

Banks truncate names, swap full-width for half-width brackets, and drop or add 有限公司; the ledger has
the name as contracted. Normalising those differences away (never the Chinese text itself) lets equal
names compare equal, and a character-bigram score ranks near misses.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_PUNCT = re.compile(r"[\s\-_.,，。·•()（）\[\]【】{}<>《》\"'“”‘’:：;；/\\|]+")
_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "分公司", "公司")


@lru_cache(maxsize=200_000)
def normalise_name(name: str) -> str:
    """The comparable core of a counterparty name: NFKC, upper case, no punctuation or legal suffix."""
    text = _PUNCT.sub("", unicodedata.normalize("NFKC", name or "")).upper()
    for suffix in _SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix) + 1:
            text = text[: -len(suffix)]
            break
    return text


def _bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)} if len(text) > 1 else {text}


@lru_cache(maxsize=200_000)
def name_similarity(a: str, b: str) -> float:
    """0 (unrelated or unknown) to 1 (same name); containment scores 0.9 because banks truncate names."""
    na, nb = normalise_name(a), normalise_name(b)
    if not na or not nb:
        return 0.0
    if na == nb:
        return 1.0
    if na in nb or nb in na:
        return 0.9
    ga, gb = _bigrams(na), _bigrams(nb)
    return round(2 * len(ga & gb) / (len(ga) + len(gb)), 3)
