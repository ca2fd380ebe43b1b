"""Badge layouts (one preset per stock, kept as data in layouts.json) and the organizer's badge style."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from reportlab.lib.units import inch, mm

PRESETS_FILE = Path(__file__).with_name("layouts.json")

#: Fields the organizer can switch on or off; the first name, full name and colour band always show.
OPTIONAL_FIELDS = frozenset({"company", "title", "pronouns", "offer", "need", "qr", "event"})

_LENGTH = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(mm|in|pt)\s*$")
_UNITS = {"mm": mm, "in": inch, "pt": 1.0}
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


class LayoutError(ValueError):
    """An unknown layout name, or a preset or style that cannot be drawn."""


Point = tuple[float, float]


@dataclass(frozen=True)
class Layout:
    """Where badges go on a page. Lengths in points; positions are badges' top-left corners from the page's."""

    name: str
    title: str
    page_size: Point
    badge_size: Point
    positions: tuple[Point, ...]
    #: Where each badge's back goes on the same page (fold-over layouts); empty for single-sided stock.
    back_positions: tuple[Point, ...] = ()
    #: Fold guides (x1, y1, x2, y2 from the top-left), drawn dashed.
    fold_lines: tuple[tuple[float, float, float, float], ...] = ()
    #: The CUPS `media` option that makes a driver pick (or a label printer size) the right stock.
    media: str | None = None

    @property
    def per_page(self) -> int:
        """Badges on one page."""
        return len(self.positions)

    @property
    def double_sided(self) -> bool:
        """True if each badge also has a back (the attendee's cards)."""
        return bool(self.back_positions)

    @property
    def is_sheet(self) -> bool:
        """True if a page holds more than the badge (so crop marks or fold lines make sense)."""
        return self.page_size != self.badge_size

    def __post_init__(self):
        if not self.positions:
            raise LayoutError(f"layout {self.name!r} has no badge positions")
        if self.back_positions and len(self.back_positions) != len(self.positions):
            raise LayoutError(f"layout {self.name!r}: every badge position needs a back position")
        pw, ph = self.page_size
        bw, bh = self.badge_size
        for x, y in self.positions + self.back_positions:
            if x < -0.01 or y < -0.01 or x + bw > pw + 0.01 or y + bh > ph + 0.01:
                raise LayoutError(f"layout {self.name!r}: a badge at ({x:.1f}, {y:.1f}) pt falls off the page")


def _length(value: str | float) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    m = _LENGTH.match(value)
    if not m:
        raise LayoutError(f"not a length: {value!r} (use e.g. '4in', '85.6mm' or '12pt')")
    return float(m.group(1)) * _UNITS[m.group(2)]


def _pair(value) -> Point:
    return (_length(value[0]), _length(value[1]))


def layout_from_dict(name: str, data: dict) -> Layout:
    """A Layout from its JSON form (lengths as '4in', '85.6mm' or '12pt' strings)."""
    try:
        return Layout(
            name=name,
            title=data.get("title", name),
            page_size=_pair(data["page"]),
            badge_size=_pair(data["badge"]),
            positions=tuple(_pair(p) for p in data["positions"]),
            back_positions=tuple(_pair(p) for p in data.get("back_positions", ())),
            fold_lines=tuple(tuple(_length(v) for v in line) for line in data.get("fold_lines", ())),
            media=data.get("media"),
        )
    except (KeyError, TypeError, IndexError) as exc:
        raise LayoutError(f"layout {name!r} is incomplete: {exc!r}") from exc


def _load_presets() -> dict[str, Layout]:
    with PRESETS_FILE.open(encoding="utf-8") as fh:
        return {name: layout_from_dict(name, data) for name, data in json.load(fh).items()}


#: The presets, by name: label-4x3, letter-6up, a4-4up-a6, cr80, a6-fold.
LAYOUTS: dict[str, Layout] = _load_presets()


def get_layout(layout: str | Layout) -> Layout:
    """The Layout itself, or the preset of that name."""
    if isinstance(layout, Layout):
        return layout
    try:
        return LAYOUTS[layout]
    except KeyError:
        raise LayoutError(f"unknown badge layout {layout!r}; presets: {', '.join(LAYOUTS)}") from None


DEFAULT_BAND_COLORS = {
    "attendee": "#2563eb",
    "speaker": "#c2410c",
    "sponsor": "#a16207",
    "exhibitor": "#7c3aed",
    "staff": "#047857",
    "volunteer": "#0e7490",
    "press": "#be123c",
    "vip": "#111827",
}


@dataclass(frozen=True)
class BadgeStyle:
    """What the organizer can adjust per event: band colours by ticket type, accent, logo, shown fields."""

    #: Ticket type (case-insensitive) -> band colour, '#rrggbb'.
    band_colors: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_BAND_COLORS))
    #: Band colour for ticket types not in band_colors (and for no ticket type).
    default_band: str = "#334155"
    #: Colour of the "Ask me about" / "Looking for" labels.
    accent: str = "#2563eb"
    #: PNG or JPEG drawn in the band before the event name.
    logo_path: str | None = None
    show: frozenset[str] = OPTIONAL_FIELDS

    def __post_init__(self):
        colors = [self.default_band, self.accent, *self.band_colors.values()]
        bad = [c for c in colors if not isinstance(c, str) or not _HEX.match(c)]
        if bad:
            raise LayoutError(f"colours must be '#rrggbb': {bad}")
        unknown = set(self.show) - OPTIONAL_FIELDS
        if unknown:
            raise LayoutError(f"unknown badge fields {sorted(unknown)}; known: {sorted(OPTIONAL_FIELDS)}")
        object.__setattr__(self, "show", frozenset(self.show))

    def band_for(self, ticket_type: str) -> str:
        """The band colour for a ticket type."""
        wanted = (ticket_type or "").strip().casefold()
        for name, color in self.band_colors.items():
            if name.casefold() == wanted:
                return color
        return self.default_band
