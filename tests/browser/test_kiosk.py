"""The kiosk in headless Chromium on a tablet viewport: the flows an attendee taps through, end to end."""
from __future__ import annotations

import re
import subprocess
import time

import pytest
import qrcode
import zxingcpp
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from kiosk.models import Attendee, CardKind
from kiosk.tokens import hash_token
from tests.browser.conftest import ARTIFACTS, PORTRAIT
from tests.realparts import need_program

pytestmark = pytest.mark.browser

PUBLIC_URL = "https://give.example.org"  # GIVETAKE_PUBLIC_URL set by tests.conftest.build_app


class TabletUser:
    """Drives a kiosk page as a person would, counting taps (typing is counted apart, in characters)."""

    def __init__(self, page):
        self.page = page
        self.taps = 0
        self.field_taps = 0
        self.typed = 0

    def tap(self, locator):
        self.taps += 1
        locator.tap()

    def type_into(self, locator, text: str):
        """Tap a field and type into it (a tap, then the on-screen keyboard)."""
        self.tap(locator)
        self.field_taps += 1
        self.page.keyboard.type(text)
        self.typed += len(text)


def _start(page, live_server):
    page.goto(f"{live_server.url}/kiosk/")
    page.wait_for_selector("form.search")


def _decode_qr(path) -> str:
    found = zxingcpp.read_barcodes(Image.open(path))
    assert found, f"no QR code decoded in {path}"
    return found[0].text


def test_pre_registered_attendee_taps_through_to_the_personal_qr(live_server, kiosk_event, new_context, shot):
    live_server.app.config["KIOSK_DONE_SECONDS"] = 4  # time enough to read the QR on a busy machine
    page = new_context().new_page()
    _start(page, live_server)
    shot(page, "01-start")
    person = TabletUser(page)
    shots = []  # time spent on screenshots, left out of the flow's time

    def keep(name):
        t0 = time.monotonic()
        shot(page, name)
        shots.append(time.monotonic() - t0)

    began = time.monotonic()

    person.type_into(page.locator("#q"), "jon")
    choice = page.locator("#results .choice-button", has_text="Jonas B.")
    choice.wait_for()
    assert "Northwind Labs" in choice.inner_text() and "@" not in page.locator("#results").inner_text()
    keep("02-results")
    person.tap(choice)

    page.wait_for_url("**/kiosk/details")
    preview = page.locator(".badge-preview")
    assert preview.locator(".badge-first").inner_text() == "Jonas"
    assert "CTO · Northwind Labs" in preview.inner_text()
    keep("03-details")
    person.tap(page.get_by_role("button", name="Looks good, continue"))

    page.wait_for_url("**/kiosk/offer")
    person.type_into(page.get_by_label("What you can offer", exact=True), "Code reviews for Rust and Python services")
    first_item = page.locator(".card-item").first  # each item has its own topic chips
    person.tap(first_item.locator(".tag-chip", has_text="Software"))
    assert page.locator("input[name=offer-0-tags][value=Software]").is_checked()
    assert not page.locator("input[name=offer-1-tags][value=Software]").is_checked()
    keep("04-offer")
    person.tap(page.get_by_role("button", name="Continue"))

    page.wait_for_url("**/kiosk/need")
    person.type_into(page.get_by_label("What you're looking for", exact=True), "A designer for our onboarding flow")
    keep("05-need")
    person.tap(page.get_by_role("button", name="Continue"))

    page.wait_for_url("**/kiosk/consent")
    person.tap(page.get_by_label(re.compile("Show my first name")))
    keep("06-consent")
    person.tap(page.get_by_role("button", name="Check in and print my badge"))

    page.get_by_role("heading", name="You're in, Jonas!").wait_for()
    elapsed = time.monotonic() - began - sum(shots)
    qr = page.locator(".personal-qr svg")
    qr.screenshot(path=str(ARTIFACTS / "07-done-qr.png"))
    shot(page, "07-done")
    url = _decode_qr(ARTIFACTS / "07-done-qr.png")
    assert re.fullmatch(re.escape(PUBLIC_URL) + r"/m/[A-Za-z0-9]{16,}", url), url
    with live_server.db() as s:
        jonas = s.get(Attendee, kiosk_event["jonas"])
        assert jonas.checked_in_at is not None and jonas.consent_screen
        assert jonas.personal_token_hash == hash_token(url.rsplit("/", 1)[1])
        assert [(c.text, c.tags) for c in jonas.cards_of(CardKind.offer)] == [
            ("Code reviews for Rust and Python services", ["Software"])]
        assert [c.text for c in jonas.cards_of(CardKind.need)] == ["A designer for our onboarding flow"]

    # The done screen returns to the start by itself, ready for the next person, with nothing of Jonas left.
    page.wait_for_url(re.compile(r"/kiosk/$"), timeout=12_000)
    assert page.locator("#q").input_value() == "" and "Jonas" not in page.content()
    print(f"\nkiosk flow: {person.taps} taps ({person.field_taps} of them into text fields, 1 an optional consent), "
          f"{person.typed} characters typed, {elapsed:.2f} s from the first tap to the QR (screenshots excluded)")
    assert person.taps - person.field_taps <= 7
    assert not page.context.errors


