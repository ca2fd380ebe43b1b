"""Badge PDFs: plain data in, PDF bytes out; the page, the badge faces and what goes where on them.

QR symbols are drawn by `qr`, text is sized and placed by `text_fit`, fonts per script come from `fonts`.
Text is drawn with `drawString` only, never as Paragraph markup, so names like `<b>&amp;` print literally.
Lengths in the design are fractions of the badge's short side (`u`), so one design serves a CR80 card and an
A6 sheet alike.
"""
from __future__ import annotations

import functools
import io
import logging
from dataclasses import dataclass, field
from typing import Sequence

from reportlab.lib.colors import HexColor, white
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from kiosk.badges.fonts import clean_text, font_stack, shape, visual
from kiosk.badges.layouts import BadgeStyle, Layout, get_layout
from kiosk.badges.qr import MIN_QR_SIZE, QUIET_MODULES, QRPayloadTooLong, draw_qr, qr_modules
from kiosk.badges.text_fit import Block, draw_lines, fit_flow, truncate

log = logging.getLogger(__name__)

INK = HexColor("#111827")
SECONDARY = HexColor("#374151")
MUTED = HexColor("#6b7280")
HAIRLINE = HexColor("#9ca3af")

BACK_HINT = "Scan the QR or open your personal page to see your matches"


@dataclass
class BadgeData:
    """What goes on one badge; plain strings, any script, any characters (they are cleaned, never parsed)."""

    first_name: str
    full_name: str
    company: str = ""
    title: str = ""
    pronouns: str = ""
    offer: str = ""
    need: str = ""
    ticket_type: str = ""
    qr_url: str = ""
    event_name: str = ""
    #: Every card, for the back of fold-over badges; the front shows `offer` and `need`.
    offers: list[str] = field(default_factory=list)
    needs: list[str] = field(default_factory=list)
    #: Printed under the QR, to type when a camera cannot read it: the badge number and short code.
    code: str = ""


class BadgeRenderError(ValueError):
    """Badges that cannot be rendered (no badges, a QR payload too long)."""


# ---------------------------------------------------------------------------------------------- the badge

def _text(value: object) -> str:
    return shape(clean_text(value))


def _qr_quiet(payload: str, side: float) -> float:
    """Width of the quiet zone around the QR of `payload` drawn `side` wide."""
    try:
        return QUIET_MODULES * side / qr_modules(payload)
    except QRPayloadTooLong as exc:
        raise BadgeRenderError(str(exc)) from exc


def _qr_side(u: float) -> float:
    return max(MIN_QR_SIZE, min(0.40 * u, 34 * mm))


def _band_text_color(hex_color: str):
    rgb = HexColor(hex_color)
    luminance = 0.2126 * rgb.red + 0.7152 * rgb.green + 0.0722 * rgb.blue
    return INK if luminance > 0.6 else white


@functools.lru_cache(maxsize=16)
def _logo(path: str) -> ImageReader | None:
    try:
        return ImageReader(path)
    except Exception as exc:  # a broken logo must not stop badges printing at the door
        log.warning("badge logo %s cannot be read: %s", path, exc)
        return None


