"""Badge PDFs: plain data in, PDF bytes out (reportlab, bundled fonts, QR codes drawn as vector rectangles).

Text is drawn with `drawString` only, never as Paragraph markup, so names like `<b>&amp;` print literally.
Lengths in the design are fractions of the badge's short side (`u`), so one design serves a CR80 card and an
A6 sheet alike.
"""
from __future__ import annotations

import dataclasses
import functools
import io
import logging
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import qrcode
from qrcode.constants import ERROR_CORRECT_M
from qrcode.exceptions import DataOverflowError
from reportlab.lib.colors import HexColor, white
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from kiosk.badges.fonts import FontStack, clean_text, font_stack, is_rtl, shape, visual
from kiosk.badges.layouts import BadgeStyle, Layout, get_layout

log = logging.getLogger(__name__)

INK = HexColor("#111827")
SECONDARY = HexColor("#374151")
MUTED = HexColor("#6b7280")
HAIRLINE = HexColor("#9ca3af")

#: The smallest printed QR symbol (without quiet zone) we allow; 25 mm reads at arm's length at level M.
MIN_QR_SIZE = 25 * mm
QUIET_MODULES = 4  # ISO/IEC 18004 quiet zone
BACK_HINT = "Scan the QR or open your personal page to see your matches"
ELLIPSIS = "\u2026"


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


class BadgeRenderError(ValueError):
    """Badges that cannot be rendered (no badges, a QR payload too long)."""


# ---------------------------------------------------------------------------------------------- text layout

@dataclass
class _Block:
    """A paragraph to flow: shrinks from size to floor, wraps below wrap_below, at most max_lines."""

    text: str  # shaped, logical order
    bold: bool
    size: float
    floor: float
    color: object
    max_lines: int = 1
    wrap_below: float = 0.0
    space_before: float = 0.0
    group: int = 0  # blocks of a group (a label and its text) are dropped together
    lead: bool = False  # the first name: shrinks last


@dataclass
class _Line:
    text: str  # visual order
    stack: FontStack
    size: float
    color: object
    x: float
    y: float


def _is_breakable_char(ch: str) -> bool:
    # Han, kana and Hangul may break between any two characters.
    cp = ord(ch)
    return 0x2E80 <= cp <= 0x9FFF or 0xAC00 <= cp <= 0xD7AF or 0xF900 <= cp <= 0xFAFF or 0xFF00 <= cp <= 0xFFEF \
        or 0x20000 <= cp <= 0x3FFFF


def _units(text: str) -> list[str]:
    """Pieces between break opportunities: words with their trailing space, or single CJK characters."""
    units, buf = [], []
    for ch in text:
        if _is_breakable_char(ch):
            if buf:
                units.append("".join(buf))
                buf = []
            units.append(ch)
        elif ch == " ":
            buf.append(ch)
            units.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    if buf:
        units.append("".join(buf))
    return units


def _wrap(text: str, stack: FontStack, size: float, width_of: Callable[[int], float], limit: int) -> list[str]:
    """Greedy line breaking; stops after `limit` + 1 lines (enough to know it overflowed)."""
    lines: list[str] = []
    line = ""
    for unit in _units(text):
        candidate = line + unit
        if stack.width(candidate.rstrip(), size) <= width_of(len(lines)):
            line = candidate
            continue
        if line.strip():
            lines.append(line.rstrip())
            if len(lines) > limit:
                return lines
            line = ""
        unit = unit.lstrip() if not line else unit
        # A single word wider than the line: break it between characters.
        while stack.width(unit.rstrip(), size) > width_of(len(lines)):
            cut = len(unit) - 1
            while cut > 1 and stack.width(unit[:cut], size) > width_of(len(lines)):
                cut -= 1
            lines.append(unit[:cut])
            unit = unit[cut:]
            if len(lines) > limit:
                return lines
        line = unit
    if line.strip():
        lines.append(line.rstrip())
    return lines


def _truncate(line: str, stack: FontStack, size: float, width: float) -> str:
    """`line` cut to fit `width` with an ellipsis."""
    while line and stack.width(line + ELLIPSIS, size) > width:
        line = line[:-1]
    return line.rstrip() + ELLIPSIS


def _cap(size: float) -> float:
    # Top of the line box to the first baseline: about the cap height of Noto Sans plus a little air.
    return 0.80 * size


