"""Text on a badge: paragraphs shrunk in small steps to a floor, wrapped at word (or CJK) breaks, then cut.

Fonts per script and bidi shaping are `fonts`' part; this module decides sizes, lines and where they go.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

from reportlab.pdfgen.canvas import Canvas

from kiosk.badges.fonts import FontStack, font_stack, is_rtl, visual

ELLIPSIS = "\u2026"


@dataclass
class Block:
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
class Line:
    """A placed line, ready to draw: its baseline starts at (x, y)."""

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


def truncate(line: str, stack: FontStack, size: float, width: float) -> str:
    """`line` cut to fit `width` with an ellipsis."""
    while line and stack.width(line + ELLIPSIS, size) > width:
        line = line[:-1]
    return line.rstrip() + ELLIPSIS


def _cap(size: float) -> float:
    # Top of the line box to the first baseline: about the cap height of Noto Sans plus a little air.
    return 0.80 * size


def _leading(size: float) -> float:
    return 1.17 * size


def fit_block(block: Block, top: float, scale: float, width_at: Callable[[float], float]):
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
            kept[-1] = truncate(rest, stack, size, width_of(allowed - 1))
            return size, kept
        size = max(floor, size - max(0.5, size * 0.04))  # small steps, like Indico's badge designer


def _flow(blocks: list[Block], top: float, bottom: float, left: float, width_at: Callable[[float], float],
          scale: float, lead_scale: float = 1.0) -> tuple[list[Line], float]:
    """Place blocks top-down; return the lines and the lowest point used.

    `scale` sizes every block but the lead (the first name), which `lead_scale` sizes.
    """
    placed: list[Line] = []
    y = top
    for block in blocks:
        if not block.text:
            continue
        block_scale = lead_scale if block.lead else scale
        y -= block.space_before * block_scale
        size, lines = fit_block(block, y, block_scale, width_at)
        stack = font_stack(block.bold)
        rtl = is_rtl(block.text)
        for i, line in enumerate(lines):
            baseline = y - _cap(size) - i * _leading(size)
            drawn = visual(line)
            x = left
            if rtl:  # right-to-left paragraphs hug the right edge of their column
                x = left + width_at(baseline - 0.25 * size) - stack.width(drawn, size)
            placed.append(Line(drawn, stack, size, block.color, x, baseline))
        y -= _cap(size) + (len(lines) - 1) * _leading(size) + 0.28 * size
    return placed, y


# (first name scale, details scale), tried in order until the badge's text fits.
_SHRINK_PLAN = ((1.0, 1.0), (1.0, 0.94), (1.0, 0.88), (1.0, 0.82), (0.9, 0.82), (0.9, 0.76), (0.8, 0.76),
                (0.8, 0.7))


def fit_flow(blocks: list[Block], top: float, bottom: float, left: float,
             width_at: Callable[[float], float]) -> list[Line]:
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


def draw_lines(c: Canvas, lines: list[Line]) -> None:
    """Draw placed lines in their colours."""
    for line in lines:
        c.setFillColor(line.color)
        line.stack.draw(c, line.x, line.y, line.text, line.size)