def _draw_band(c: Canvas, badge: BadgeData, style: BadgeStyle, x0: float, y0: float, w: float, h: float,
               u: float, pad: float, right_label: str) -> float:
    """The ticket-type colour band across the top; returns its height."""
    band_h = 0.14 * u
    color = style.band_for(badge.ticket_type)
    c.setFillColor(HexColor(color))
    c.rect(x0, y0 + h - band_h, w, band_h, stroke=0, fill=1)
    fg = _band_text_color(color)
    left = x0 + pad
    right = x0 + w - pad
    size = 0.36 * band_h
    baseline = y0 + h - band_h / 2 - 0.36 * size
    bold = font_stack(True)
    if style.logo_path:
        logo = _logo(style.logo_path)
        if logo is not None:
            lw, lh = logo.getSize()
            logo_h = band_h * 0.62
            logo_w = min(logo_h * lw / max(lh, 1), w * 0.3)
            c.drawImage(logo, left, y0 + h - band_h / 2 - logo_h / 2, logo_w, logo_h,
                        preserveAspectRatio=True, anchor="w", mask="auto")
            left += logo_w + 0.4 * pad
    c.setFillColor(fg)
    label = visual(_text(right_label).upper())
    label_w = 0.0
    if label:
        label_size = size * 0.92
        label = truncate(label, bold, label_size, (right - left) * 0.5) if bold.width(label, label_size) > (
            right - left) * 0.5 else label
        label_w = bold.width(label, label_size)
        bold.draw(c, right - label_w, baseline, label, label_size)
    if "event" in style.show and badge.event_name:
        event = _text(badge.event_name)
        room = right - left - label_w - (pad if label_w else 0)
        if room > size:
            regular = font_stack(False)
            # shrink a long event name a little before cutting it
            event_size = max(size * 0.78, min(size, size * room / max(regular.width(event, size), 1)))
            if regular.width(event, event_size) > room:
                event = truncate(event, regular, event_size, room)
            regular.draw(c, left, baseline, visual(event), event_size)
    return band_h


def _draw_front(c: Canvas, badge: BadgeData, style: BadgeStyle, x0: float, y0: float, w: float, h: float) -> None:
    """One badge face: band, big first name, details, the two top cards, QR bottom right."""
    u = min(w, h)
    pad = max(0.065 * u, 3 * mm)
    band_h = _draw_band(c, badge, style, x0, y0, w, h, u, pad, badge.ticket_type)
    left, right = x0 + pad, x0 + w - pad
    top = y0 + h - band_h - 0.85 * pad
    bottom = y0 + pad

    qr_clear_top = bottom - 1.0  # no QR: full width all the way down
    col_right = right
    if "qr" in style.show and badge.qr_url:
        side = _qr_side(u)
        quiet = _qr_quiet(badge.qr_url, side)
        caption_size = max(0.032 * u, 5.5)
        lines = 2 if badge.code else 1
        qx, qy = right - side, bottom + (0.75 + 1.15 * (lines - 1)) * caption_size + quiet
        draw_qr(c, badge.qr_url, qx, qy, side, INK)
        regular, bold = font_stack(False), font_stack(True)
        captions = [(regular, "Scan to connect", MUTED)] + ([(bold, _text(badge.code), INK)] if badge.code else [])
        for k, (font, caption, colour) in enumerate(captions):
            size = caption_size
            while font.width(caption, size) > side + quiet and size > 4:
                size -= 0.25
            c.setFillColor(colour)
            font.draw(c, qx + side / 2 - font.width(caption, size) / 2,
                      bottom + (lines - 1 - k) * 1.15 * caption_size, caption, size)
        qr_clear_top = qy + side + quiet
        col_right = qx - max(quiet, 0.045 * u)

    def width_at(line_bottom: float) -> float:
        return (right if line_bottom >= qr_clear_top else col_right) - left

    first = _text(badge.first_name) or _text(clean_text(badge.full_name).split(" ")[0])
    full = _text(badge.full_name)
    show = style.show
    # portrait badges have the height for a third line of a very long first name
    blocks = [Block(first, True, 0.21 * u, 0.10 * u, INK, max_lines=3 if h > w else 2, wrap_below=0.15 * u,
                     lead=True)]
    if full and full != first:
        blocks.append(Block(full, False, 0.068 * u, 0.05 * u, INK, space_before=0.01 * u))
    role = " \u00b7 ".join(t for t in (
        _text(badge.title) if "title" in show else "", _text(badge.company) if "company" in show else "") if t)
    if role:
        blocks.append(Block(role, False, 0.056 * u, 0.042 * u, SECONDARY, max_lines=2,
                             space_before=0.012 * u, group=1))
    if "pronouns" in show:
        pronouns = _text(badge.pronouns)
        if pronouns:
            blocks.append(Block(pronouns, False, 0.048 * u, 0.04 * u, MUTED, space_before=0.012 * u, group=2))
    accent = HexColor(style.accent)
    for group, (key, label, value) in enumerate(
            (("offer", "ASK ME ABOUT", badge.offer), ("need", "LOOKING FOR", badge.need)), start=4):
        value = _text(value) if key in show else ""
        if value:
            blocks.append(Block(label, True, 0.037 * u, 0.032 * u, accent, space_before=0.05 * u, group=group))
            blocks.append(Block(value, False, 0.054 * u, 0.042 * u, INK, max_lines=2, space_before=0.004 * u,
                                 group=group))
    draw_lines(c, fit_flow(blocks, top, bottom, left, width_at))


