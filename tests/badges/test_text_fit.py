"""Text fitting: shrink in small steps, wrap, then cut at the floor."""
from __future__ import annotations

from kiosk.badges.fonts import font_stack
from kiosk.badges.text_fit import Block, fit_block


def test_long_names_shrink_then_wrap_down_to_a_floor():
    stack = font_stack(True)
    wide = stack.width("Alexandrina-Maria", 34)  # that name fits once shrunk from 40 to 34

    def fit(text):
        block = Block(text, True, 40, 18, None, max_lines=2, wrap_below=30)
        return fit_block(block, 500, 1.0, lambda _y: wide)

    size, lines = fit("Ana")
    assert (size, lines) == (40, ["Ana"])
    size, lines = fit("Alexandrina-Maria")  # fits on one line once shrunk
    assert 33.5 <= size < 40 and len(lines) == 1 and stack.width(lines[0], size) <= wide
    size, lines = fit("Maximiliano Alessandro Bartholomew")  # shrinks to the wrap size, then wraps
    assert 18 <= size <= 30 and len(lines) == 2
    assert all(stack.width(line, size) <= wide for line in lines)
    size, lines = fit("Wolfeschlegelsteinhausenbergerdorff " * 4)  # even the floor is not enough: cut
    assert size == 18 and len(lines) == 2 and lines[-1].endswith("\u2026")
    assert all(stack.width(line, size) <= wide + 0.01 for line in lines)
