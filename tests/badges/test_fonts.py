"""The bundled fonts and the text pipeline: fallback per run, no tofu, bidi and Arabic shaping."""
from __future__ import annotations

import unicodedata

import pytest
from fontTools.ttLib import TTFont

from kiosk.badges.fonts import FONT_DIR, clean_text, font_stack, is_rtl, shape, visual


# Spaces and format characters aside, these are blank on purpose (joiners, fillers, blank braille).
INVISIBLE_BY_DESIGN = {0x034F, 0x115F, 0x1160, 0x2800, 0x3164, 0xFFA0}


def _face_file(name: str) -> str:
    return name.removeprefix("GT-") + ".ttf"


@pytest.mark.parametrize("bold", [False, True])
def test_every_character_a_stack_claims_has_a_real_glyph(bold):
    """A font that maps a character to an empty glyph would print nothing: the stack must never pick it."""
    stack = font_stack(bold)
    for face in stack.faces:
        font = TTFont(FONT_DIR / _face_file(face.name), lazy=True)
        cmap, glyf = font.getBestCmap(), font["glyf"]
        empty = [cp for cp in face.chars
                 if unicodedata.category(chr(cp))[0] not in "ZC" and not 0xFE00 <= cp <= 0xFE0F
                 and cp not in INVISIBLE_BY_DESIGN
                 and glyf[cmap[cp]].numberOfContours == 0]
        assert not empty, f"{face.name} maps {len(empty)} characters to empty glyphs, e.g. {hex(empty[0])}"


def test_fonts_are_truetype_with_licences_and_small_enough():
    files = sorted(FONT_DIR.glob("*.ttf"))
    assert files
    for path in files:
        assert path.read_bytes()[:4] in (b"\x00\x01\x00\x00", b"true"), f"{path.name} is not TrueType"
    assert (FONT_DIR / "OFL.txt").exists() and (FONT_DIR / "LICENSE-Apache-2.0.txt").exists()
    assert sum(p.stat().st_size for p in files) < 25 * 1024 * 1024


@pytest.mark.parametrize("text", ["Zoë Ångström", "Ελένη", "Дмитрий", "山田 美咲", "王伟", "김지민", "محمد", "נועה",
                                  "Nguyễn Thị", "ŁÓDŹ Œuvre ß"])
def test_every_script_is_covered(text):
    stack = font_stack(True)
    assert all(stack.has(ch) for ch in text if ch != " ")
    assert "".join(run for _font, run in stack.runs(text)) == text


def test_runs_switch_fonts_only_where_needed():
    runs = font_stack().runs("Ana 김지민 and 山田")
    assert [font for font, _ in runs] == ["GT-NotoSans-Regular", "GT-NanumBarunGothic", "GT-NotoSans-Regular",
                                          "GT-DroidSansFallbackFull"]
    assert "".join(r for _f, r in runs) == "Ana 김지민 and 山田"


def test_clean_text_drops_controls_emoji_and_overrides():
    assert clean_text("Ana\x00\x07\tLima\n") == "Ana Lima"
    assert clean_text("Ana 👩\u200d💻 Lima 🇵🇹 ✨") == "Ana Lima"
    assert clean_text("\u202eevil\u202c") == "evil"
    assert clean_text("<b>&amp;</b>") == "<b>&amp;</b>"
    assert clean_text(None) == ""
    assert clean_text("Rating ★★★") == "Rating ★★★"  # monochrome symbol glyphs are kept


def test_arabic_is_shaped_and_reordered():
    shaped = shape("محمد")
    assert all(0xFE70 <= ord(ch) <= 0xFEFF for ch in shaped)  # joined presentation forms
    assert unicodedata.normalize("NFKC", shaped) == "محمد"
    assert visual(shaped) == shaped[::-1]  # drawn left to right: the last letter first
    assert is_rtl("محمد Ali") and is_rtl("נועה") and not is_rtl("Ali محمد")


def test_hebrew_with_numbers_reorders_like_the_bidi_algorithm():
    assert visual("שלום 12 Ana") == "Ana 12 םולש"
    assert visual("Ana") == "Ana"