def test_walk_in_with_an_arabic_name_and_markup_in_the_company(live_server, kiosk_event, new_context, shot):
    page = new_context(viewport=PORTRAIT).new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    _start(page, live_server)
    page.get_by_role("link", name="I'm not registered").tap()
    page.wait_for_url("**/kiosk/walk-in")
    company = "<b>Acme</b> & <img src=x onerror=alert(1)>"
    page.get_by_label("First name").fill("ليلى")
    page.get_by_label("Last name").fill("حداد")
    page.get_by_label(re.compile("^Company")).fill(company)
    shot(page, "10-walkin")
    page.get_by_role("button", name="Continue").tap()
    page.wait_for_url("**/kiosk/details")  # the badge preview, escaped
    assert page.locator(".badge-preview img, .badge-preview b").count() == 0
    page.get_by_role("button", name="Looks good, continue").tap()
    page.wait_for_url("**/kiosk/offer")
    page.get_by_label("What you can offer", exact=True).fill("ترجمة عربية وإنجليزية")
    page.get_by_role("button", name="Continue").tap()
    page.wait_for_url("**/kiosk/need")
    page.get_by_role("button", name="Continue").tap()
    page.wait_for_url("**/kiosk/consent")
    page.get_by_role("button", name="Check in and print my badge").tap()
    heading = page.get_by_role("heading", name=re.compile("You're in"))
    assert "ليلى" in heading.inner_text()
    shot(page, "11-walkin-done")

    # She is now findable by her Arabic name, and the company is shown as the text she typed, not as markup.
    _start(page, live_server)
    page.locator("#q").fill("ليل")
    choice = page.locator("#results .choice-button", has_text="ليلى")
    choice.wait_for()
    assert choice.locator(".choice-company").inner_text() == company
    assert choice.locator(".choice-here").is_visible()
    assert page.locator("#results img, #results b").count() == 0
    shot(page, "12-walkin-found")
    page.goto(f"{live_server.url}/kiosk/?q=%D9%84%D9%8A%D9%84")  # the no-script path renders the same results
    assert page.locator("#results .choice-company").inner_text() == company
    assert page.locator("#results img, #results b").count() == 0
    assert dialogs == [] and not page.context.errors
    with live_server.db() as s:
        leila = s.scalar(select(Attendee).where(Attendee.first_name == "ليلى"))
        assert leila.company == company and leila.source == "walkin" and leila.checked_in_at is not None


def _ticket_video(tmp_path, text: str):
    need_program("ffmpeg")
    png, y4m = tmp_path / "ticket.png", tmp_path / "ticket.y4m"
    qrcode.make(text, border=4, box_size=12).save(png)
    # A white frame around the code, as a ticket held up to the camera; two seconds loop for as long as needed.
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-loop", "1", "-i", str(png), "-t", "2", "-r", "15",
                    "-vf", "scale=360:360,pad=640:480:140:60:white", "-pix_fmt", "yuv420p", str(y4m)], check=True)
    return y4m


