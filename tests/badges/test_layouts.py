"""Layout presets as data, and the organizer's style."""
from __future__ import annotations

import pytest
from reportlab.lib.units import inch, mm

from kiosk.badges.layouts import LAYOUTS, BadgeStyle, Layout, LayoutError, get_layout, layout_from_dict


def test_the_five_presets_exist_with_their_stock():
    assert set(LAYOUTS) >= {"label-4x3", "letter-6up", "a4-4up-a6", "cr80", "a6-fold"}
    assert LAYOUTS["label-4x3"].page_size == pytest.approx((4 * inch, 3 * inch))
    assert LAYOUTS["label-4x3"].media == "Custom.4x3in"
    assert LAYOUTS["cr80"].badge_size == pytest.approx((85.6 * mm, 54 * mm))
    assert LAYOUTS["a4-4up-a6"].per_page == 4
    assert LAYOUTS["a6-fold"].double_sided and not LAYOUTS["letter-6up"].double_sided


def test_letter_6up_matches_avery_5392():
    layout = LAYOUTS["letter-6up"]
    assert layout.page_size == pytest.approx((8.5 * inch, 11 * inch))
    assert layout.badge_size == pytest.approx((4 * inch, 3 * inch))
    # two columns from a quarter-inch side margin, three rows from a one-inch top margin
    expected = sorted((x * inch, y * inch) for x in (0.25, 4.25) for y in (1, 4, 7))
    assert [v for p in sorted(layout.positions) for v in p] == pytest.approx([v for p in expected for v in p])


def test_badges_on_a_sheet_never_overlap():
    for layout in LAYOUTS.values():
        w, h = layout.badge_size
        boxes = layout.positions + layout.back_positions
        for i, (x1, y1) in enumerate(boxes):
            for x2, y2 in boxes[i + 1:]:
                assert x1 + w <= x2 + 0.01 or x2 + w <= x1 + 0.01 or y1 + h <= y2 + 0.01 or y2 + h <= y1 + 0.01


def test_get_layout_by_name_or_object_and_unknown_names():
    assert get_layout("cr80") is LAYOUTS["cr80"]
    assert get_layout(LAYOUTS["cr80"]) is LAYOUTS["cr80"]
    with pytest.raises(LayoutError, match="unknown badge layout"):
        get_layout("a3-poster")


def test_a_custom_layout_from_data_is_checked():
    custom = layout_from_dict("name-tent", {"page": ["8.5in", "11in"], "badge": ["8.5in", "5.5in"],
                                            "positions": [["0in", "0in"], ["0in", "5.5in"]], "media": "Letter"})
    assert isinstance(custom, Layout) and custom.per_page == 2
    with pytest.raises(LayoutError, match="falls off"):
        layout_from_dict("bad", {"page": ["4in", "3in"], "badge": ["4in", "3in"], "positions": [["1in", "0in"]]})
    with pytest.raises(LayoutError, match="not a length"):
        layout_from_dict("bad", {"page": ["4 inches", "3in"], "badge": ["4in", "3in"], "positions": [["0in", "0in"]]})


def test_style_validates_colours_and_fields():
    style = BadgeStyle(band_colors={"Speaker": "#C2410C"})
    assert style.band_for("speaker") == "#C2410C"
    assert style.band_for("unknown") == style.default_band
    with pytest.raises(LayoutError):
        BadgeStyle(accent="red")
    with pytest.raises(LayoutError):
        BadgeStyle(show={"email"})
