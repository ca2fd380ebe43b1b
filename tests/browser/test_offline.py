"""The Wi-Fi drops mid-flow (playwright's `set_offline`, or an answer lost on its way back): the kiosk and the phone
wait with a "Reconnecting…" banner, keep what was typed, go through once when it is back, and a kiosk left alone
returns to its start screen, never to the browser's "no internet" page."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from kiosk.models import Attendee, EventLog, Match, MatchStatus, PrintJob

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def _count(live_server, model, *where) -> int:
    with live_server.db() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def _banner(page):
    return page.locator("#reconnecting")


def test_a_walk_in_and_check_in_wait_out_the_wi_fi_and_go_through_once(live_server, kiosk_event, new_context,
                                                                      shot):
    context = new_context()
    page = context.new_page()
    page.goto(f"{live_server.url}/kiosk/walk-in")
    page.get_by_label("First name").fill("Mira")
    page.get_by_label("Last name").fill("Novak")
    page.get_by_label("Email (optional, for your summary after the event)").fill("mira@example.org")
    context.set_offline(True)
    page.get_by_role("button", name="Continue").tap()
    expect(_banner(page)).to_have_text("Reconnecting… Nothing is lost: it is sent as soon as the connection is back.")
    expect(_banner(page)).to_have_attribute("role", "status")
    assert page.url.endswith("/kiosk/walk-in")  # not the browser's error page
    expect(page.get_by_label("First name")).to_have_value("Mira")  # what was typed is still there
    kept = page.evaluate("Object.keys(sessionStorage).filter(k => k.startsWith('gt-form:'))")
    assert kept, "the typed fields are kept for a reload"
    shot(page, "offline-kiosk-banner")
    context.set_offline(False)
    page.wait_for_url("**/kiosk/details")
    expect(page.locator("h1")).to_contain_text("Mira")
    expect(_banner(page)).to_be_empty()
    assert _count(live_server, Attendee, Attendee.email == "mira@example.org") == 1
    for step, button in (("details", "Looks good, continue"), ("offer", "Continue"), ("need", "Continue")):
        page.get_by_role("button", name=button).tap()
    page.wait_for_url("**/kiosk/consent")

    # The check-in reaches the server but its answer is lost on the way back: the retry, with the same key, gets
    # the first answer (the done screen), not a second check-in or badge.
    lost = []

    def lose_the_answer(route):
        if not lost:
            lost.append(route.fetch(max_redirects=0).status)
            route.abort("connectionreset")
        else:
            route.continue_()
    page.route("**/kiosk/consent", lose_the_answer)
    page.get_by_role("button", name="Check in and print my badge").tap()
    page.get_by_role("heading", name="You're in, Mira!").wait_for()
    assert lost == [302]
    expect(page.locator(".personal-qr svg")).to_be_visible()
    with live_server.db() as s:
        mira = s.scalar(select(Attendee).where(Attendee.email == "mira@example.org"))
        assert mira.checked_in_at is not None
        mira_id = mira.id
    assert _count(live_server, EventLog, EventLog.type == "checkin") == 1
    assert _count(live_server, PrintJob, PrintJob.attendee_id == mira_id) == 1
    assert page.evaluate("Object.keys(sessionStorage).filter(k => k.startsWith('gt-form:'))") == []
    assert context.errors == [] or all("ERR_INTERNET_DISCONNECTED" in e or "Failed to load" in e
                                       or "ERR_CONNECTION_RESET" in e for e in context.errors), context.errors


def test_the_idle_reset_offline_clears_the_screen_and_starts_over_once_online(live_server, kiosk_event,
                                                                             new_context):
    live_server.app.config["KIOSK_IDLE_SECONDS"] = 2
    context = new_context()
    page = context.new_page()
    page.goto(f"{live_server.url}/kiosk/")
    page.locator("#q").fill("Ana")
    page.locator("#results .choice-button", has_text="Ana G.").tap()
    page.wait_for_url("**/kiosk/confirm")  # her cards are filled: the one screen to check them
    expect(page.locator("main")).to_contain_text("Brightloop")
    context.set_offline(True)
    expect(page.locator("main")).not_to_contain_text("Brightloop", timeout=6000)  # nothing of Ana left on screen
    expect(_banner(page)).not_to_be_empty()
    assert page.url.endswith("/kiosk/confirm")  # waiting, not on the browser's error page
    context.set_offline(False)
    page.wait_for_url(f"{live_server.url}/kiosk/")
    expect(page.locator("form.search")).to_be_visible()


def test_the_done_screen_offline_returns_to_start_once_online(live_server, kiosk_event, new_context):
    live_server.app.config["KIOSK_DONE_SECONDS"] = 2
    context = new_context()
    page = context.new_page()
    page.goto(f"{live_server.url}/kiosk/")
    page.locator("#q").fill("Ben")
    page.locator("#results .choice-button", has_text="Ben O.").tap()
    page.wait_for_url("**/kiosk/details")
    for button in ("Looks good, continue", "Continue", "Continue"):
        page.get_by_role("button", name=button).tap()
        page.wait_for_load_state()
    page.wait_for_url("**/kiosk/consent")
    page.get_by_role("button", name="Check in and print my badge").tap()
    page.get_by_role("heading", name="You're in, Ben!").wait_for()
    context.set_offline(True)
    expect(page.locator(".personal-qr")).to_have_count(0, timeout=6000)  # the phone QR is off the screen
    assert page.url.endswith("/kiosk/done")
    context.set_offline(False)
    page.wait_for_url(f"{live_server.url}/kiosk/")
    expect(page.locator("form.search")).to_be_visible()


def test_name_search_offline_says_so_and_finds_them_once_online(live_server, kiosk_event, new_context):
    context = new_context()
    page = context.new_page()
    page.goto(f"{live_server.url}/kiosk/")
    context.set_offline(True)
    page.locator("#q").fill("Ana")
    expect(page.locator("#results")).to_have_text("No connection, retrying…")
    context.set_offline(False)
    expect(page.locator("#results .choice-button", has_text="Ana G.")).to_be_visible()


def test_an_accept_on_the_phone_offline_is_sent_once_when_back_online(live_server, kiosk_event, new_context, shot,
                                                                    monkeypatch):
    from kiosk.attendees.service import issue_personal_token
    from kiosk.me import service as me_service
    ana, ben = kiosk_event["ana"], kiosk_event["ben"]
    with live_server.db() as s:
        s.add(Match(event_id=kiosk_event["event_id"], a_id=min(ana, ben), b_id=max(ana, ben), score=0.8,
                    direction="both", status=MatchStatus.suggested, reasons=[]))
        token = issue_personal_token(s.get(Attendee, ana))
        s.commit()
    answered = []
    real = me_service.answer_match
    monkeypatch.setattr(me_service, "answer_match",
                        lambda *args, **kwargs: answered.append(args[3]) or real(*args, **kwargs))
    context = new_context(device=None, viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/m/{token}")
    match = page.locator(".match").first
    expect(match).to_contain_text("Ben Okafor")
    context.set_offline(True)
    match.locator("button.accept").tap()
    expect(_banner(page)).to_have_text("Reconnecting… Nothing is lost: it is sent as soon as the connection is back.")
    expect(match.locator("button.accept")).to_have_attribute("aria-busy", "true")
    expect(match.locator(".match-status")).to_have_text("Sending…")
    assert page.url.endswith("/me")  # no page load
    shot(page, "offline-phone-banner", full_page=False)
    context.set_offline(False)
    expect(match.locator(".match-status")).to_have_text("Accepted")
    expect(_banner(page)).to_be_empty()
    assert answered == ["accept"]
    with live_server.db() as s:
        assert s.scalar(select(Match.status)) == MatchStatus.accepted
