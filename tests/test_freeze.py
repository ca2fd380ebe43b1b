"""The freeze that stopped `givetake serve` for good, as a regression test on the real command (gevent).

What happened: the organizer started a networking round (a native thread doing numpy for 2,000 people) while the
dashboard polled the printers; `list_printers` ran `lpstat`, gevent forked for it, and OpenBLAS's fork handler
waited for ever on its worker thread: no page, socket or kiosk was answered again. Now CUPS is reached over IPP
and the server must never fork (DESIGN.md, Processes). Here the same mix runs against the real server:
2,000 people present, a round started from the dashboard, the dashboard's printer poll every 25 ms, kiosks
checking people in over the API and one through the kiosk pages (which prints a badge on a cups-pdf queue).
Every request must be answered within DEADLINE_S, every round must be stored, and the server's log must show
no fork (kiosk.watchdog.report_forks logs one as an ERROR) and no child process may ever be seen under it.

GIVETAKE_FREEZE_REPEATS (default 3) says how many rounds in a row the one server runs.
"""
from __future__ import annotations

import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select, update

from kiosk.db import db
from kiosk.demo import create_demo_event
from kiosk.devices.service import COOKIE, create_device, pair
from kiosk.models import Attendee, Device, PrintJob, PrintStatus, Round, utcnow
from tests.badges.conftest import cups, queues, wait_until  # noqa: F401  (fixtures)
from tests.conftest import ORGANIZER_EMAIL, ORGANIZER_PASSWORD, build_app, csrf_from
from tests.factories import choose_at_kiosk, make_attendee
from tests.livesrv import ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.cups]

REPEATS = int(os.environ.get("GIVETAKE_FREEZE_REPEATS", "3"))
PRESENT = 2000
#: Check-ins sent over the API (a ticket scan, then the check-in) while each round runs, plus one through the
#: kiosk pages (a name lookup; it prints a badge).
CHECKINS_PER_ROUND = 12
#: Every request is answered within this many seconds, or the server counts as frozen.
DEADLINE_S = 10.0
POLL_EVERY_S = 0.025
#: How long one round may take from the button to its row in the database (a second of numpy, then storing
#: a thousand pairs and two thousand phone messages).
ROUND_DEADLINE_S = 120


@dataclass
class Traffic:
    """What the concurrent clients saw: every failure or late answer, and the slowest answer per kind."""

    problems: list[str] = field(default_factory=list)
    slowest: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    children: set[int] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(self, kind: str, call, ok=lambda r: r.status_code < 400):
        start = time.monotonic()
        try:
            response = call()
        except requests.RequestException as exc:
            with self.lock:
                self.problems.append(f"{kind}: {type(exc).__name__} after {time.monotonic() - start:.1f} s: {exc}")
            return None
        took = time.monotonic() - start
        with self.lock:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            self.slowest[kind] = max(self.slowest.get(kind, 0.0), took)
            if took > DEADLINE_S:
                self.problems.append(f"{kind}: answered after {took:.1f} s")
            if not ok(response):
                self.problems.append(f"{kind}: HTTP {response.status_code} {response.text[:300]}")
        return response


def _children(pid: int) -> set[int]:
    """The server's child processes right now, from /proc (every thread's children list)."""
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found |= {int(c) for c in (task / "children").read_text().split()}
        except OSError:
            pass
    return found