def _leading(size: float) -> float:
    return 1.17 * size


def _fit_block(block: _Block, top: float, scale: float, width_at: Callable[[float], float]):
    """(size, logical lines) for a block whose line box starts at `top`: shrink, then wrap, then truncate."""
    stack = font_stack(block.bold)
    size = block.size * scale
    floor = min(block.floor * scale, size)
    wrap_below = block.wrap_below * scale if block.wrap_below else 0.0

    def width_of(i: int) -> float:
        return width_at(top - _cap(size) - i * _leading(size) - 0.25 * size)

    while True:
        allowed = 1 if wrap_below and size > wrap_below else block.max_lines
        lines = _wrap(block.text, stack, size, width_of, allowed)
        if len(lines) <= allowed:
            return size, lines
        if size <= floor + 1e-6:
            kept = lines[:allowed]
            rest = " ".join(lines[allowed - 1:])
            kept[-1] = _truncate(rest, stack, size, width_of(allowed - 1))
            return size, kept
        size = max(floor, size - max(0.5, size * 0.04))  # small steps, like Indico's badge designer


def _flow(blocks: list[_Block], top: float, bottom: float, left: float, width_at: Callable[[float], float],
          scale: float, lead_scale: float = 1.0) -> tuple[list[_Line], float]:
    """Place blocks top-down; return the lines and the lowest point used.

    `scale` sizes every block but the lead (the first name), which `lead_scale` sizes.
    """
    placed: list[_Line] = []
    y = top
    for block in blocks:
        if not block.text:
            continue
        block_scale = lead_scale if block.lead else scale
        y -= block.space_before * block_scale
        size, lines = _fit_block(block, y, block_scale, width_at)
        stack = font_stack(block.bold)
        rtl = is_rtl(block.text)
        for i, line in enumerate(lines):
            baseline = y - _cap(size) - i * _leading(size)
            drawn = visual(line)
            x = left
            if rtl:  # right-to-left paragraphs hug the right edge of their column
                x = left + width_at(baseline - 0.25 * size) - stack.width(drawn, size)
            placed.append(_Line(drawn, stack, size, block.color, x, baseline))
        y -= _cap(size) + (len(lines) - 1) * _leading(size) + 0.28 * size
    return placed, y


# (first name scale, details scale), tried in order until the badge's text fits.
_SHRINK_PLAN = ((1.0, 1.0), (1.0, 0.94), (1.0, 0.88), (1.0, 0.82), (0.9, 0.82), (0.9, 0.76), (0.8, 0.76),
                (0.8, 0.7))


def _fit_flow(blocks: list[_Block], top: float, bottom: float, left: float,
              width_at: Callable[[float], float]) -> list[_Line]:
    """Flow blocks so they end above `bottom`.

    In order: shrink the details, then the first name a little too, then keep one line per card, then drop
    whole groups from the end (need, offer, pronouns, role): the first name and full name always print.
    """
    blocks = [dataclasses.replace(b) for b in blocks]  # max_lines is lowered below: work on copies
    while True:
        for lead_scale, scale in _SHRINK_PLAN:
            lines, low = _flow(blocks, top, bottom, left, width_at, scale, lead_scale)
            if low >= bottom - 0.5:
                return lines
        multi = [b for b in blocks if b.max_lines > 1 and not b.wrap_below]
        if multi:  # first give up second lines of the cards, then whole groups from the end
            for b in multi:
                b.max_lines -= 1
            continue
        droppable = [b.group for b in blocks if b.group]
        if not droppable:
            return lines
        last = droppable[-1]
        blocks = [b for b in blocks if b.group != last]


def _draw_lines(c: Canvas, lines: list[_Line]) -> None:
    for line in lines:
        c.setFillColor(line.color)
        line.stack.draw(c, line.x, line.y, line.text, line.size)


def _text(value: object) -> str:
    return shape(clean_text(value))


# ------------------------------------------------------------------------------------------------------ QR

