"""Bundled badge fonts and the text pipeline that makes any script printable with reportlab.

reportlab draws one font per string and knows nothing of right-to-left text or Arabic joining, so a line goes:
`clean_text` (drop control characters and emoji no font has) -> `shape` (Arabic joining forms) -> wrap in
logical order -> `visual` (bidi reordering) -> `FontStack.runs` (split into runs by the first font that has
each character).
"""
from __future__ import annotations

import functools
import re
import threading
import unicodedata
from dataclasses import dataclass

import arabic_reshaper
from bidi import get_display
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from ..resources import fonts_dir

FONT_DIR = fonts_dir()

# Fallback order: the first font that has a character draws it. Noto Sans first so Latin, Greek and Cyrillic
# (and spaces, digits, punctuation in every name) share one look; the CJK font late because it also maps Latin.
_REGULAR_FILES = ["NotoSans-Regular.ttf", "NotoSansArabic-Regular.ttf", "NotoSansHebrew-Regular.ttf",
                  "NanumBarunGothic.ttf", "DroidSansFallbackFull.ttf", "NotoSansSymbols2-Regular.ttf"]
_BOLD_FILES = ["NotoSans-Bold.ttf", "NotoSansArabic-Bold.ttf", "NotoSansHebrew-Bold.ttf",
               "NanumBarunGothicBold.ttf", "DroidSansFallbackFull.ttf", "NotoSansSymbols2-Regular.ttf"]

# Emoji plumbing that is meaningless once the pictograph itself is dropped: joiners, variation selectors,
# skin-tone modifiers, tag characters (flag sequences) and the keycap combiner.
_EMOJI_GLUE = re.compile("[\u200d\ufe00-\ufe0f\u20e3\U0001f3fb-\U0001f3ff\U000e0000-\U000e007f]")
# Bidi embedding/override/isolate controls: a name must not be able to reverse the text around it.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
_SPACES = re.compile(r"\s+")
_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff]")
_RTL_BIDI_CLASSES = {"R", "AL"}

# Nanum maps thousands of Hanja and symbols to empty glyphs: use it for Hangul only.
_HANGUL = ((0x1100, 0x11FF), (0x3130, 0x318F), (0xA960, 0xA97F), (0xAC00, 0xD7FF))
_ONLY = {"NanumBarunGothic.ttf": _HANGUL, "NanumBarunGothicBold.ttf": _HANGUL}

_lock = threading.Lock()


@dataclass(frozen=True)
class _Face:
    name: str          # the name registered with reportlab
    chars: frozenset   # code points the font maps to a glyph


class FontStack:
    """An ordered list of fonts that together draw a string, one run per font."""

    def __init__(self, faces: list[_Face]):
        self.faces = faces
        self.primary = faces[0].name
        self.coverage = frozenset().union(*(f.chars for f in faces))
        self._runs: dict[str, tuple[tuple[str, str], ...]] = {}  # measuring while fitting asks for the same text often

    def has(self, char: str) -> bool:
        """True if some font in the stack draws `char`."""
        return ord(char) in self.coverage

    def runs(self, text: str) -> tuple[tuple[str, str], ...]:
        """Split `text` into (font name, substring) runs; characters no font has are dropped."""
        cached = self._runs.get(text)
        if cached is None:
            if len(self._runs) > 20000:
                self._runs.clear()
            cached = self._runs[text] = self._split(text)
        return cached

    def _split(self, text: str) -> tuple[tuple[str, str], ...]:
        out: list[tuple[str, str]] = []
        current: _Face | None = None
        buf: list[str] = []
        for ch in text:
            cp = ord(ch)
            # Spaces, digits and punctuation stay in the current run when it can draw them, so a Japanese
            # name with an ASCII space does not hop fonts twice.
            if current is not None and cp in current.chars and not unicodedata.category(ch).startswith("L"):
                buf.append(ch)
                continue
            face = next((f for f in self.faces if cp in f.chars), None)
            if face is None:
                continue
            if face is not current:
                if buf:
                    out.append((current.name, "".join(buf)))
                current, buf = face, []
            buf.append(ch)
        if buf:
            out.append((current.name, "".join(buf)))
        return tuple(out)

    def width(self, text: str, size: float) -> float:
        """Width in points of `text` (already in visual or logical order: the same glyphs) at `size`."""
        return sum(pdfmetrics.stringWidth(run, font, size) for font, run in self.runs(text))

    def draw(self, canvas, x: float, y: float, text: str, size: float) -> float:
        """Draw visual-order `text` with its baseline at (x, y); return the width drawn."""
        start = x
        for font, run in self.runs(text):
            canvas.setFont(font, size)
            canvas.drawString(x, y, run)
            x += pdfmetrics.stringWidth(run, font, size)
        return x - start


@functools.cache
def _load_face(filename: str) -> _Face:
    name = "GT-" + filename.rsplit(".", 1)[0]
    font = TTFont(name, str(FONT_DIR / filename))
    pdfmetrics.registerFont(font)
    chars = font.face.charToGlyph.keys()
    if filename in _ONLY:
        chars = [cp for cp in chars if any(lo <= cp <= hi for lo, hi in _ONLY[filename])]
    return _Face(name, frozenset(chars))


@functools.cache
def font_stack(bold: bool = False) -> FontStack:
    """The regular or bold fallback stack, loaded and registered with reportlab on first use."""
    with _lock:  # loading is slow (~0.3 s for the CJK font); do it once even with concurrent first renders
        return FontStack([_load_face(f) for f in (_BOLD_FILES if bold else _REGULAR_FILES)])


def clean_text(value: object) -> str:
    """Printable single-line text: no control or bidi-override characters, no orphaned emoji glue."""
    text = unicodedata.normalize("NFC", "" if value is None else str(value))
    text = _BIDI_CONTROLS.sub("", text)
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in text)
    text = _EMOJI_GLUE.sub("", text)
    # Drop what no bundled font can draw (colour emoji, unassigned code points) rather than print a box, and
    # astral-plane symbols too: all emoji go the same way, and reportlab writes a broken ToUnicode entry for them.
    stack = font_stack()
    text = "".join(ch for ch in text if ch == " " or (
        stack.has(ch) and not (ord(ch) > 0xFFFF and unicodedata.category(ch) == "So")))
    return _SPACES.sub(" ", text).strip()


def shape(text: str) -> str:
    """Arabic letters in their joined presentation forms (logical order kept); other text unchanged."""
    if not _ARABIC.search(text):
        return text
    return arabic_reshaper.reshape(text)


def visual(line: str) -> str:
    """One logical-order line reordered for left-to-right drawing (Unicode bidi algorithm)."""
    if all(ord(ch) < 0x0590 for ch in line):
        return line  # nothing right-to-left: skip the bidi pass (the common case)
    return get_display(line)


def is_rtl(text: str) -> bool:
    """True if the first strong character of `text` is right-to-left (the paragraph's base direction)."""
    for ch in text:
        cls = unicodedata.bidirectional(ch)
        if cls in _RTL_BIDI_CLASSES:
            return True
        if cls == "L":
            return False
    return False
