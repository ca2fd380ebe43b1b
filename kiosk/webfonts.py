"""The bundled badge fonts, for browsers: WOFF2 slices with `unicode-range`, so a page downloads only what it shows.

Kiosk tablets, the projector's browser and attendees' phones often have no fonts for Chinese, Japanese, Korean,
Arabic or Hebrew, and a name in those scripts would show as empty boxes. `static/css/fonts.css` declares the
fonts of `static/fonts/` (the same files the badges embed) as web fonts after the system's own in the pages' font
stack: a browser that has the glyphs uses its own; one that does not downloads the slices that hold the characters
on the page, nothing else. Han and Hangul are cut into slices of `SLICE` characters (a name is a few kilobytes, not
4 MB); Arabic and Hebrew stay whole, their shaping (joining forms, ligatures) needs the whole font's tables.

This is a maintainer's tool, not something an organizer runs: the output is committed. Regenerate after changing
a font in static/fonts/ (needs the `fonts` extra: fontTools and brotli):

    python -m kiosk.webfonts
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FONTS = ROOT / "static" / "fonts"
OUT = FONTS / "web"
CSS = ROOT / "static" / "css" / "fonts.css"
#: Characters per slice of a sliced face: about 20-60 KB of WOFF2 for Han, less for Hangul.
SLICE = 200


@dataclass(frozen=True)
class Face:
    family: str
    file: str
    weight: int
    blocks: tuple[tuple[int, int], ...]
    sliced: bool


ARABIC = ((0x0600, 0x06FF), (0x0750, 0x077F), (0x0870, 0x08FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF))
HEBREW = ((0x0590, 0x05FF), (0xFB1D, 0xFB4F))
HANGUL = ((0x1100, 0x11FF), (0x3130, 0x318F), (0xA960, 0xA97F), (0xAC00, 0xD7AF), (0xD7B0, 0xD7FF))
CJK = ((0x2E80, 0x2FDF), (0x3000, 0x303F), (0x3040, 0x30FF), (0x31F0, 0x31FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF),
       (0xF900, 0xFAFF), (0xFF00, 0xFFEF), (0x20000, 0x3134F))
SYMBOLS = ((0x2190, 0x21FF), (0x2300, 0x23FF), (0x2460, 0x24FF), (0x25A0, 0x27BF), (0x2900, 0x2BFF),
           (0x1F000, 0x1FBFF))

FACES = (
    Face("GT Arabic", "NotoSansArabic-Regular.ttf", 400, ARABIC, False),
    Face("GT Arabic", "NotoSansArabic-Bold.ttf", 700, ARABIC, False),
    Face("GT Hebrew", "NotoSansHebrew-Regular.ttf", 400, HEBREW, False),
    Face("GT Hebrew", "NotoSansHebrew-Bold.ttf", 700, HEBREW, False),
    Face("GT Hangul", "NanumBarunGothic.ttf", 400, HANGUL, True),
    Face("GT Hangul", "NanumBarunGothicBold.ttf", 700, HANGUL, True),
    Face("GT CJK", "DroidSansFallbackFull.ttf", 400, CJK, True),  # one weight: browsers embolden it
    Face("GT Symbols", "NotoSansSymbols2-Regular.ttf", 400, SYMBOLS, False),
)
#: The families in the pages' font stack, after the system fonts (static/css/app.css, --font).
FAMILIES = tuple(dict.fromkeys(face.family for face in FACES))


def covered(face: Face) -> list[int]:
    """The code points of `face` its font draws (a non-empty glyph in its cmap) within its blocks."""
    from fontTools.ttLib import TTFont
    font = TTFont(FONTS / face.file, lazy=True)
    cmap = font.getBestCmap()
    return sorted(cp for cp in cmap if any(lo <= cp <= hi for lo, hi in face.blocks))


def ranges(codepoints: list[int]) -> str:
    """`unicode-range` syntax for sorted code points: U+4E00-4E2F, U+4E31, ..."""
    parts, start, prev = [], None, None
    for cp in codepoints + [None]:
        if start is not None and (cp is None or cp != prev + 1):
            parts.append(f"U+{start:X}" if start == prev else f"U+{start:X}-{prev:X}")
            start = None
        if cp is not None and start is None:
            start = cp
        prev = cp
    return ", ".join(parts)


def build(slice_size: int = SLICE, progress=None) -> list[dict]:
    """Write static/fonts/web/*.woff2 and static/css/fonts.css; returns one row per file written."""
    from fontTools import subset
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("*.woff2"):
        old.unlink()
    written, rules = [], []
    for face in FACES:
        points = covered(face)
        chunks = [points[i:i + slice_size] for i in range(0, len(points), slice_size)] if face.sliced else [points]
        stem = face.family.lower().replace(" ", "-")
        for n, chunk in enumerate(chunks):
            options = subset.Options()
            options.flavor = "woff2"
            options.layout_features = ["*"]  # Arabic joining forms and ligatures, vertical forms
            options.hinting = False  # screens at these sizes do not need it; a third smaller
            options.name_IDs = ["*"]
            options.notdef_outline = True
            font = subset.load_font(str(FONTS / face.file), options)
            subsetter = subset.Subsetter(options)
            subsetter.populate(unicodes=chunk)
            subsetter.subset(font)
            name = f"{stem}-{face.weight}" + (f"-{n:03d}" if face.sliced else "") + ".woff2"
            subset.save_font(font, str(OUT / name), options)
            written.append({"file": name, "family": face.family, "weight": face.weight, "chars": len(chunk),
                            "bytes": (OUT / name).stat().st_size})
            rules.append("@font-face {\n"
                         f'  font-family: "{face.family}";\n'
                         f"  font-weight: {face.weight};\n"
                         "  font-style: normal;\n"
                         "  font-display: swap;\n"
                         f'  src: url("../fonts/web/{name}") format("woff2");\n'
                         f"  unicode-range: {ranges(chunk)};\n"
                         "}\n")
            if progress:
                progress(name)
    CSS.write_text("/* Generated by `python -m kiosk.webfonts` from static/fonts/ (licences there): the badge fonts\n"
                   "   for browsers without these scripts, each slice fetched only for the characters a page shows.\n"
                   "   Do not edit by hand. */\n" + "\n".join(rules))
    return written


def main() -> None:
    from tqdm import tqdm
    total = sum(-(-len(covered(f)) // SLICE) if f.sliced else 1 for f in FACES)
    with tqdm(total=total, unit="file", desc="web fonts") as bar:
        rows = build(progress=lambda name: bar.update(1))
    size = sum(r["bytes"] for r in rows)
    print(f"{len(rows)} files, {size / 1e6:.1f} MB in {OUT.relative_to(ROOT)}; {CSS.relative_to(ROOT)} written")


if __name__ == "__main__":
    main()