@functools.cache
def _mask_patterns(n: int) -> np.ndarray:
    """The 8 ISO/IEC 18004 data masks for an n x n symbol, as booleans (mask, row, col)."""
    i, j = np.indices((n, n))
    return np.stack([(i + j) % 2 == 0, i % 2 == 0, j % 3 == 0, (i + j) % 3 == 0,
                     (i // 2 + j // 3) % 2 == 0, (i * j) % 2 + (i * j) % 3 == 0,
                     ((i * j) % 2 + (i * j) % 3) % 2 == 0, ((i * j) % 3 + (i + j) % 2) % 2 == 0])


_FINDER_LIKE = np.array([[1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0], [0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1]], dtype=bool)


def _penalties(symbols: np.ndarray) -> np.ndarray:
    """ISO/IEC 18004 mask penalty (rules N1-N4, as qrcode scores them) of each symbol in a (k, n, n) stack."""
    k, n, _ = symbols.shape
    score = np.zeros(k, dtype=np.int64)
    for a in (symbols, symbols.transpose(0, 2, 1)):
        flat = np.ascontiguousarray(a).reshape(-1)
        starts = np.ones(flat.shape, dtype=bool)
        starts[1:] = flat[1:] != flat[:-1]
        starts[::n] = True  # every row starts a run
        first = np.flatnonzero(starts)
        lengths = np.diff(np.append(first, flat.size))
        long_runs = np.where(lengths >= 5, lengths - 2, 0)
        score += np.bincount(first // (n * n), weights=long_runs, minlength=k).astype(np.int64)
        windows = np.lib.stride_tricks.sliding_window_view(a, 11, axis=2)
        hits = (windows[:, :, :, None, :] == _FINDER_LIKE).all(axis=-1).any(axis=-1)
        score += 40 * hits.sum(axis=(1, 2))
    block = symbols[:, :-1, :-1]
    same = (block == symbols[:, 1:, :-1]) & (block == symbols[:, :-1, 1:]) & (block == symbols[:, 1:, 1:])
    score += 3 * same.sum(axis=(1, 2))
    percent = symbols.sum(axis=(1, 2)) * 100 / (n * n)
    score += 10 * (np.abs(percent - 50) // 5).astype(np.int64)
    return score


class _QRCode(qrcode.QRCode):
    """qrcode's QRCode, same symbols, twice as fast.

    qrcode picks the mask by placing the data 8 times and scoring each in pure Python (60 % of a badge's render
    time). Here the data is placed once, the 8 masks are XORed onto it and scored together in numpy.
    """

    def map_data(self, data, mask_pattern):
        self._data_cells = np.array([[cell is None for cell in row] for row in self.modules])
        super().map_data(data, mask_pattern)

    def best_mask_pattern(self):
        self.makeImpl(True, 0)
        masks = _mask_patterns(self.modules_count)
        data = self._data_cells
        unmasked = np.array(self.modules, dtype=bool) ^ (data & masks[0])
        return int(np.argmin(_penalties(unmasked[None] ^ (data & masks))))


@functools.lru_cache(maxsize=2048)
def _qr_rows(payload: str) -> tuple[int, tuple[tuple[int, int, int], ...]]:
    """(modules per side, (row, first column, run length) for every horizontal run of dark modules)."""
    qr = _QRCode(error_correction=ERROR_CORRECT_M, border=0, box_size=1)
    qr.add_data(payload)
    try:
        qr.make(fit=True)
    except (DataOverflowError, ValueError) as exc:  # past version 40 (qrcode raises either)
        raise BadgeRenderError(f"QR payload too long ({len(payload)} characters)") from exc
    matrix = qr.get_matrix()
    runs = []
    for r, row in enumerate(matrix):
        c = 0
        n = len(row)
        while c < n:
            if row[c]:
                start = c
                while c < n and row[c]:
                    c += 1
                runs.append((r, start, c - start))
            else:
                c += 1
    return len(matrix), tuple(runs)


def qr_modules(payload: str) -> int:
    """Modules per side of the QR symbol for `payload` (without quiet zone)."""
    return _qr_rows(payload)[0]


def draw_qr(c: Canvas, payload: str, x: float, y: float, size: float) -> None:
    """Draw the QR symbol of `payload` as filled rectangles, lower-left corner at (x, y), `size` wide."""
    n, runs = _qr_rows(payload)
    m = size / n
    # One path of `re` operators written directly: reportlab's own path API formats each number through a slow
    # pure-Python routine, and a QR has ~400 rectangles. Rows overlap by a hair (nonzero fill, `f`) so
    # antialiasing rasterizers show no seams between them.
    bleed = m * 0.02
    top = y + size
    ops = [f"{x + start * m:.2f} {top - (r + 1) * m - bleed:.2f} {length * m:.2f} {m + 2 * bleed:.2f} re"
           for r, start, length in runs]
    c.saveState()
    c.setFillColor(INK)
    c.addLiteral("\n".join(ops) + "\nf")
    c.restoreState()


def _qr_side(u: float) -> float:
    return max(MIN_QR_SIZE, min(0.40 * u, 34 * mm))


# ---------------------------------------------------------------------------------------------- the badge

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
        label = _truncate(label, bold, label_size, (right - left) * 0.5) if bold.width(label, label_size) > (
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
                event = _truncate(event, regular, event_size, room)
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
        quiet = QUIET_MODULES * side / qr_modules(badge.qr_url)
        caption_size = max(0.032 * u, 5.5)
        qx, qy = right - side, bottom + 0.75 * caption_size + quiet
        draw_qr(c, badge.qr_url, qx, qy, side)
        caption = "Scan to connect"
        regular = font_stack(False)
        c.setFillColor(MUTED)
        cw = regular.width(caption, caption_size)
        regular.draw(c, qx + side / 2 - cw / 2, bottom, caption, caption_size)
        qr_clear_top = qy + side + quiet
        col_right = qx - max(quiet, 0.045 * u)

    def width_at(line_bottom: float) -> float:
        return (right if line_bottom >= qr_clear_top else col_right) - left

    first = _text(badge.first_name) or _text(clean_text(badge.full_name).split(" ")[0])
    full = _text(badge.full_name)
    show = style.show
    # portrait badges have the height for a third line of a very long first name
    blocks = [_Block(first, True, 0.21 * u, 0.10 * u, INK, max_lines=3 if h > w else 2, wrap_below=0.15 * u,
                     lead=True)]
    if full and full != first:
        blocks.append(_Block(full, False, 0.068 * u, 0.05 * u, INK, space_before=0.01 * u))
    role = " \u00b7 ".join(t for t in (
        _text(badge.title) if "title" in show else "", _text(badge.company) if "company" in show else "") if t)
    if role:
        blocks.append(_Block(role, False, 0.056 * u, 0.042 * u, SECONDARY, max_lines=2,
                             space_before=0.012 * u, group=1))
    if "pronouns" in show:
        pronouns = _text(badge.pronouns)
        if pronouns:
            blocks.append(_Block(pronouns, False, 0.048 * u, 0.04 * u, MUTED, space_before=0.012 * u, group=2))
    accent = HexColor(style.accent)
    for group, (key, label, value) in enumerate(
            (("offer", "ASK ME ABOUT", badge.offer), ("need", "LOOKING FOR", badge.need)), start=4):
        value = _text(value) if key in show else ""
        if value:
            blocks.append(_Block(label, True, 0.037 * u, 0.032 * u, accent, space_before=0.05 * u, group=group))
            blocks.append(_Block(value, False, 0.054 * u, 0.042 * u, INK, max_lines=2, space_before=0.004 * u,
                                 group=group))
    _draw_lines(c, _fit_flow(blocks, top, bottom, left, width_at))


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
        quiet = QUIET_MODULES * side / qr_modules(badge.qr_url)
        draw_qr(c, badge.qr_url, right - side, bottom, side)
        hint_top = bottom + side + quiet
        text_right = right - side - max(quiet, 0.045 * u)
    hint = _fit_flow([_Block(BACK_HINT, False, 0.045 * u, 0.035 * u, SECONDARY, max_lines=4)],
                     hint_top, bottom, left, lambda _y: text_right - left)
    _draw_lines(c, hint)
    lists_bottom = hint_top + 0.04 * u

    accent = HexColor(style.accent)
    blocks: list[_Block] = []
    for group, (label, items) in enumerate(
            (("ASK ME ABOUT", badge.offers or [badge.offer]), ("LOOKING FOR", badge.needs or [badge.need])), 1):
        items = [t for t in (_text(i) for i in items) if t]
        if not items:
            continue
        blocks.append(_Block(label, True, 0.04 * u, 0.032 * u, accent, space_before=0.03 * u if blocks else 0,
                             group=group * 100))
        for k, item in enumerate(items):
            blocks.append(_Block("\u2022 " + item, False, 0.05 * u, 0.038 * u, INK, max_lines=3,
                                 space_before=0.012 * u, group=group * 100 + k + 1))
    if blocks:
        _draw_lines(c, _fit_flow(blocks, top, lists_bottom, left, lambda _y: right - left))


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
