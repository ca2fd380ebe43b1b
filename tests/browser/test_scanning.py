"""Badge scanning on two phones in headless Chromium, with real parts: the app's own badge PDF, rasterized by
pdftoppm, checked with zxing-cpp, played as each phone's camera by Chromium's fake capture device, read by the
vendored jsQR (Chromium on Linux has no BarcodeDetector).

Phone A scans B's badge; B hears of it live and connects back; both see a mutual contact; the screen counts it.
A typed scan made offline waits in the page's queue and arrives once. A plain-http venue address (not a secure
context) gets the camera-app hint instead of a scanner that cannot work.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from kiosk.badges.service import render_attendees
from kiosk.checkin.service import check_in
from kiosk.models import Attendee, Contact, Event
from kiosk.realtime.stats import event_stats
from kiosk.scanning.service import short_code
from tests.factories import make_attendee, make_event
from tests.realparts import need_program

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
FAKE_CAMERA = ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream")
SHOTS = Path("/tmp")


@pytest.fixture
def swap_event(live_server) -> dict:
    """Ana and Ben, checked in (each with a phone link), sharing different things when their badge is scanned."""
    with live_server.db() as s:
        event = make_event(s, name="Hands-on Summit 2026", slug="hands-on-2026", tags=["Funding", "Design"])
        ana = make_attendee(s, event, first_name="Ana", last_name="García", company="Brightloop",
                            email="ana@example.org", phone="+34 600 111 222", website="ana.example.org",
                            consent_share=["email", "website"],
                            offers=[{"text": "I review pitch decks and term sheets", "tags": ["Funding"]}],
                            needs=[{"text": "A designer for our landing page", "tags": ["Design"]}])
        ben = make_attendee(s, event, first_name="Ben", last_name="Okafor", company="Fjord Design",
                            title="Founder", email="ben@example.org", phone="+44 7700 900123",
                            website="ben.example.org", consent_share=["email", "phone", "company"],
                            offers=[{"text": "Landing page and brand design", "tags": ["Design"]}],
                            needs=[{"text": "Feedback on our seed round term sheet", "tags": ["Funding"]}])
        s.flush()
        ids = {"event_id": event.id, "slug": event.slug, "ana": ana.id, "ben": ben.id}
        ids["ana_link"] = f"/m/{check_in(s, event, ana).personal_token}"
        ids["ben_link"] = f"/m/{check_in(s, event, ben).personal_token}"
        ids["ben_typed"] = f"#{ben.id} {short_code(ben.badge_token)}"
        ids["ben_badge"] = ben.badge_token
        s.commit()
    live_server.event_id = ids["event_id"]
    return ids


def badge_video(live_server, attendee_id: int, tmp_path: Path) -> Path:
    """A fake-camera video of an attendee's printed badge: the app's PDF, rasterized, its QR checked by zxing-cpp."""
    need_program("pdftoppm")
    need_program("ffmpeg")
    import zxingcpp
    from PIL import Image

    with live_server.db() as s:
        person = s.get(Attendee, attendee_id)
        pdf, token = render_attendees([person], s.get(Event, person.event_id)), person.badge_token
    base = tmp_path / f"badge-{attendee_id}"
    base.with_suffix(".pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(base.with_suffix(".pdf")), str(base)],
                   check=True)
    png = base.with_suffix(".png")
    (SHOTS / f"scan-badge-{attendee_id}.png").write_bytes(png.read_bytes())  # what the camera saw, to look at
    assert [code.text for code in zxingcpp.read_barcodes(Image.open(png))] == [f"https://give.example.org/b/{token}"]
    y4m = base.with_suffix(".y4m")
    # The whole badge (600x450 px at 150 dpi) fills the frame: the QR is ~190 px, plenty for jsQR.
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-loop", "1", "-i", str(png), "-t", "2", "-r", "15",
                    "-vf", "scale=640:480", "-pix_fmt", "yuv420p", str(y4m)], check=True)
    return y4m


def phone(new_context, browser, live_server, link: str):
    """A phone signed in with its personal link, its feed live."""
    context = new_context(browser, device=None, viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{live_server.url}{link}")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    return page


def contact_of(page, other_id: int):
    return page.locator(f'.contact[data-other="{other_id}"]')


@pytest.fixture
def with_matcher(live_app_config):
    """The matcher runs in the server process, as on a laptop: it sends the screen's counters (stats)."""
    live_app_config["MATCHER"] = "inprocess"


