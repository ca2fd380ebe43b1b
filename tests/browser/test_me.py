"""The phone page in headless Chromium on a phone viewport: the personal link, a match arriving live, answering it."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_screen import api_check_in, drain, live_app_config, screen_event  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def test_the_phone_page_receives_its_match_and_answers_it(live_server, screen_event, new_context, shot):
    ana = api_check_in(live_server, screen_event, screen_event["ana"])
    drain(live_server)
    context = new_context(device=None, viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    personal = ana["personal_url"].replace("https://give.example.org", live_server.url)
    page.goto(personal)
    assert page.url == f"{live_server.url}/me"  # the token left the address bar
    expect(page.locator("h1")).to_have_text("Hi Ana!")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    # Ana is the first here: nobody clears the floor, so she is told she will be paired in the next round.
    expect(page.locator("#waiting")).to_be_visible()
    expect(page.locator("#waiting")).to_contain_text("You will be paired in the next round")
    expect(page.locator("#no-matches")).to_be_hidden()
    api_check_in(live_server, screen_event, screen_event["ben"])
    match = page.locator(".match").first
    expect(match).to_contain_text("Ben Okafor", timeout=5000)
    expect(match).to_contain_text("Ben can help you")
    expect(page.locator("#waiting")).to_be_hidden()
    # Her own line, naming Ben, with the organizer's tags as written (me.js words it from the live message).
    expect(match.locator(".starter")).to_have_text("Ask Ben about Design; they want to hear about Funding")
    match.locator("button.accept").tap()
    expect(match.locator(".match-status")).to_have_text("Accepted")
    # A round lands on the phone: where, with whom, how long. (Kenji and Maya get no live suggestions, so the
    # round has someone new for Ana: pairs already suggested are not paired again.)
    from kiosk.models import Event
    from kiosk.rounds.service import request_round
    with live_server.db() as s:
        s.get(Event, screen_event["event_id"]).match_settings = {"k": 0}
        s.commit()
    api_check_in(live_server, screen_event, screen_event["kenji"])
    api_check_in(live_server, screen_event, screen_event["maya"])
    drain(live_server)
    with live_server.db() as s:
        request_round(s, s.get(Event, screen_event["event_id"]))
        s.commit()
    expect(page.locator("#round")).to_be_visible(timeout=15000)
    expect(page.locator("#round-point")).not_to_be_empty()
    expect(page.locator("#round-clock")).to_contain_text("left")
    # The page survives a reload (a phone waking up): the matches are still there, no duplicates.
    page.reload()
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    count = page.locator(".match").count()
    ids = page.locator(".match").evaluate_all("nodes => nodes.map(n => n.dataset.matchId)")
    assert count == len(set(ids)) >= 1
    shot(page, "phone", full_page=True)
    assert context.errors == []


def test_the_phone_hears_live_that_it_will_be_paired_in_the_next_round(live_server, screen_event, new_context):
    from sqlalchemy import delete

    from kiosk.matching.service import UNMATCHED, announce_unmatched
    from kiosk.models import EventLog
    ana = api_check_in(live_server, screen_event, screen_event["ana"])
    drain(live_server)
    with live_server.db() as s:  # as if her page had opened before the matcher answered
        s.execute(delete(EventLog).where(EventLog.type == UNMATCHED))
        s.commit()
    context = new_context(device=None, viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(ana["personal_url"].replace("https://give.example.org", live_server.url))
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    expect(page.locator("#no-matches")).to_be_visible()
    expect(page.locator("#waiting")).to_be_hidden()
    with live_server.db() as s:  # what the matcher publishes when nobody clears the floor
        announce_unmatched(s, screen_event["event_id"], screen_event["ana"])
        s.commit()
    expect(page.locator("#waiting")).to_be_visible(timeout=5000)
    expect(page.locator("#no-matches")).to_be_hidden()
    assert context.errors == []


def test_saving_cards_on_the_phone_says_saved(live_server, screen_event, new_context, shot):
    """forms.js posts in the background and fetch follows the redirect, which used to use up the page's "Saved."
    message before the browser loaded the page itself: the phone saved silently. The event's topics are chips
    here as at the kiosk: a tap adds one."""
    ana = api_check_in(live_server, screen_event, screen_event["ana"])
    drain(live_server)
    context = new_context(device=None, viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(ana["personal_url"].replace("https://give.example.org", live_server.url))
    offer = page.locator("textarea[name='offer-0-text']")
    offer.fill("Intros to design leads in Lisbon")
    design = page.locator(".cards-form input[name='offer-0-tags'][value='Design']")
    expect(design).not_to_be_checked()
    # The chip's label, as a thumb hits it.
    page.locator(".cards-form .tag-chip", has=page.locator("input[value='Design'][name='offer-0-tags']")).tap()
    expect(design).to_be_checked()
    page.locator(".cards-form button[type=submit]").tap()
    expect(page.locator(".flash", has_text="Saved")).to_be_visible()
    expect(page.locator("textarea[name='offer-0-text']")).to_have_value("Intros to design leads in Lisbon")
    expect(design).to_be_checked()  # (a locator finds the reloaded page's chip again)
    shot(page.locator("#cards"), "phone-cards-chips")
    with live_server.db() as s:
        from kiosk.models import Attendee
        offers = [(c.text, sorted(c.tags)) for c in s.get(Attendee, screen_event["ana"]).cards
                  if c.kind.value == "offer"]
    assert offers == [("Intros to design leads in Lisbon", ["Design", "Funding"])]  # Funding from registration
    assert context.errors == []