def _draw_back(c: Canvas, badge: BadgeData, style: BadgeStyle, x0: float, y0: float, w: float, h: float) -> None:
    """The back of a fold-over badge: every offer and need, the QR again, and where to see the matches."""
    u = min(w, h)
    pad = max(0.065 * u, 3 * mm)
    band_h = _draw_band(c, badge, style, x0, y0, w, h, u, pad, _text(badge.first_name))
    left, right = x0 + pad, x0 + w - pad
    top = y0 + h - band_h - 0.85 * pad
    bottom = y0 + pad

    hint_top = bottom + 0.2 * u
    text_right = right
    if "qr" in style.show and badge.qr_url:
        side = MIN_QR_SIZE
        quiet = _qr_quiet(badge.qr_url, side)
        draw_qr(c, badge.qr_url, right - side, bottom, side, INK)
        hint_top = bottom + side + quiet
        text_right = right - side - max(quiet, 0.045 * u)
    hint = fit_flow([Block(BACK_HINT, False, 0.045 * u, 0.035 * u, SECONDARY, max_lines=4)],
                     hint_top, bottom, left, lambda _y: text_right - left)
    draw_lines(c, hint)
    lists_bottom = hint_top + 0.04 * u

    accent = HexColor(style.accent)
    blocks: list[Block] = []
    for group, (label, items) in enumerate(
            (("ASK ME ABOUT", badge.offers or [badge.offer]), ("LOOKING FOR", badge.needs or [badge.need])), 1):
        items = [t for t in (_text(i) for i in items) if t]
        if not items:
            continue
        blocks.append(Block(label, True, 0.04 * u, 0.032 * u, accent, space_before=0.03 * u if blocks else 0,
                             group=group * 100))
        for k, item in enumerate(items):
            blocks.append(Block("\u2022 " + item, False, 0.05 * u, 0.038 * u, INK, max_lines=3,
                                 space_before=0.012 * u, group=group * 100 + k + 1))
    if blocks:
        draw_lines(c, fit_flow(blocks, top, lists_bottom, left, lambda _y: right - left))


# ---------------------------------------------------------------------------------------------- the sheet

def _crop_marks(c: Canvas, layout: Layout, boxes: list[tuple[float, float, float, float]]) -> None:
    """Short corner marks in the margins, skipping any that would cross a badge."""
    gap, length = 2 * mm, 5 * mm
    pw, ph = layout.page_size
    all_boxes = boxes
    segments = []
    for x, y, w, h in boxes:
        for cx, dx in ((x, -1), (x + w, 1)):
            for cy, dy in ((y, -1), (y + h, 1)):
                segments.append((cx + dx * gap, cy, cx + dx * (gap + length), cy))  # horizontal
                segments.append((cx, cy + dy * gap, cx, cy + dy * (gap + length)))  # vertical

    def crosses(seg) -> bool:
        # A mark lying on a badge's edge counts as crossing it: it would print along the neighbour's cut.
        x1, y1, x2, y2 = min(seg[0], seg[2]), min(seg[1], seg[3]), max(seg[0], seg[2]), max(seg[1], seg[3])
        if x1 < 0 or y1 < 0 or x2 > pw or y2 > ph:
            return True
        return any(x1 <= bx + bw and x2 >= bx and y1 <= by + bh and y2 >= by for bx, by, bw, bh in all_boxes)

    c.setStrokeColor(INK)
    c.setLineWidth(0.4)
    for seg in segments:
        if not crosses(seg):
            c.line(*seg)


def _fold_lines(c: Canvas, layout: Layout) -> None:
    ph = layout.page_size[1]
    c.setStrokeColor(HAIRLINE)
    c.setLineWidth(0.5)
    c.setDash(3, 3)
    for x1, y1, x2, y2 in layout.fold_lines:
        c.line(x1, ph - y1, x2, ph - y2)
    c.setDash()