@pytest.fixture
def crowd(tmp_path, queues):
    """An event with PRESENT people checked in, more to check in during the rounds, a kiosk printing on a
    cups-pdf queue, and `givetake serve` (gevent, in-process matcher) on it."""
    setup = build_app(tmp_path / "instance", MATCHER="off")
    with setup.app_context():
        s = db.session
        event = create_demo_event(s, attendees=PRESENT + REPEATS * CHECKINS_PER_ROUND, checked_in_share=0, seed=11)
        people = s.execute(select(Attendee.id, Attendee.ticket_ref).where(Attendee.event_id == event.id)
                           .order_by(Attendee.id)).all()
        s.execute(update(Attendee).where(Attendee.id.in_([p.id for p in people[:PRESENT]]))
                  .values(checked_in_at=utcnow() - timedelta(minutes=30)))
        # Found by name at the kiosk's own lookup: one name each, nobody else starts with it.
        at_the_door = [make_attendee(s, event, first_name="Quinn", last_name=f"Kioskperson{n:02d}",
                                     offers=[{"text": "Label printers and badge stock"}],
                                     needs=[{"text": "A venue for our next meetup"}]).full_name
                       for n in range(REPEATS)]
        door = create_device(s, event, "kiosk", "Door")
        _, door_token = pair(s, door.pairing_code)
        s.get(Device, door.id).printers = [queues.queues[0]]
        # One API kiosk per round, as at a venue with several (each has its own rate limits).
        api_kiosks = [pair(s, create_device(s, event, "kiosk", f"Hall {n}").pairing_code)[1] for n in range(REPEATS)]
        s.commit()
        info = {"slug": event.slug, "event_id": event.id, "door": door_token, "api_kiosks": api_kiosks,
                "tickets": [p.ticket_ref for p in people[PRESENT:]], "at_the_door": at_the_door}
    setup.extensions["givetake.db"].dispose()
    env = {"GIVETAKE_DATABASE_URL": setup.config["DATABASE_URL"], "GIVETAKE_INSTANCE_PATH": str(tmp_path / "instance"),
           "GIVETAKE_SECRET_KEY": "freeze-" + uuid.uuid4().hex, "GIVETAKE_MATCHER": "inprocess",
           "GIVETAKE_REDIS_URL": "", "GIVETAKE_PUBLIC_URL": "https://give.example.org",
           "GIVETAKE_ASYNC_MODE": "gevent"}
    server = ServerProcess(env).launch()
    try:
        server.wait_ready(600)  # the matcher indexes 2,000 people (MiniLM) before the server answers
        assert "; gevent)" in server.output(), server.output()
        yield setup, server, info
    finally:
        server.stop()


def _organizer(server) -> requests.Session:
    web = requests.Session()
    page = web.get(f"{server.url}/login", timeout=DEADLINE_S)
    web.post(f"{server.url}/login", data={"email": ORGANIZER_EMAIL, "password": ORGANIZER_PASSWORD,
                                          "csrf_token": csrf_from(page.text)}, timeout=DEADLINE_S)
    return web


def _server_story(log: str) -> str:
    """The end of the server's log, with the watchdog's thread stacks (not its long greenlet list) first."""
    stalls = [part.split("* Greenlets", 1)[0] for part in log.split("event loop stalled")[1:]]
    return "\n".join(["watchdog reports:", *("event loop stalled" + s for s in stalls[:3]), "log tail:",
                      log[-3000:]])


def _rounds(setup, event_id: int) -> int:
    with setup.app_context(), db.database.reader() as session:
        return session.scalar(select(func.count(Round.id)).where(Round.event_id == event_id))


