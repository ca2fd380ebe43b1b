"""static/css/fonts.css and static/fonts/web/ are what `python -m kiosk.webfonts` makes of static/fonts/: every
character each bundled face draws (in its scripts) is in exactly one slice's unicode-range, and every slice named
exists and holds those characters."""
from __future__ import annotations

import re

from kiosk import webfonts

RULE = re.compile(r'font-family: "([^"]+)";\s*font-weight: (\d+);.*?url\("\.\./fonts/web/([^"]+)"\).*?'
                  r"unicode-range: ([^;]+);", re.S)


def _points(spec: str) -> set[int]:
    points = set()
    for part in spec.split(","):
        lo, _, hi = part.strip().removeprefix("U+").partition("-")
        points.update(range(int(lo, 16), int(hi or lo, 16) + 1))
    return points


def test_the_css_covers_every_bundled_character_once_and_names_real_files():
    from fontTools.ttLib import TTFont
    rules = RULE.findall(webfonts.CSS.read_text())
    assert rules
    for face in webfonts.FACES:
        slices = [(name, _points(spec)) for family, weight, name, spec in rules
                  if family == face.family and int(weight) == face.weight]
        assert slices, f"{face.file} has no @font-face"
        union = set().union(*(points for _, points in slices))
        assert sum(len(points) for _, points in slices) == len(union), f"{face.file}: slices overlap"
        assert union == set(webfonts.covered(face)), f"{face.file}: fonts.css is stale, run python -m kiosk.webfonts"
        for name, points in slices:
            path = webfonts.OUT / name
            assert path.is_file(), name
            if name.endswith("-000.woff2") or not face.sliced:  # one per face (fontTools opens WOFF2 with brotli)
                assert points <= set(TTFont(path).getBestCmap()), f"{name} lacks characters its range claims"


def test_unicode_range_syntax():
    assert webfonts.ranges([0x41, 0x42, 0x43, 0x45, 0x4E00]) == "U+41-43, U+45, U+4E00"
    assert webfonts.ranges([]) == ""
