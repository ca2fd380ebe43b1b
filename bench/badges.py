"""`python -m bench badges`: badge PDF render time per layout, against a plain reportlab badge.

Ours: `render_badges` with the bundled fonts (per-run fallback, bidi, Arabic shaping, shrink-to-fit) and the QR
drawn as vector rectangles. Peer: the same text on the same positions drawn the plain reportlab way, Helvetica
`drawString` with no fitting, no fallback and no shaping (so non-Latin names come out as boxes), and the QR from
reportlab's own `QrCodeWidget`. The peer is the cost of the naive badge; the ratio says what our text handling
costs or saves.
"""
from __future__ import annotations

import io
import time
from typing import Iterable

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from bench.common import percentiles, result
from kiosk.badges.layouts import LAYOUTS, Layout
from kiosk.badges.render import BadgeData, render_badges

PEER = "reportlab QrCodeWidget + Helvetica drawString"
TARGET_ONE_MS = 100.0
TARGET_1000_S = 15.0
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

SAMPLES = [
    ("Zoë", "Zoë Ångström-Müller", "Société Générale", "Rust and supply-chain security", "A co-founder", "speaker"),
    ("Ελένη", "Ελένη Παπαδοπούλου", "Αθηναϊκή Τεχνολογία", "Κυβερνοασφάλεια", "Επενδυτές", "attendee"),
    ("Дмитрий", "Дмитрий Иванов", "Яндекс", "Базы данных", "Наставник", "sponsor"),
    ("美咲", "山田 美咲", "株式会社ギブアンドテイク", "機械学習とデータ基盤", "日本市場の販売代理店", "staff"),
    ("지민", "김지민", "삼성전자", "반도체 설계", "투자자", "vip"),
    ("محمد", "محمد بن عبد الله العلي", "شركة الاتصالات", "الذكاء الاصطناعي", "شريك تقني", "press"),
    ("נועה", "נועה כהן", "טבע", "ביולוגיה חישובית", "שותף עסקי", "volunteer"),
    ("Maximiliano", "Maximiliano Alessandro Bartholomew-Wolfeschlegelsteinhausen", "Very Long Company Name Holdings",
     "An offer long enough to need wrapping onto a second line of the badge", "Investors", "attendee"),
]


def _badges(count: int, salt: str) -> list[BadgeData]:
    """`count` mixed-script badges, each with its own token (so no QR comes from a cache)."""
    out = []
    for i in range(count):
        first, full, company, offer, need, ticket = SAMPLES[i % len(SAMPLES)]
        seed = sum(map(ord, salt)) % 29
        token = "".join(ALPHABET[(i * 31 + k * 7 + seed) % len(ALPHABET)] for k in range(12)) + f"{i:08d}"
        out.append(BadgeData(first, full, company, "Engineer", "", offer, need, ticket,
                             f"https://give.example.org/b/{salt}{token}", "Open Source Summit Lisboa 2026",
                             offers=[offer, "Mentoring"], needs=[need]))
    return out


def _peer_render(badges: list[BadgeData], layout: Layout) -> bytes:
    """The plain reportlab badge: same fields and positions, Helvetica, QrCodeWidget."""
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=layout.page_size, pageCompression=1, invariant=1)
    pw, ph = layout.page_size
    bw, bh = layout.badge_size
    u = min(bw, bh)
    side = max(25 * mm, min(0.4 * u, 34 * mm))
    for start in range(0, len(badges), layout.per_page):
        for i, b in enumerate(badges[start:start + layout.per_page]):
            x, y_top = layout.positions[i]
            y0 = ph - y_top - bh
            c.setFillColorRGB(0.15, 0.39, 0.92)
            c.rect(x, y0 + bh - 0.14 * u, bw, 0.14 * u, stroke=0, fill=1)
            c.setFillColorRGB(1, 1, 1)
            c.setFont("Helvetica", 0.05 * u)
            c.drawString(x + 10, y0 + bh - 0.09 * u, b.event_name)
            c.setFillColorRGB(0, 0, 0)
            c.setFont("Helvetica-Bold", 0.2 * u)
            c.drawString(x + 10, y0 + bh - 0.38 * u, b.first_name)
            c.setFont("Helvetica", 0.06 * u)
            for k, line in enumerate((b.full_name, b.company, "Ask me about " + b.offer, "Looking for " + b.need)):
                c.drawString(x + 10, y0 + bh - (0.48 + 0.08 * k) * u, line)
            widget = QrCodeWidget(b.qr_url, barLevel="M")
            x1, y1, x2, y2 = widget.getBounds()
            drawing = Drawing(side, side, transform=[side / (x2 - x1), 0, 0, side / (y2 - y1), 0, 0])
            drawing.add(widget)
            renderPDF.draw(drawing, c, x + bw - side - 10, y0 + 10)
        c.showPage()
    c.save()
    return buf.getvalue()


def _time(fn, *args) -> tuple[float, float]:
    """(wall, CPU) seconds of one call. CPU time is reported too: on 2 cores shared with other work, wall time
    measures the neighbours as much as the code."""
    w0, c0 = time.perf_counter(), time.process_time()
    fn(*args)
    return time.perf_counter() - w0, time.process_time() - c0


def run(quick: bool = False) -> Iterable[dict]:
    runs = 10 if quick else 50
    many = 200 if quick else 1000
    # The peer's QrCodeWidget is slow (~25-90 ms a badge): in --quick the peer runs the one-badge rows only, so
    # the whole run stays under a minute on 2 shared cores; the full run measures its batches on every layout.
    peer_batch_layouts = set() if quick else set(LAYOUTS)
    render_badges(_badges(2, "warm"), "label-4x3")  # font loading (~0.4 s, once per process) is not per badge
    for name, layout in LAYOUTS.items():
        singles = _badges(runs, f"one{name}")
        ours = [_time(render_badges, [b], layout) for b in singles]
        peer = [_time(_peer_render, [b], layout) for b in singles]
        p50, p95 = percentiles([w for w, _ in ours], 50, 95)
        peer50, peer95 = percentiles([w for w, _ in peer], 50, 95)
        cpu50, cpu95 = percentiles([c for _, c in ours], 50, 95)
        (peer_cpu50,) = percentiles([c for _, c in peer], 50)
        yield result("badges", f"{name} one badge p50", p50, "ms", runs, PEER, peer50, higher_is_better=False,
                     p95_ms=round(p95, 2), peer_p95_ms=round(peer95, 2), cpu_p50_ms=round(cpu50, 2),
                     cpu_p95_ms=round(cpu95, 2), peer_cpu_p50_ms=round(peer_cpu50, 2), target_ms=TARGET_ONE_MS,
                     meets_target=p95 <= TARGET_ONE_MS)
        batch = _badges(many, f"many{name}")
        ours_s, ours_cpu = _time(render_badges, batch, layout)
        peer_s, peer_cpu = _time(_peer_render, batch, layout) if name in peer_batch_layouts else (None, None)
        yield result("badges", f"{name} {many} badges", ours_s, "s", many, PEER if peer_s else None, peer_s,
                     higher_is_better=False, cpu_s=round(ours_cpu, 2),
                     peer_cpu_s=None if peer_cpu is None else round(peer_cpu, 2),
                     per_1000_s=round(ours_s * 1000 / many, 2), target_s_per_1000=TARGET_1000_S,
                     meets_target=ours_s * 1000 / many <= TARGET_1000_S)