def test_a_ticket_qr_held_to_the_camera_opens_that_attendees_badge(live_server, kiosk_event, new_context,
                                                                    launch_chromium, tmp_path, shot):
    video = _ticket_video(tmp_path, "T-100")
    # kiosk.venue stands for the laptop's address on the venue network: plain http, not a secure context.
    browser = launch_chromium("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                              f"--use-file-for-fake-video-capture={video}",
                              "--host-resolver-rules=MAP kiosk.venue 127.0.0.1")
    page = new_context(browser).new_page()
    _start(page, live_server)
    assert page.evaluate("window.isSecureContext")
    scan = page.get_by_role("button", name="Scan my ticket")
    assert scan.is_visible()  # shown only where a camera can work (secure context with getUserMedia)
    scan.tap()
    page.wait_for_url("**/kiosk/confirm", timeout=15_000)  # her cards are filled: only a check
    assert page.get_by_role("heading").first.inner_text() == "Hi Ana! Is all of this right?"
    assert page.locator(".badge-band").inner_text().lower() == "speaker"
    shot(page, "20-ticket-scanned")
    assert not page.context.errors

    # A USB scanner types the ticket reference and Enter into the name field.
    _start(page, live_server)
    page.locator("#q").fill("T-101")
    page.locator("#q").press("Enter")
    page.wait_for_url("**/kiosk/details")
    assert page.get_by_role("heading").first.inner_text() == "Hi Ben! Is your badge right?"
    # An unknown code gives a clear message on the start page.
    _start(page, live_server)
    page.locator("#q").fill("EB-4711-0815-001")
    page.locator("#q").press("Enter")
    expect(page.get_by_role("alert")).to_have_text("We could not find that ticket. Type your name instead, "
                                                   "or ask at the desk.")
    assert page.locator("form.search").is_visible()
    shot(page, "21-ticket-unknown")

    # On a plain-http venue address the browser gives no camera: no scan button, and name search still works.
    venue = live_server.url.replace("127.0.0.1", "kiosk.venue")
    lan = new_context(browser, device=None)
    lan.add_cookies([{**live_server.device_cookie(live_server.pair("kiosk", "LAN")), "url": venue}])
    page = lan.new_page()
    page.goto(f"{venue}/kiosk/")
    assert not page.evaluate("window.isSecureContext")
    page.locator("#q").fill("ana")
    page.locator("#results .choice-button", has_text="Ana G.").wait_for()
    assert page.get_by_role("button", name="Scan my ticket").is_hidden()


def _to_consent(page, live_server, name: str):
    _start(page, live_server)
    page.locator("#q").fill(name)
    page.locator("#results .choice-button").first.tap()
    page.wait_for_url("**/kiosk/details")
    page.get_by_role("button", name="Looks good, continue").tap()
    page.wait_for_url("**/kiosk/offer")
    page.get_by_role("button", name="Continue").tap()
    page.wait_for_url("**/kiosk/need")
    page.get_by_role("button", name="Continue").tap()
    page.wait_for_url("**/kiosk/consent")


def test_two_kiosks_checking_in_the_same_person_give_one_check_in(live_server, kiosk_event, new_context, shot):
    left, right = new_context().new_page(), new_context().new_page()
    _to_consent(left, live_server, "Ben")
    _to_consent(right, live_server, "Ben")
    responses = []
    for page in (left, right):
        page.on("response", lambda r: r.request.is_navigation_request() and responses.append(r.status))
    # Both press "Check in" without waiting for the other: the requests overlap on the server.
    for page in (left, right):
        page.evaluate("document.querySelector('form[data-once]').requestSubmit()")
    for page in (left, right):
        expect(page.locator("h1")).to_have_text(re.compile("You're in|already checked in"))
    titles = sorted(p.locator("h1").inner_text() for p in (left, right))
    assert titles == ["Ben, you're already checked in", "You're in, Ben!"], titles
    loser = left if "already" in left.locator("h1").inner_text() else right
    assert "Another kiosk checked you in a moment ago." in loser.content()
    shot(loser, "30-already-raced")
    assert all(status < 400 for status in responses), responses
    with live_server.db() as s:
        ben = s.get(Attendee, kiosk_event["ben"])
        assert ben.checked_in_at is not None and ben.personal_token_hash is not None


