"""What both reports are built from: text that prints literally in any script, the house styles, and a page
template with a footer and page numbers.

reportlab's Paragraph parses a mini-markup and draws each run in one font, so user text goes through `rich`:
cleaned like a badge (kiosk.badges.fonts), Arabic shaped and bidi-reordered, escaped (a name like
`<font size=90>` prints as typed), and split into `<font name=...>` runs by the first bundled font that has each
character. Tables and charts keep rows and figures whole (`KeepTogether`, repeated header rows).
"""
from __future__ import annotations

import functools
import html
from datetime import datetime

from bidi import get_display
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate, Paragraph, Table, TableStyle

from ..badges.fonts import clean_text, font_stack, shape, visual

INK = colors.HexColor("#111827")
MUTED = colors.HexColor("#6b7280")
LINE = colors.HexColor("#e5e7eb")
GIVE = colors.HexColor("#0f766e")
TAKE = colors.HexColor("#c2410c")
PAPER = colors.HexColor("#f8fafc")
SERIES = [GIVE, TAKE, colors.HexColor("#2563eb"), colors.HexColor("#7c3aed"), colors.HexColor("#ca8a04"),
          colors.HexColor("#db2777")]

PAGE = A4
MARGIN = 18 * mm


def rich(value, *, bold: bool = False, limit: int | None = None, ltr: bool = False) -> str:
    """User text as Paragraph markup that prints literally: escaped, shaped, reordered, one font per run.

    `ltr`: our own English sentence quoting user text (a name first): left-to-right whatever script starts it."""
    text = clean_text(value)
    if limit and len(text) > limit:
        text = text[: limit - 1].rstrip() + "\u2026"
    if not text:
        # Letters in a script no bundled font has (Devanagari, Thai...) would vanish: say so rather than print a gap.
        return plain("(not printable here)") if str(value or "").strip() else ""
    stack = font_stack(bold)
    return "".join(f'<font name="{font}">{html.escape(run, quote=False)}</font>'
                   for font, run in stack.runs(get_display(shape(text), base_dir="L") if ltr
                                               else visual(shape(text))))


def plain(value) -> str:
    """Our own words (never user text) escaped for Paragraph markup."""
    return html.escape(str(value), quote=False)


@functools.cache
def styles() -> dict[str, ParagraphStyle]:
    """The reports' paragraph styles, in the bundled fonts (registered on first use)."""
    regular, bold = font_stack(False).primary, font_stack(True).primary
    base = ParagraphStyle("body", fontName=regular, fontSize=9.5, leading=13, textColor=INK)
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10.5, textColor=MUTED),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8.5, leading=11),
        "cell_right": ParagraphStyle("cell_right", parent=base, fontSize=8.5, leading=11, alignment=TA_RIGHT),
        "head": ParagraphStyle("head", parent=base, fontName=bold, fontSize=8.5, leading=11, textColor=MUTED),
        "h1": ParagraphStyle("h1", parent=base, fontName=bold, fontSize=24, leading=29, spaceAfter=4),
        "h2": ParagraphStyle("h2", parent=base, fontName=bold, fontSize=14.5, leading=19, spaceBefore=10,
                             spaceAfter=5, textColor=GIVE),
        "h3": ParagraphStyle("h3", parent=base, fontName=bold, fontSize=11, leading=14.5, spaceBefore=6,
                             spaceAfter=2),
        "figure": ParagraphStyle("figure", parent=base, fontName=bold, fontSize=20, leading=24, textColor=INK),
        "label": ParagraphStyle("label", parent=base, fontSize=8, leading=10, textColor=MUTED),
        "empty": ParagraphStyle("empty", parent=base, textColor=MUTED, fontSize=9, leading=12),
    }


def para(markup: str, style: str = "body") -> Paragraph:
    """A paragraph of markup made with `rich`/`plain`."""
    return Paragraph(markup, styles()[style])


def table(rows: list[list], widths: list[float], *, header: bool = True, numeric: tuple[int, ...] = (),
          zebra: bool = True) -> Table:
    """A table whose header repeats on every page and whose rows never split; cells are markup strings."""
    st = styles()
    body = []
    for r, row in enumerate(rows):
        cells = []
        for c, cell in enumerate(row):
            if isinstance(cell, str):
                name = "head" if header and r == 0 else "cell_right" if c in numeric else "cell"
                cell = Paragraph(cell, st[name])
            cells.append(cell)
        body.append(cells)
    t = Table(body, colWidths=widths, repeatRows=1 if header else 0, splitByRow=True, hAlign="LEFT")
    commands = [("VALIGN", (0, 0), (-1, -1), "TOP"), ("TOPPADDING", (0, 0), (-1, -1), 2.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5), ("LEFTPADDING", (0, 0), (-1, -1), 4),
                ("RIGHTPADDING", (0, 0), (-1, -1), 4)]
    if header:
        commands += [("LINEBELOW", (0, 0), (-1, 0), 0.8, INK)]
    if zebra:
        commands += [("ROWBACKGROUNDS", (0, 1 if header else 0), (-1, -1), [colors.white, PAPER])]
    t.setStyle(TableStyle(commands))
    return t


class ReportDoc(BaseDocTemplate):
    """A4 pages with a footer: the report's title on the left, "page n of m" on the right (two passes)."""

    def __init__(self, buffer, *, title: str, footer: str, author: str = "Give & Take"):
        super().__init__(buffer, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                         bottomMargin=MARGIN + 4 * mm, title=title, author=author, creator="Give & Take",
                         invariant=True, initialFontName=font_stack(False).primary)
        self.footer = footer
        frame = Frame(self.leftMargin, self.bottomMargin, self.width, self.height, id="body", leftPadding=0,
                      rightPadding=0, topPadding=0, bottomPadding=0)
        self.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=self._footer)])

    def _footer(self, canvas, doc) -> None:
        canvas.saveState()
        regular = font_stack(False)
        canvas.setFillColor(MUTED)
        canvas.setStrokeColor(LINE)
        y = MARGIN - 2 * mm
        canvas.line(MARGIN, y + 4 * mm, PAGE[0] - MARGIN, y + 4 * mm)
        regular.draw(canvas, MARGIN, y, visual(shape(clean_text(self.footer)))[:110], 7.5)
        label = f"page {doc.page}"
        regular.draw(canvas, PAGE[0] - MARGIN - regular.width(label, 7.5), y, label, 7.5)
        canvas.restoreState()


def when(value: datetime | None, tz, fmt: str = "%d %b %Y, %H:%M") -> str:
    """A stored UTC time in the event's time zone, or a dash."""
    return value.astimezone(tz).strftime(fmt) if value is not None else "\u2014"