def _fold_hint(c: Canvas, layout: Layout, boxes) -> None:
    """Folding steps in each unused quarter of the page (it ends up inside the fold, unseen)."""
    pw, ph = layout.page_size
    free_bottom = max(y + h for _x, y, _w, h in boxes)
    if ph - free_bottom < 30 * mm:
        return
    regular = font_stack(False)
    c.setFillColor(MUTED)
    steps = ("1. Fold this half behind the badge", "along the horizontal dashed line.",
             "2. Fold in the middle, so the badge", "and its back face out.")
    size = 9
    for cx in (pw / 4, 3 * pw / 4):
        for i, text in enumerate(steps):
            y = (ph + free_bottom) / 2 + 20 - i * 13 - (4 if i > 1 else 0)
            regular.draw(c, cx - regular.width(text, size) / 2, y, text, size)


def render_badges(badges: Sequence[BadgeData], layout: str | Layout = "label-4x3", *,
                  style: BadgeStyle | None = None, crop_marks: bool = False, outlines: bool = False,
                  title: str = "Badges") -> bytes:
    """One PDF of all badges; sheet layouts fill their positions in order, then start a new page."""
    layout = get_layout(layout)
    style = style or BadgeStyle()
    if not badges:
        raise BadgeRenderError("no badges to render")
    buf = io.BytesIO()
    # invariant: no timestamps or random ids, so the same badges give the same bytes
    # initialFontName: otherwise reportlab references Helvetica, a font we never draw with and cannot embed
    c = Canvas(buf, pagesize=layout.page_size, pageCompression=1, invariant=1,
               initialFontName=font_stack(False).primary)
    c.setTitle(title)
    c.setCreator("Give & Take")
    pw, ph = layout.page_size
    bw, bh = layout.badge_size
    per_page = layout.per_page
    for start in range(0, len(badges), per_page):
        boxes = []
        for i, badge in enumerate(badges[start:start + per_page]):
            x, y_top = layout.positions[i]
            _draw_front(c, badge, style, x, ph - y_top - bh, bw, bh)
            boxes.append((x, ph - y_top - bh, bw, bh))
            if layout.back_positions:
                bx, by_top = layout.back_positions[i]
                _draw_back(c, badge, style, bx, ph - by_top - bh, bw, bh)
                boxes.append((bx, ph - by_top - bh, bw, bh))
        if layout.fold_lines:
            _fold_lines(c, layout)
            _fold_hint(c, layout, boxes)
        if outlines:
            c.setStrokeColor(HAIRLINE)
            c.setLineWidth(0.3)
            for x, y, w, h in boxes:
                c.rect(x, y, w, h, stroke=1, fill=0)
        if crop_marks and layout.is_sheet and not layout.fold_lines:
            _crop_marks(c, layout, boxes)
        c.showPage()
    c.save()
    return buf.getvalue()


def render_test_page(layout: str | Layout = "label-4x3", *, printer: str = "", style: BadgeStyle | None = None,
                     qr_url: str = "https://example.invalid/b/TESTPAGE") -> bytes:
    """A page of sample badges with outlines, to check a printer's alignment, scaling and fonts."""
    layout = get_layout(layout)
    sample = BadgeData(
        first_name="Test", full_name=f"Printer test page{': ' + printer if printer else ''}",
        company=f"Layout {layout.name}" + (f", media {layout.media}" if layout.media else ""),
        title="Give & Take", pronouns="Ωμέγα · Кириллица · 漢字 · かな · 한글 · العربية · עברית",
        offer="Alignment: the outline should sit on the edge of the stock",
        need="Scaling: print at 100 %, no 'fit to page'", ticket_type="test", qr_url=qr_url,
        event_name="Give & Take", offers=["Alignment and scaling", "Every script: Ωμέγα Кириллица 漢字 한글"],
        needs=["A QR that your phone reads at arm's length"])
    return render_badges([sample] * layout.per_page, layout, style=style, outlines=True,
                         title=f"Test page {printer}".strip())
