"""Accessibility of every kiosk screen, checked with axe-core (vendored) in headless Chromium."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
#: WCAG 2.1 A and AA plus axe's best practices (landmarks, one main heading...).
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
               "resultTypes": ["violations", "incomplete"]}
BLOCKING = {"serious", "critical"}


def _axe(page) -> list[dict]:
    """axe-core's violations on the page as it is now (every impact), and what it could not decide, as impact
    "review" (colour contrast over a gradient, say)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("options => axe.run(document, options).then(r => ({violations: r.violations, "
                           "incomplete: r.incomplete}))", AXE_OPTIONS)
    found = [{"id": v["id"], "impact": v["impact"], "help": v["help"],
              "nodes": [n["target"] for n in v["nodes"]][:5]} for v in result["violations"]]
    return found + [{"id": v["id"], "impact": "review", "help": v["help"],
                     "nodes": [n["target"] for n in v["nodes"]][:5]} for v in result["incomplete"]]


def test_every_kiosk_screen_has_no_serious_or_critical_axe_violations(live_server, kiosk_event, new_context, shot):
    live_server.app.config["KIOSK_DONE_SECONDS"] = 600  # the done screen must stay while axe runs
    screens: dict[str, list[dict]] = {}
    # axe is injected as an inline script, which the app's Content-Security-Policy rightly refuses.
    page = new_context(bypass_csp=True).new_page()

    def check(name: str):
        screens[name] = _axe(page)

    page.goto(f"{live_server.url}/kiosk/")
    check("start")
    page.locator("#q").fill("ana")
    page.locator("#results .choice-button").first.wait_for()
    check("results")
    page.goto(f"{live_server.url}/kiosk/walk-in")
    check("walk-in")
    page.goto(f"{live_server.url}/kiosk/")
    page.locator("#q").fill("jonas")
    page.locator("#results .choice-button").first.tap()
    page.wait_for_url("**/kiosk/details")
    check("details")
    page.get_by_role("button", name="Looks good, continue").tap()
    page.wait_for_url("**/kiosk/offer")
    page.locator("details.examples summary").tap()  # the ideas list open, as a shy attendee would see it
    check("offer")
    page.get_by_role("button", name="Continue").tap()
    page.wait_for_url("**/kiosk/need")
    check("need")
    page.get_by_role("button", name="Continue").tap()
    page.wait_for_url("**/kiosk/consent")
    check("consent")
    page.get_by_role("button", name="Check in and print my badge").tap()
    page.locator(".done").wait_for()
    check("done")
    page.goto(f"{live_server.url}/kiosk/")
    page.locator("#q").fill("jonas")
    page.locator("#results .choice-button").first.tap()
    page.wait_for_url("**/kiosk/already")
    check("already")
    unpaired = new_context(device=None, bypass_csp=True).new_page()
    unpaired.goto(f"{live_server.url}/kiosk/")
    unpaired.wait_for_url("**/pair")
    screens["pair"] = _axe(unpaired)
    shot(unpaired, "50-pair")

    summary = {name: [f"{v['impact']}: {v['id']}" for v in found] for name, found in screens.items()}
    print("\naxe-core on the kiosk screens:", json.dumps(summary, indent=1))
    blocking = {name: [v for v in found if v["impact"] in BLOCKING] for name, found in screens.items()}
    blocking = {name: found for name, found in blocking.items() if found}
    assert len(screens) == 10
    assert not blocking, json.dumps(blocking, indent=1, ensure_ascii=False)

    # axe really runs in these pages: a button without a name is caught as critical.
    unpaired.evaluate("document.querySelector('main').append(document.createElement('button'))")
    assert {"id": "button-name", "impact": "critical"}.items() <= _axe(unpaired)[0].items()
