"""Badge PDFs, checked with real tools: poppler rasterizes and extracts text, zxing-cpp reads every QR."""
from __future__ import annotations

import io
import re
import shutil
import subprocess
import unicodedata

import pytest
from pypdf import PdfReader

from kiosk.badges.layouts import LAYOUTS, BadgeStyle
from kiosk.badges.render import BadgeData, BadgeRenderError, render_badges, render_test_page
from tests.badges.conftest import ARTIFACTS, PEOPLE, decode_qrs, make_badges, rasterize, zxing
from tests.realparts import need_program

PT_PER_MM = 72 / 25.4


def _text_of(pdf: bytes, tmp_path, name="text") -> str:
    need_program("pdftotext")
    src = tmp_path / f"{name}.pdf"
    src.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(src), "-"], capture_output=True, check=True,
                         timeout=60).stdout.decode()
    # Arabic comes back as presentation forms wrapped in bidi embedding marks: compare compatibility forms.
    return unicodedata.normalize("NFKC", re.sub("[\u202a-\u202e]", "", out))


def _assert_every_qr_decodes(pdf: bytes, badges: list[BadgeData], tmp_path, layout: str) -> None:
    pages = rasterize(pdf, tmp_path, dpi=150, name=layout)
    per_page = LAYOUTS[layout].per_page
    assert len(pages) == -(-len(badges) // per_page)
    for number, png in enumerate(pages):
        expected = sorted(b.qr_url for b in badges[number * per_page:(number + 1) * per_page])
        # fold-over badges carry the QR on the front and again on the back
        found = sorted(set(decode_qrs(png)))
        assert found == sorted(set(expected)), f"{layout} page {number + 1}"


def test_every_qr_on_a_60_badge_letter_sheet_decodes(tmp_path):
    badges = make_badges(60)
    pdf = render_badges(badges, "letter-6up", crop_marks=True)
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 10
    _assert_every_qr_decodes(pdf, badges, tmp_path, "letter-6up")


@pytest.mark.parametrize("layout", ["label-4x3", "cr80", "a4-4up-a6", "a6-fold"])
def test_every_qr_decodes_on_each_layout(layout, tmp_path):
    badges = make_badges(len(PEOPLE))
    _assert_every_qr_decodes(render_badges(badges, layout), badges, tmp_path, layout)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_page_size_matches_the_stock(layout):
    preset = LAYOUTS[layout]
    reader = PdfReader(io.BytesIO(render_badges(make_badges(preset.per_page + 1), layout)))
    assert len(reader.pages) == 2
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx(preset.page_size, abs=0.01)


def test_qr_is_at_least_25_mm_and_holds_exactly_the_url(tmp_path):
    url = "https://give.example.org/b/K7QX9M2HRTW4Z8NPV3CA"
    badge = BadgeData("Ana", "Ana Lima", qr_url=url)
    pdf = render_badges([badge], "cr80")  # the smallest stock
    png = rasterize(pdf, tmp_path, dpi=300, name="cr80")[0]
    assert decode_qrs(png) == [url]
    zxingcpp = zxing()
    from PIL import Image

    with Image.open(png) as image:
        (result,) = zxingcpp.read_barcodes(image)
    pos = result.position
    side_px = max(abs(pos.top_right.x - pos.top_left.x), abs(pos.bottom_left.y - pos.top_left.y))
    assert side_px / 300 * 25.4 >= 24.5  # mm, allowing a pixel of rounding
    assert result.ec_level in ("M", "Q", "H")


def test_every_name_is_in_the_text_layer(tmp_path):
    badges = make_badges(len(PEOPLE))
    text = _text_of(render_badges(badges, "a4-4up-a6"), tmp_path)
    for first, full, *_ in PEOPLE:
        if first.startswith("Wolfe"):
            continue  # wrapped and truncated on purpose; checked in test_long_names_shrink_then_wrap
        for value in (first, full.split(" </para>")[0]):
            assert unicodedata.normalize("NFKC", value) in text, value
    # right-to-left names come back in logical order from poppler: shaped, reordered and still the same name
    assert "محمد بن عبد الله العلي" in text
    assert "נועה כהן" in text


def test_markup_and_control_characters_print_literally(tmp_path):
    evil = BadgeData("<b>&amp;", "</para><font size=4>x", company="<para>&lt;ACME&gt;",
                     title="tab\there\x00nul\x1b[31m", offer="]]></text> & <script>", qr_url="https://x.test/b/Q")
    text = _text_of(render_badges([evil], "label-4x3"), tmp_path)
    assert "<b>&amp;" in text
    assert "</para><font size=4>x" in text
    assert "<para>&lt;ACME&gt;" in text
    assert "]]></text> & <script>" in text
    assert "tab here nul [31m" in text
    assert "\x00" not in text and "\x1b" not in text


def test_bidi_overrides_cannot_reverse_the_badge(tmp_path):
    text = _text_of(render_badges([BadgeData("\u202eevil", "\u202eRight \u2066to\u2069 left")], "cr80"), tmp_path)
    assert "evil" in text and "Right to left" in text


def test_emoji_are_dropped_cleanly_never_tofu(tmp_path):
    pdf = render_badges([BadgeData("Ana 🚀", "Ana 👩\u200d💻 Lima 🇵🇹", offer="Rust ✨ ❤️ and ★ stars")], "cr80")
    text = _text_of(pdf, tmp_path)
    assert "Ana Lima" in text
    assert "★" in text  # drawn from Noto Sans Symbols 2
    assert not re.search("[\U0001F000-\U0001FAFF\u200d\ufe0f]", text)


def test_every_font_is_embedded(tmp_path):
    need_program("pdffonts")
    src = tmp_path / "fonts.pdf"
    src.write_bytes(render_badges(make_badges(len(PEOPLE)), "letter-6up"))
    out = subprocess.run(["pdffonts", str(src)], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in out.splitlines()[2:] if line.strip()]
    assert len(rows) >= 6  # Latin, Arabic, Hebrew, Korean, CJK, at least one bold
    for row in rows:
        # columns: name type [encoding words] emb sub uni object-id; emb and sub are the 4th/5th from the end
        assert row[-5] == "yes", f"{row[0]} is not embedded"


def test_long_name_stays_inside_the_badge(tmp_path):
    badge = make_badges(len(PEOPLE))[9]
    assert badge.first_name.startswith("Wolfe")
    text = _text_of(render_badges([badge], "label-4x3"), tmp_path)
    assert "Wolfeschlegel" in text and "..." in text  # wrapped/cut (NFKC turns the ellipsis into dots)
    need_program("pdftotext")
    src = tmp_path / "bbox.pdf"
    src.write_bytes(render_badges([badge], "label-4x3"))
    html = subprocess.run(["pdftotext", "-bbox", str(src), "-"], capture_output=True, text=True).stdout
    for x_max in re.findall(r'xMax="([\d.]+)"', html):
        assert float(x_max) <= 4 * 72


def test_empty_fields_collapse(tmp_path):
    text = _text_of(render_badges([BadgeData("Ana", "")], "label-4x3"), tmp_path)
    assert text.split() == ["Ana"]  # no labels without values, no QR caption without a QR


def test_missing_values_from_the_database_render(tmp_path):
    badge = BadgeData(None, "Ana Lima", company=None, title=None, pronouns=None, offer=None, need=None,
                      ticket_type=None, qr_url=None, event_name=None, offers=None, needs=None)
    for layout in ("label-4x3", "a6-fold"):
        text = _text_of(render_badges([badge], layout), tmp_path, name=layout)
        assert "Ana" in text and "Ana Lima" in text  # the first name falls back to the full name's first word


def test_hidden_fields_are_not_printed(tmp_path):
    style = BadgeStyle(show={"qr"})
    badge = make_badges(1)[0]
    text = _text_of(render_badges([badge], "label-4x3", style=style), tmp_path)
    assert badge.first_name in text and badge.full_name in text
    for hidden in (badge.company, badge.pronouns, badge.offer, "ASK ME ABOUT", badge.event_name):
        assert hidden not in text


def test_fold_back_lists_every_card_and_the_hint(tmp_path):
    badge = BadgeData("Ana", "Ana Lima", offer="Rust", need="Funding", offers=["Rust", "Kubernetes", "Hiring"],
                      needs=["Funding", "A designer"], qr_url="https://give.example.org/b/ABCDEFGHJK")
    text = _text_of(render_badges([badge], "a6-fold"), tmp_path)
    for card in ("Kubernetes", "Hiring", "A designer"):
        assert card in text
    assert "Scan the QR or open your personal page to see your matches" in " ".join(text.split())


def test_ticket_type_picks_the_band_colour(tmp_path):
    from PIL import Image

    style = BadgeStyle(band_colors={"Speaker": "#ff0000"}, default_band="#0000ff")
    pdf = render_badges([BadgeData("A", "A", ticket_type="speaker"), BadgeData("B", "B")], "cr80", style=style)
    top_left = []
    for png in rasterize(pdf, tmp_path, dpi=72, name="band"):
        with Image.open(png) as image:
            top_left.append(image.convert("RGB").getpixel((3, 3)))
    assert top_left == [(255, 0, 0), (0, 0, 255)]


def test_crop_marks_only_in_the_margins(tmp_path):
    from PIL import Image

    badges = make_badges(6)
    plain, marked = (rasterize(render_badges(badges, "letter-6up", crop_marks=flag), tmp_path, dpi=72,
                               name=f"marks{flag}")[0] for flag in (False, True))
    with Image.open(plain) as a, Image.open(marked) as b:
        a, b = a.convert("L"), b.convert("L")
        changed = [(x, y) for x in range(a.width) for y in range(a.height)
                   if abs(a.getpixel((x, y)) - b.getpixel((x, y))) > 40]
    assert changed
    # every changed pixel is in the top or bottom inch, or the quarter-inch side margins: never on a badge
    assert all(y < 72 or y >= 792 - 72 or x < 18 or x >= 612 - 18 for x, y in changed)


def test_rendering_is_deterministic_and_thread_safe():
    """Kiosks render concurrently in one process: threads must give the same bytes as a serial render."""
    from concurrent.futures import ThreadPoolExecutor

    jobs = [(make_badges(8)[i:i + 2], layout) for i in (0, 2, 4, 6) for layout in ("label-4x3", "a6-fold")]
    serial = [render_badges(b, layout) for b, layout in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(lambda job: render_badges(*job), jobs))
    assert threaded == serial


def test_logo_is_drawn_in_the_band_and_a_broken_one_is_skipped(tmp_path):
    from PIL import Image

    logo = tmp_path / "logo.png"
    Image.new("RGB", (120, 40), (250, 200, 0)).save(logo)
    badge = BadgeData("Ana", "Ana Lima", event_name="Summit", qr_url="https://x.test/b/ABC")
    with_logo = render_badges([badge], "label-4x3", style=BadgeStyle(logo_path=str(logo)))
    assert len(PdfReader(io.BytesIO(with_logo)).pages[0].images) == 1
    png = rasterize(with_logo, tmp_path, dpi=72, name="logo")[0]
    with Image.open(png) as image:
        assert image.convert("RGB").getpixel((20, 10)) == (250, 200, 0)  # the logo, top left in the band
    broken = render_badges([badge], "label-4x3", style=BadgeStyle(logo_path=str(tmp_path / "missing.png")))
    assert "Summit" in _text_of(broken, tmp_path)


def test_no_badges_is_an_error():
    with pytest.raises(BadgeRenderError):
        render_badges([], "label-4x3")


def test_a_payload_too_long_for_any_qr_is_a_render_error():
    with pytest.raises(BadgeRenderError, match="too long"):
        render_badges([BadgeData("Ana", "Ana", qr_url="x" * 5000)], "cr80")


def test_test_page_renders_every_position(tmp_path):
    pdf = render_test_page("letter-6up", printer="Front desk")
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1
    assert "Front desk" in _text_of(pdf, tmp_path)
    assert len(decode_qrs(rasterize(pdf, tmp_path, name="test-page")[0])) == 6


def _page_texts(pdf: bytes, tmp_path, name: str) -> list[str]:
    """The text layer of each page (pdftotext ends every page with a form feed)."""
    return _text_of(pdf, tmp_path, name).split("\f")[:-1]


def _shows(text: str, name: str) -> bool:
    """True if the text shows the name, wrapped anywhere, or its start cut with an ellipsis when too long."""
    flat, wanted = "".join(text.split()), "".join(unicodedata.normalize("NFKC", name).split())
    return wanted in flat or any(wanted[:n] + "..." in flat for n in range(8, len(wanted)))


def test_renders_every_layout_to_png_artifacts(tmp_path):
    """Every layout gives the pages its positions imply, each showing its own badges' names and QR codes that
    decode to their badge URLs; the PNGs stay in test-artifacts/badges for a human to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    badges = make_badges(len(PEOPLE))
    for name, layout in LAYOUTS.items():
        pdf = render_badges(badges, name, crop_marks=layout.is_sheet)
        (ARTIFACTS / f"{name}.pdf").write_bytes(pdf)
        pages = rasterize(pdf, tmp_path, dpi=150, name=name)
        texts = _page_texts(pdf, tmp_path, name)
        expected_pages = -(-len(badges) // layout.per_page)
        assert len(pages) == len(texts) == len(PdfReader(io.BytesIO(pdf)).pages) == expected_pages, name
        for number, (png, text) in enumerate(zip(pages, texts)):
            on_page = badges[number * layout.per_page:(number + 1) * layout.per_page]
            for badge in on_page:
                assert _shows(text, badge.first_name) and _shows(text, badge.full_name), (name, number, badge)
            # fold-over badges carry the QR on the front and again on the back
            assert sorted(set(decode_qrs(png))) == sorted(b.qr_url for b in on_page), (name, number)
        for old in ARTIFACTS.glob(f"{name}-*.png"):
            old.unlink()
        for page in pages:
            shutil.copy(page, ARTIFACTS / page.name)
