"""Names in every script render on a browser with no fonts for them: the pages serve the bundled badge fonts as
WOFF2 slices with unicode-range (static/css/fonts.css), and a page fetches only the slices its text needs.

The check is what Chromium itself reports drew the text (DevTools' CSS.getPlatformFontsForNode): the web font,
with one glyph per character, not the last-resort font's empty boxes. The machine these run on (and CI's) has no
Chinese, Japanese or Korean system font, which is the point.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.factories import make_attendee

pytestmark = pytest.mark.browser

NAMES = {  # what the kiosk search shows (first name, last initial) and who drew it
    "李": ("伟 李.", "GT CJK"),
    "山田": ("花子 山.", "GT CJK"),
    "김": ("지민 김.", "GT Hangul"),
    "حداد": ("ليلى ح.", "GT Arabic"),
}


def _fonts_drawing(page, cdp, selector: str) -> list[dict]:
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    return cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]


def test_cjk_hangul_and_arabic_names_are_drawn_by_the_bundled_fonts(live_server, kiosk_event, new_context, shot):
    with live_server.db() as s:
        from kiosk.models import Event
        event = s.get(Event, kiosk_event["event_id"])
        make_attendee(s, event, first_name="伟", last_name="李", company="Huawei")
        make_attendee(s, event, first_name="花子", last_name="山田", company="ソニー")
        make_attendee(s, event, first_name="지민", last_name="김", company="Naver")
        make_attendee(s, event, first_name="ليلى", last_name="حداد", company="Aramex")
        s.commit()
    context = new_context()
    page = context.new_page()
    fetched: list[str] = []
    page.on("request", lambda r: "/static/fonts/web/" in r.url and fetched.append(r.url.rsplit("/", 1)[1]))
    page.goto(f"{live_server.url}/kiosk/")
    page.wait_for_selector("form.search")
    assert fetched == [], "a page with only Latin text fetched web fonts"
    cdp = context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    for query, (shown, family) in NAMES.items():
        fetched.clear()
        page.fill("#q", query)
        name = page.locator("#results .choice-name").first
        expect(name).to_have_text(shown)  # (the search is debounced: the previous query's result shows first)
        page.evaluate("document.fonts.ready")
        page.wait_for_function("() => [...document.fonts].every(f => f.status !== 'loading')")
        drawn = _fonts_drawing(page, cdp, "#results .choice-name")
        # The system's fonts drew the space and the full stop, no more: every letter of the script came from the
        # bundled font (Arabic's joined letters may be fewer glyphs than characters, so count the others).
        system = sum(f["glyphCount"] for f in drawn if not f["isCustomFont"])
        assert any(f["isCustomFont"] and f["familyName"] for f in drawn), (query, drawn, fetched)
        assert system <= sum(1 for ch in shown if ord(ch) < 0x590), (query, drawn)
        assert all(name.startswith(family.lower().replace(" ", "-")) for name in fetched), (query, fetched)
        on_page = {ch for ch in query + page.locator("#results").inner_text() if ord(ch) > 0x5FF}
        # At most a slice per new character and weight on the page (the typed text is regular, names are bold; a
        # whole font would be 30-100 slices, 4 MB for Han).
        assert 1 <= len(fetched) <= 2 * len(on_page), f"{query}: fetched {fetched} for {sorted(on_page)}"
        shot(page, f"fonts-{family.split()[1].lower()}", full_page=False)
    assert not context.errors
