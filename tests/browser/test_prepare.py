"""The pre-event page on a phone: fill both cards at home, in the background form (forms.js) like every form."""
from __future__ import annotations

import pytest

from kiosk.models import Attendee, CardKind

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def test_a_card_typed_at_home_on_a_phone_is_saved(live_server, kiosk_event, new_context, shot):
    from kiosk.prepare.service import link_url
    with live_server.app.test_request_context(), live_server.db() as s:
        url = link_url(s.get(Attendee, kiosk_event["ben"]))
        s.commit()
    page = new_context(device=None, viewport=PHONE, is_mobile=True).new_page()
    page.goto(live_server.url + url.split("give.example.org", 1)[1])
    page.wait_for_url("**/p/")
    assert page.locator("input[type=checkbox]:checked").count() == 0
    field = page.locator("textarea[name=offer-0-text]")
    field.fill("Brand identity reviews\nand a second opinion on your logo")
    page.locator(".card-item").first.locator(".tag-chip", has_text="Design").tap()
    page.locator("textarea[name=need-0-text]").fill("A first customer in fintech")
    height = field.bounding_box()["height"]
    assert field.evaluate("f => f.scrollHeight <= f.clientHeight + 1")  # grew to show both lines
    shot(page, "50-prepare-phone")
    page.get_by_role("button", name="Save my cards").tap()
    page.locator(".flash-success").wait_for()
    assert height > 0 and not page.context.errors
    with live_server.db() as s:
        ben = s.get(Attendee, kiosk_event["ben"])
        assert [(c.text, c.tags) for c in ben.cards_of(CardKind.offer)] == [
            ("Brand identity reviews\nand a second opinion on your logo", ["Design"])]
        assert ben.consent_chosen_at is not None and ben.consent_share == [] and not ben.consent_screen
