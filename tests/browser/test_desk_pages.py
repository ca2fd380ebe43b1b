"""The ready-for-doors panel and the desk in Chromium: their test and phone QR codes read off the screen, and the
desk's one-tap check-in on a tablet-sized window. Screenshots go to test-artifacts/browser/."""
from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from kiosk.models import Attendee, Event, PrintJob, PrintStatus, utcnow
from tests.badges.conftest import cups, decode_qrs, queues  # noqa: F401  (fixtures)
from tests.conftest import ORGANIZER_EMAIL, ORGANIZER_PASSWORD
from tests.factories import make_attendee

pytestmark = pytest.mark.browser


def _organizer_page(new_context, live_server, path: str, **options):
    page = new_context(device=None, **options).new_page()
    page.goto(f"{live_server.url}/login?next={path}")
    page.fill('input[name="email"]', ORGANIZER_EMAIL)
    page.fill('input[name="password"]', ORGANIZER_PASSWORD)
    page.click('button[type="submit"]')
    return page


@pytest.fixture
def desk_event(live_server, kiosk_event, queues):
    """The kiosk event with a crowd at the door: some here, a badge printed, one failed; phones use the server."""
    with live_server.db() as s:
        event = s.get(Event, kiosk_event["event_id"])
        event.public_url = live_server.url
        for i, (first, last, company) in enumerate([("Mei", "Tanaka", "Kumo Robotics"),
                                                    ("Omar", "Haddad", "Sahel Solar"),
                                                    ("Zoë", "Ångström-Müller", "Société Générale"),
                                                    ("Priya", "Raman", "Lotus Health")]):
            person = make_attendee(s, event, first_name=first, last_name=last, company=company,
                                   ticket_type="Attendee", ticket_ref=f"T-2{i:02d}",
                                   offers=["Intros to hardware investors"], needs=["A pilot customer"])
            if i < 2:
                person.checked_in_at = utcnow()
        s.flush()
        ben = s.get(Attendee, kiosk_event["ben"])
        ben.checked_in_at = utcnow()
        s.add(PrintJob(event_id=event.id, attendee_id=ben.id, format="label-4x3", printer=queues.queues[0],
                       status=PrintStatus.done))
        s.add(PrintJob(event_id=event.id, attendee_id=kiosk_event["jonas"], format="label-4x3",
                       printer=queues.queues[0], status=PrintStatus.failed, error="media-empty"))
        s.commit()
    live_server.pair("kiosk", "Entrance left")
    return kiosk_event


def test_the_ready_page_shows_every_check_and_a_test_qr_a_phone_can_open(live_server, desk_event, new_context,
                                                                          shot):
    slug = desk_event["slug"]
    page = _organizer_page(new_context, live_server, f"/admin/events/{slug}/ready", viewport={"width": 1280,
                                                                                              "height": 900})
    expect(page.locator(".ready-summary")).to_be_visible()
    expect(page.locator('[data-key="reachable"]')).to_have_class("check check-ok")
    expect(page.locator('[data-key="public_url"]')).to_have_class("check check-warn")  # 127.0.0.1
    path = shot(page, "ready-for-doors")
    (url,) = decode_qrs(path)
    assert url == f"{live_server.url}/phone-check"
    assert "reaches Give" in requests.get(url, timeout=10).text  # what the phone opens
    page.reload()
    expect(page.locator('[data-key="reachable"] .check-detail')).to_contain_text("a phone opened the test code")
    assert page.context.errors == []


def test_the_desk_checks_someone_in_with_one_tap_and_their_phone_code_opens_their_page(live_server, desk_event,
                                                                                        new_context, queues, shot):
    slug = desk_event["slug"]
    page = _organizer_page(new_context, live_server, f"/admin/events/{slug}/attendees")
    page.select_option('select[name="printer"]', queues.queues[1])
    page.click('form.desk-printer button')
    expect(page.locator(".flash-success")).to_contain_text(queues.queues[1])
    page.click("nav.tabs >> text=Not arrived")
    expect(page.locator("tbody tr")).to_have_count(4)
    shot(page, "desk-not-arrived")
    search = page.locator("[data-desk-search]")
    search.fill("zoe")
    search.press("Enter")
    row = page.locator("tbody tr", has_text="Zoë Ångström-Müller")
    expect(row).to_have_count(1)
    row.get_by_role("button", name="Check in & print").tap()
    done = page.locator(".desk-done")
    expect(done).to_contain_text("Zoë Ångström-Müller is checked in.")
    expect(done).to_contain_text(f"on its way to {queues.queues[1]}")
    path = shot(page, "desk-checked-in", full_page=False)
    phone = [u for u in decode_qrs(path) if "/m/" in u]
    assert len(phone) == 1 and phone[0].startswith(f"{live_server.url}/m/")
    # The next person: the search box has the old text selected, typing replaces it.
    expect(search).to_be_focused()
    page.keyboard.type("ben")
    expect(search).to_have_value("ben")
    attendee_page = new_context(device=None).new_page()
    attendee_page.goto(phone[0])
    expect(attendee_page.locator("body")).to_contain_text("Zoë")
    assert page.context.errors == []


def test_the_print_jobs_list_retries_a_failed_badge(live_server, desk_event, new_context, queues, shot):
    slug = desk_event["slug"]
    page = _organizer_page(new_context, live_server, f"/admin/events/{slug}/printing")
    failed = page.locator("tr[data-job]", has_text="media-empty")
    expect(failed.get_by_role("link", name="PDF")).to_be_visible()
    shot(page, "printing-jobs")
    failed.get_by_role("button", name="Retry").tap()
    expect(page.locator(".flash-success")).to_contain_text("Sent again as job")
    newest = page.locator("tr[data-job]").first
    expect(newest).to_contain_text("Jonas Becker")
    assert page.context.errors == []