def test_an_idle_kiosk_forgets_the_person_and_clears_the_search(live_server, kiosk_event, new_context):
    live_server.app.config["KIOSK_IDLE_SECONDS"] = 2
    page = new_context().new_page()
    _start(page, live_server)
    page.locator("#q").fill("ana")
    page.locator("#results .choice-button", has_text="Ana G.").tap()
    page.wait_for_url("**/kiosk/confirm")
    page.get_by_role("link", name="Edit my badge").tap()
    page.wait_for_url("**/kiosk/details")
    page.get_by_label("Company").fill("Brightloop GmbH")  # the badge preview follows the correction
    expect(page.locator(".badge-preview .badge-company")).to_have_text("Brightloop GmbH")
    started = time.monotonic()
    page.wait_for_url(re.compile(r"/kiosk/$"), timeout=8_000)
    assert time.monotonic() - started >= 1.5  # not before the idle time
    assert "Ana" not in page.locator("main").inner_text()
    page.goto(f"{live_server.url}/kiosk/details")  # the server forgot too: no way back to Ana's details
    assert re.search(r"/kiosk/\?expired=1$", page.url) and "Brightloop" not in page.content()

    # On the start page a name typed and left there is cleared as well.
    _start(page, live_server)
    page.locator("#q").fill("ana")
    page.locator("#results .choice-button").first.wait_for()
    expect(page.locator("#q")).to_have_value("", timeout=8_000)
    expect(page.locator("#results > *")).to_have_count(0)
    assert "Ana" not in page.locator("main").inner_text()


GERMAN_STEPS = {
    "start": ["Willkommen!", "Gib die ersten Buchstaben deines Namens ein", "Ich bin nicht angemeldet"],
    "details": ["Hallo Jonas! Stimmt dein Namensschild?", "Passt, weiter", "Neu beginnen"],
    "offer": ["Ich biete", "Was du anbieten kannst", "Weiter"],
    "need": ["Ich suche", "Was du suchst", "Weiter"],
    "consent": ["Deine Daten, deine Wahl", "Einchecken und Namensschild drucken"],
    "done": ["Du bist drin, Jonas!", "Fertig"],
    "confirm": ["Hallo Ana! Stimmt alles?", "Dein Namensschild", "Ändern", "Ich biete", "Ich suche", "Einchecken"],
}


def test_german_from_the_language_switch_on_every_step(live_server, kiosk_event, new_context, shot):
    page = new_context(viewport=PORTRAIT).new_page()  # and every step in portrait
    _start(page, live_server)
    page.get_by_role("link", name="Deutsch").tap()
    page.get_by_role("heading", name=re.compile("Willkommen!")).wait_for()

    def german(step):
        assert page.locator("html").get_attribute("lang") == "de"
        text = page.locator("body").inner_text()
        for phrase in GERMAN_STEPS[step]:
            assert phrase in text, f"{step}: {phrase!r} missing"
        shot(page, f"40-de-{step}")

    german("start")
    page.locator("#q").fill("jon")  # no cards yet: every step
    page.locator("#results .choice-button", has_text="Jonas B.").tap()
    page.wait_for_url("**/kiosk/details")
    german("details")
    page.get_by_role("button", name="Passt, weiter").tap()
    page.wait_for_url("**/kiosk/offer")
    german("offer")
    page.get_by_role("button", name="Weiter").tap()
    page.wait_for_url("**/kiosk/need")
    german("need")
    page.get_by_role("button", name="Weiter").tap()
    page.wait_for_url("**/kiosk/consent")
    german("consent")
    page.get_by_role("button", name="Einchecken und Namensschild drucken").tap()
    page.get_by_role("heading", name="Du bist drin, Jonas!").wait_for()
    german("done")
    # Ana filled her cards before: the confirm screen, in German too.
    _start(page, live_server)
    page.locator("#q").fill("gar")
    page.locator("#results .choice-button", has_text="Ana G.").tap()
    page.wait_for_url("**/kiosk/confirm")
    german("confirm")


