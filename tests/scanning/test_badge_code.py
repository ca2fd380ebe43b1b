"""The number and code printed under every badge's QR: on each layout, readable by pdftotext, and typed back it
finds the badge's owner (the manual fallback when a camera cannot read the QR)."""
from __future__ import annotations

import re
import subprocess
import unicodedata

import pytest

from kiosk.attendees.service import rotate_badge_token
from kiosk.badges.layouts import LAYOUTS
from kiosk.badges.service import render_attendees
from kiosk.db import db
from kiosk.scanning.service import resolve_badge
from tests.factories import make_attendee, make_event
from tests.realparts import need_program


def _pdf_text(pdf: bytes, tmp_path) -> str:
    need_program("pdftotext")
    src = tmp_path / "badge.pdf"
    src.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(src), "-"], capture_output=True, check=True).stdout
    return unicodedata.normalize("NFKC", out.decode())


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_every_layout_prints_the_code_and_typing_it_finds_the_owner(app, tmp_path, layout):
    with app.app_context():
        s = db.session
        event = make_event(s, badge_layout=layout) if "badge_layout" in make_event.__code__.co_varnames else \
            make_event(s)
        people = [make_attendee(s, event, first_name=name, company="Acme") for name in ("Ana", "李小龙", "ليلى")]
        s.commit()
        text = _pdf_text(render_attendees(people, event, layout), tmp_path)
        printed = re.findall(r"#(\d+) · ([A-Z2-9]{3}-[A-Z2-9]{3})", text)
        assert sorted(int(n) for n, _ in printed) == sorted(p.id for p in people), text
        for number, code in printed:
            found = resolve_badge(s, f"#{number} {code}")
            assert found.state == "ok" and found.attendee.id == int(number)


def test_a_reprinted_badges_old_code_says_replaced(app):
    with app.app_context():
        s = db.session
        ana = make_attendee(s, make_event(s), first_name="Ana")
        s.flush()
        old = f"#{ana.id} {ana.badge_token[:3]}-{ana.badge_token[3:6]}"
        rotate_badge_token(s, ana)
        assert resolve_badge(s, old).state == "replaced"
        assert resolve_badge(s, f"#{ana.id} {ana.badge_token[:6]}").state == "ok"
        assert resolve_badge(s, f"#{ana.id + 1000} {ana.badge_token[:6]}").state == "unknown"
        assert resolve_badge(s, f"#{ana.id} ABC").state == "garbled"