def test_a_round_under_printer_polling_and_check_ins_never_freezes_the_server(crowd):
    setup, server, info = crowd
    slug, pid = info["slug"], server.process.pid
    dashboard = _organizer(server)
    live = f"{server.url}/admin/events/{slug}/live"
    assert dashboard.get(live + "/", timeout=DEADLINE_S).status_code == 200
    tickets = iter(info["tickets"])
    traffic = Traffic()
    printed: list[int] = []

    for number in range(1, REPEATS + 1):
        stop = threading.Event()

        def poll_printers():
            session = requests.Session()
            session.cookies.update(dashboard.cookies)
            while not stop.is_set():
                traffic.timed("printers", lambda: session.get(live + "/printers", timeout=DEADLINE_S + 5),
                              ok=lambda r: r.status_code == 200 and any(
                                  p["name"] == "GiveTakeTest1" and p["state"] != "unreachable"
                                  for p in r.json()["printers"] or []))
                traffic.children |= _children(pid)
                time.sleep(POLL_EVERY_S)

        def check_in_over_the_api():
            headers = {"Authorization": f"Bearer {info['api_kiosks'][number - 1]}"}
            api = f"{server.url}/api/events/{slug}/attendees"
            for _ in range(CHECKINS_PER_ROUND):
                if stop.is_set():
                    return
                ticket = next(tickets)  # the person scans their ticket: the kiosk may then act for them
                found = traffic.timed("api check-in", lambda: requests.post(
                    f"{api}/lookup-ticket", json={"code": ticket}, headers=headers, timeout=DEADLINE_S + 5))
                if found is None or found.status_code != 200:
                    continue
                person = found.json()
                traffic.timed("api check-in", lambda: requests.post(
                    f"{api}/{person['attendee']['id']}/checkin", json={"consent_screen": True},
                    headers={**headers, "X-Kiosk-Grant": person["grant"]}, timeout=DEADLINE_S + 5))
                time.sleep(0.1)

        def check_in_at_the_kiosk():
            name = info["at_the_door"][number - 1]
            kiosk = requests.Session()
            kiosk.cookies.set(COOKIE, info["door"])
            page = traffic.timed("kiosk", lambda: kiosk.get(f"{server.url}/kiosk/", timeout=DEADLINE_S + 5))
            if page is None:
                return
            csrf = csrf_from(page.text)
            traffic.timed("kiosk", lambda: choose_at_kiosk(kiosk, name, csrf, base=server.url,
                                                          timeout=DEADLINE_S + 5))
            traffic.timed("kiosk", lambda: kiosk.post(f"{server.url}/kiosk/consent", data={"csrf_token": csrf},
                                                      timeout=DEADLINE_S + 5),
                          ok=lambda r: "Your badge is printing on GiveTakeTest1" in r.text)
            printed.append(name)

        clients = [threading.Thread(target=f, daemon=True)
                   for f in (poll_printers, check_in_over_the_api, check_in_at_the_kiosk)]
        for client in clients:
            client.start()
        time.sleep(0.2)  # the poll is going when the organizer presses the button
        form = traffic.timed("dashboard", lambda: dashboard.get(live + "/", timeout=DEADLINE_S + 5))
        assert form is not None, traffic.problems
        traffic.timed("start round", lambda: dashboard.post(live + "/round", data={"csrf_token": csrf_from(form.text)},
                                                            timeout=DEADLINE_S + 5, allow_redirects=False),
                      ok=lambda r: r.status_code == 302)
        try:
            deadline = time.monotonic() + ROUND_DEADLINE_S
            while _rounds(setup, info["event_id"]) < number and time.monotonic() < deadline \
                    and not traffic.problems:
                time.sleep(0.1)
            time.sleep(0.5)  # the server goes on answering after the round is stored
        finally:
            stop.set()
            for client in clients:
                client.join(DEADLINE_S + 10)
        assert not traffic.problems, f"round {number}: {traffic.problems[:10]}\n{_server_story(server.output())}"
        assert _rounds(setup, info["event_id"]) == number, f"round {number} not stored:\n{server.output()[-4000:]}"

    def badges_done():
        with setup.app_context(), db.database.reader() as session:
            jobs = session.scalars(select(PrintJob).join(Attendee, Attendee.id == PrintJob.attendee_id)
                                   .where(Attendee.event_id == info["event_id"])).all()
            return len(jobs) == len(printed) and all(j.status == PrintStatus.done for j in jobs) and jobs
    wait_until(badges_done, 60, "the kiosk's badges to print")

    log = server.output()
    assert "forked while serving" not in log, log[log.index("forked while serving") - 200:][:3000]
    assert not traffic.children and not _children(pid), f"child processes under the server: {traffic.children}"
    assert traffic.counts["printers"] >= 20 * REPEATS, traffic.counts
    assert server.process.poll() is None
    print(f"\n{REPEATS} rounds; requests: {traffic.counts}; slowest (s): "
          f"{ {k: round(v, 2) for k, v in traffic.slowest.items()} }; "
          f"watchdog stall reports: {log.count('event loop stalled')}")