def test_cards_filled_before_the_event_check_in_in_three_taps(live_server, kiosk_event, new_context, shot):
    """Find yourself, confirm, done: what was filled at home is only checked, and nothing is pre-ticked."""
    live_server.app.config["KIOSK_DONE_SECONDS"] = 30
    with live_server.db() as s:  # an organizer ticked the screen for her in admin: not her choice, not shown
        ana = s.get(Attendee, kiosk_event["ana"])
        ana.consent_screen = True
        s.commit()
    page = new_context().new_page()
    _start(page, live_server)
    person = TabletUser(page)
    person.type_into(page.locator("#q"), "ana")
    person.tap(page.locator("#results .choice-button", has_text="Ana G."))

    page.wait_for_url("**/kiosk/confirm")
    assert page.locator(".badge-preview .badge-first").inner_text() == "Ana"
    assert "Brightloop" in page.locator(".badge-preview").inner_text()
    offer, need = page.locator("#confirm-offer"), page.locator("#confirm-need")
    assert "I review pitch decks and term sheets" in offer.inner_text() and "Funding" in offer.inner_text()
    assert "A designer for our landing page" in need.inner_text()
    assert offer.bounding_box()["y"] < need.bounding_box()["y"]  # "I can offer" first
    assert page.locator("input[type=checkbox]:checked").count() == 0
    for name in ("Edit my badge", "Edit what I offer", "Edit what I'm looking for"):
        assert page.get_by_role("link", name=name).is_visible()
    shot(page, "30-confirm")
    person.tap(page.get_by_role("button", name="Check me in"))

    page.get_by_role("heading", name="You're in, Ana!").wait_for()
    assert page.locator(".personal-qr svg").is_visible()
    person.tap(page.get_by_role("link", name="Done"))
    page.wait_for_url(re.compile(r"/kiosk/$"))
    assert person.taps - person.field_taps == 3, f"{person.taps - person.field_taps} taps"
    with live_server.db() as s:
        ana = s.get(Attendee, kiosk_event["ana"])
        assert ana.checked_in_at is not None and not ana.consent_screen and ana.consent_share == []
    assert not page.context.errors


LONG_FIRST, LONG_LAST = "Bartholomäus-Maximilian", "Wolfeschlegelsteinhausen-Bergerdorff-Ö"  # 62 characters
LONG_OFFER = ("Ich begleite Teams bei der Einführung von Barrierefreiheit in bestehende Produkte: Audits nach WCAG 2.2, "
              "Schulungen für Entwicklerinnen und Designer, Prüfungen mit Screenreadern (NVDA, JAWS, VoiceOver, "
              "TalkBack), dazu Beratung zur EU-Richtlinie 2019/882, die ab Juni 2025 für viele digitale Produkte "
              "gilt. Gern zeige ich an einem echten Formular, wo Menschen mit Tastatur oder Screenreader "
              "hängenbleiben, und wie man es mit wenig Aufwand repariert.")
LONG_OFFER_2 = ("Außerdem: Einführung in automatisierte Tests mit axe-core und Playwright, damit Barrierefreiheit "
                "nicht nach dem nächsten Release wieder verschwindet, "
                "und Checklisten für Reviews.")

