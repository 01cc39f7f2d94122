"""Terminal columns of Chinese text: what keeps the tables of `smartfin budget show` aligned."""

from __future__ import annotations

from smartfin.kernel.text import display_width, fit_columns


def test_chinese_characters_take_two_columns_and_are_never_cut_in_half() -> None:
    assert display_width("CARD 心血管内科") == 15
    assert fit_columns("心血管内科", 12) == "心血管内科  "
    assert fit_columns("消毒供应中心", 11) == "消毒供应中 "  # the sixth character would need a twelfth column
    assert fit_columns("Cardiology", 4) == "Card"
    assert all(display_width(fit_columns(text, 16)) == 16 for text in ("", "RAD", "医学装备处", "内" * 20))