def test_two_phones_swap_contacts_by_scanning_a_printed_badge(with_matcher, live_server, swap_event, new_context,
                                                              launch_chromium, tmp_path):
    ids = swap_event
    with live_server.db() as s:
        assert event_stats(s, ids["event_id"])["contacts"] == 0
    # The live screen is up before anyone scans: its "contacts swapped" counter must move by itself.
    screen = new_context(device=live_server.pair("screen", "Main hall")).new_page()
    screen.goto(f"{live_server.url}/screen/{ids['slug']}")
    expect(screen.locator("#count-contacts")).to_have_text("0")
    camera_a = launch_chromium(*FAKE_CAMERA, f"--use-file-for-fake-video-capture={badge_video(live_server, ids['ben'], tmp_path)}")
    camera_b = launch_chromium(*FAKE_CAMERA)  # Chromium's own test pattern: a camera with no code in view
    a = phone(new_context, camera_a, live_server, ids["ana_link"])
    b = phone(new_context, camera_b, live_server, ids["ben_link"])
    assert a.evaluate("window.isSecureContext")
    expect(a.locator("#scan-insecure")).to_be_hidden()

    # B opens the scanner (nothing to read in view), looks, and cancels: the camera goes off.
    b.get_by_role("button", name="Scan a badge").tap()
    expect(b.locator("#scan-box")).to_have_attribute("data-state", "scanning")
    b.wait_for_function("document.getElementById('scan-video').videoWidth > 0")
    b.screenshot(path=str(SHOTS / "scan-scanner-open.png"))
    b.get_by_role("button", name="Cancel").tap()
    expect(b.locator("#scan-box")).to_be_hidden()
    assert b.evaluate("document.getElementById('scan-video').srcObject") is None

    # A holds the camera to B's printed badge.
    a.get_by_role("button", name="Scan a badge").tap()
    expect(a.locator("#scan-feedback")).to_have_text("Connected with Ben · Fjord Design", timeout=15_000)
    expect(a.locator("#scan-box")).to_be_hidden()
    ben = contact_of(a, ids["ben"])
    expect(ben).to_have_attribute("data-state", "mine")
    expect(ben.locator(".contact-name")).to_have_text("Ben Okafor")
    links = ben.locator(".contact-shared a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
    assert links == ["mailto:ben@example.org", "tel:+447700900123"]  # what Ben shares, and nothing else
    # (the match card above shows his role, as every match does: the contact shares only what he chose)
    assert "ben.example.org" not in ben.inner_html() and "Founder" not in ben.inner_html()
    expect(ben.locator(".contact-org")).to_have_text("Fjord Design")
    a.screenshot(path=str(SHOTS / "scan-contact-list.png"), full_page=True)

    # B's phone hears of it at once: a notice and a one-tap connect back, with Ana's public card only.
    expect(b.locator("#contact-notice")).to_be_visible(timeout=5000)
    expect(b.locator("#contact-notice-text")).to_have_text("Ana scanned your badge — connect back?")
    ana = contact_of(b, ids["ana"])
    expect(ana).to_have_attribute("data-state", "theirs")
    expect(ana.get_by_role("button", name="Connect back")).to_be_visible()
    expect(ana.locator(".contact-offer")).to_contain_text("I review pitch decks and term sheets")
    assert "ana@example.org" not in b.content()
    b.screenshot(path=str(SHOTS / "scan-live-notice.png"))

    b.locator("#contact-notice-connect").tap()
    expect(ana).to_have_attribute("data-state", "mutual")
    expect(b.locator("#contact-notice")).to_be_hidden()
    links = ana.locator(".contact-shared a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
    assert links == ["mailto:ana@example.org", "https://ana.example.org"]
    expect(ana.locator(".contact-card.give")).to_contain_text("I review pitch decks and term sheets")
    # A's entry turns mutual live, with Ben's full cards.
    expect(ben).to_have_attribute("data-state", "mutual", timeout=5000)
    expect(ben.locator(".contact-card.take")).to_contain_text("Feedback on our seed round term sheet")
    expect(a.locator("#scan-feedback")).to_have_text("Ben connected back: you swapped contacts.")
    expect(b.locator("#scan-feedback")).to_be_empty()  # B tapped it: no "Ana connected back" on B's own phone
    b.screenshot(path=str(SHOTS / "scan-mutual.png"), full_page=True)

    # A keeps a private note and a follow-up flag (saved as typed), and takes Ben's vCard.
    ben.locator("textarea[name=note]").fill("Ask about the landing page quote")
    expect(ben.locator(".saved")).to_have_text("Saved", timeout=5000)
    ben.locator("label.switch").tap()
    with live_server.db() as s:
        row = s.scalar(select(Contact).where(Contact.from_id == ids["ana"], Contact.to_id == ids["ben"]))
        assert row.note == "Ask about the landing page quote"
    a.wait_for_function(f"""async () => (await (await fetch('/api/me/contacts/{ben.get_attribute("data-contact-id")}'))
                           .json()).contact.follow_up === true""")
    vcard = a.request.get(f"{live_server.url}{ben.locator('a.vcard').get_attribute('href')}")
    assert vcard.ok and "FN:Ben Okafor" in vcard.text() and "ben@example.org" in vcard.text()
    assert a.request.get(f"{live_server.url}/api/me/contacts.vcf").text().count("BEGIN:VCARD") == 1

    # The live screen, open all along, counts one contact swapped (a mutual pair once), without a reload.
    with live_server.db() as s:
        assert event_stats(s, ids["event_id"])["contacts"] == 1
    expect(screen.locator("#count-contacts")).to_have_text("1", timeout=10_000)
    screen.screenshot(path=str(SHOTS / "scan-screen-counter.png"))

    # A reload renders the same lists from the server, no duplicates.
    a.reload()
    expect(contact_of(a, ids["ben"])).to_have_count(1)
    expect(contact_of(a, ids["ben"])).to_have_attribute("data-state", "mutual")
    expect(contact_of(a, ids["ben"]).locator("textarea[name=note]")).to_have_value("Ask about the landing page quote")
    assert a.context.errors == [] and b.context.errors == []


def test_a_scan_typed_offline_waits_and_arrives_once(live_server, swap_event, new_context, chromium):
    ids = swap_event
    a = phone(new_context, chromium, live_server, ids["ana_link"])
    a.context.set_offline(True)
    a.locator("#scan-code").fill(ids["ben_typed"])
    a.get_by_role("button", name="Connect", exact=True).tap()
    expect(a.locator("#scan-waiting")).to_have_text("1 scan waiting to be sent")
    # The same scan queued twice (a first answer lost on the way back, or a second tab): one nonce, one contact.
    key = f"givetake:scans:{ids['slug']}:{ids['ana']}"
    a.evaluate("key => { const q = JSON.parse(localStorage.getItem(key)); "
               "localStorage.setItem(key, JSON.stringify([q[0], q[0]])); }", key)
    a.context.set_offline(False)
    a.evaluate("window.dispatchEvent(new Event('online'))")  # what a phone's browser fires on getting Wi-Fi back
    expect(a.locator("#scan-waiting")).to_be_hidden(timeout=10_000)
    expect(a.locator("#scan-feedback")).to_have_text("Connected with Ben · Fjord Design")
    expect(contact_of(a, ids["ben"])).to_have_count(1)
    assert a.evaluate("key => localStorage.getItem(key)", key) == "[]"
    with live_server.db() as s:
        assert len(s.scalars(select(Contact).where(Contact.from_id == ids["ana"])).all()) == 1
    # A typo is the server's last word: shown, and not kept for retrying.
    a.locator("#scan-code").fill("#9999 K7M-Q2P")
    a.get_by_role("button", name="Connect", exact=True).tap()
    expect(a.locator("#scan-feedback")).to_have_text("We do not know this badge at this event.")
    expect(a.locator("#scan-waiting")).to_be_hidden()
    # The browser logs the failed fetches (offline, then the unknown badge's 404) and, now and then, the socket
    # that going offline cut mid-frame ("Invalid frame header"); nothing else went wrong.
    noise = ("ERR_INTERNET_DISCONNECTED", "404", "WebSocket connection to")
    assert [e for e in a.context.errors if not any(n in e for n in noise)] == []


def test_a_plain_http_venue_address_offers_the_camera_app_instead(live_server, swap_event, new_context,
                                                                  launch_chromium):
    ids = swap_event
    # phone.test stands for the laptop's address on the venue Wi-Fi: plain http, not a secure context.
    browser = launch_chromium(*FAKE_CAMERA, "--host-resolver-rules=MAP phone.test 127.0.0.1")
    venue = live_server.url.replace("127.0.0.1", "phone.test")
    context = new_context(browser, device=None, viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{venue}{ids['ana_link']}")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    assert not page.evaluate("window.isSecureContext")
    expect(page.locator("#scan-insecure")).to_have_text(
        "Your browser allows the camera only on a secure (https) page: scan badges with your phone's own camera "
        "app instead; it opens their card with a Connect button.")
    expect(page.get_by_role("button", name="Scan a badge")).to_be_hidden()
    expect(page.locator("#scan-code")).to_be_visible()  # typing the code works everywhere
    page.screenshot(path=str(SHOTS / "scan-insecure.png"))
    page.locator("#scan-code").fill(ids["ben_typed"])
    page.get_by_role("button", name="Connect", exact=True).tap()
    expect(page.locator("#scan-feedback")).to_have_text("Connected with Ben · Fjord Design")
    assert context.errors == []


def test_the_camera_app_path_public_card_then_one_tap_connect(live_server, swap_event, new_context, chromium):
    """What a phone's own camera app opens from a badge QR: signed out, the public card and how to connect; signed
    in (the personal link opened before), one tap on Connect and the contact is on the phone page."""
    ids = swap_event
    stranger = new_context(chromium, device=None, viewport=PHONE, is_mobile=True, has_touch=True).new_page()
    stranger.goto(f"{live_server.url}/b/{ids['ben_badge']}")
    expect(stranger.locator("#card-name")).to_have_text("Ben")
    expect(stranger.locator(".badge-offer")).to_have_text("Landing page and brand design")
    expect(stranger.get_by_text("Open your own phone page first")).to_be_visible()
    assert "ben@example.org" not in stranger.content() and "Okafor" not in stranger.content()
    expect(stranger.get_by_role("button", name="Connect with Ben")).to_have_count(0)
    stranger.screenshot(path=str(SHOTS / "scan-public-card.png"))

    ana = phone(new_context, chromium, live_server, ids["ana_link"])
    ana.goto(f"{live_server.url}/b/{ids['ben_badge']}")
    ana.screenshot(path=str(SHOTS / "scan-public-card-signed-in.png"))
    ana.get_by_role("button", name="Connect with Ben").tap()
    expect(ana).to_have_url(f"{live_server.url}/me#contact-1")
    expect(ana.locator(".flash")).to_contain_text("You are connected with Ben")
    expect(contact_of(ana, ids["ben"])).to_have_attribute("data-state", "mine")
    # Opening the badge again says so, with what Ben shares.
    ana.goto(f"{live_server.url}/b/{ids['ben_badge']}")
    expect(ana.get_by_text("You are connected with Ben.")).to_be_visible()
    expect(ana.locator(".shared")).to_contain_text("ben@example.org")
    assert ana.context.errors == []