# Elements whose text is cut off: content wider or taller than a box that hides the rest, a field that must be
# scrolled inside, or anything reaching past the right edge of the screen.
_CLIPPED_JS = """() => {
  const cut = [];
  for (const el of document.querySelectorAll('main *')) {
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden' || el.closest('.sr-only, [hidden]')) continue;
    const hides = ['hidden', 'clip'].includes(style.overflowX) || ['hidden', 'clip'].includes(style.overflowY);
    const over = el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1;
    if ((hides || el.tagName === 'TEXTAREA' || el.tagName === 'INPUT') && over && el.type !== 'checkbox')
      cut.push(el.tagName + '.' + el.className + ': ' + (el.value || el.textContent).slice(0, 40));
    if (el.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
      cut.push('past the edge: ' + el.tagName + '.' + el.className);
  }
  if (document.documentElement.scrollWidth > document.documentElement.clientWidth) cut.push('page scrolls sideways');
  return cut;
}"""


@pytest.mark.parametrize("viewport", [PORTRAIT, {"width": 1024, "height": 768}], ids=["portrait", "landscape"])
def test_a_long_name_and_a_long_card_are_never_cut_off(live_server, kiosk_event, new_context, shot, viewport):
    with live_server.db() as s:
        from kiosk.models import Event
        from tests.factories import make_attendee
        make_attendee(s, s.get(Event, kiosk_event["event_id"]), first_name=LONG_FIRST, last_name=LONG_LAST,
                      company="Gesellschaft für barrierefreie digitale Kommunikation und Teilhabe mbH",
                      title="Leitende Beraterin für Barrierefreiheit",
                      offers=[LONG_OFFER, LONG_OFFER_2], needs=[{"text": "Kundinnen im öffentlichen Dienst",
                                                                  "tags": ["Hiring"]}])
        s.commit()
    assert len(f"{LONG_FIRST} {LONG_LAST}") >= 60 and len(LONG_OFFER) + len(LONG_OFFER_2) >= 600
    name = "portrait" if viewport["width"] < viewport["height"] else "landscape"
    page = new_context(viewport=viewport).new_page()
    _start(page, live_server)
    page.locator("#q").fill("barth")
    choice = page.locator("#results .choice-button", has_text=LONG_FIRST)
    choice.wait_for()
    assert page.evaluate(_CLIPPED_JS) == []
    shot(page, f"40-long-results-{name}")
    choice.tap()

    page.wait_for_url("**/kiosk/confirm")
    for text in (LONG_FIRST, LONG_OFFER, LONG_OFFER_2, "Teilhabe mbH"):
        assert text in page.locator("main").inner_text().replace("\n", " ")
    assert page.evaluate(_CLIPPED_JS) == []
    shot(page, f"41-long-confirm-{name}")

    page.get_by_role("link", name="Edit what I offer").tap()
    page.wait_for_url("**/kiosk/offer")
    field = page.locator("textarea[name=offer-0-text]")
    assert field.input_value() == LONG_OFFER
    assert page.evaluate(_CLIPPED_JS) == []  # the field grew to its whole text: nothing to scroll inside it
    shot(page, f"42-long-offer-{name}")
    # Enter is a new line in a card, never a submit.
    field.focus()
    page.keyboard.press("Control+End")
    page.keyboard.press("Enter")
    page.keyboard.type("Und Kaffee.")
    assert page.url.endswith("/kiosk/offer") and field.input_value().endswith("\nUnd Kaffee.")

    # The on-screen keyboard takes half the screen (the layout shrinks: interactive-widget=resizes-content):
    # Continue stays in view above it while the person types at the top of the form.
    page.set_viewport_size({"width": viewport["width"], "height": viewport["height"] // 2})
    page.locator("textarea[name=offer-0-text]").focus()
    page.evaluate("window.scrollTo(0, 0)")
    button = page.get_by_role("button", name="Continue").bounding_box()
    assert 0 <= button["y"] and button["y"] + button["height"] <= viewport["height"] // 2 + 1, button
    shot(page, f"43-long-offer-keyboard-{name}", full_page=False)
    page.get_by_role("button", name="Continue").tap()
    page.wait_for_url("**/kiosk/confirm")
    assert "Und Kaffee." in page.locator("#confirm-offer").inner_text()
    assert not page.context.errors
