"""QR symbols for badges: the matrix at level M, its mask chosen in numpy, drawn as vector rectangles."""
from __future__ import annotations

import functools

import numpy as np
import qrcode
from qrcode.constants import ERROR_CORRECT_M
from qrcode.exceptions import DataOverflowError
from reportlab.lib.colors import Color
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

#: The smallest printed QR symbol (without quiet zone) we allow; 25 mm reads at arm's length at level M.
MIN_QR_SIZE = 25 * mm
QUIET_MODULES = 4  # ISO/IEC 18004 quiet zone


class QRPayloadTooLong(ValueError):
    """No QR symbol (up to version 40 at level M) holds the payload."""


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
        raise QRPayloadTooLong(f"QR payload too long ({len(payload)} characters)") from exc
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


def draw_qr(c: Canvas, payload: str, x: float, y: float, size: float, color: Color) -> None:
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
    c.setFillColor(color)
    c.addLiteral("\n".join(ops) + "\nf")
    c.restoreState()
