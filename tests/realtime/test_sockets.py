"""Socket.IO over a real server with python-socketio clients: join and its auth, replay, reconnects."""
from __future__ import annotations

import threading
import time

import pytest
import requests

from tests.conftest import ORGANIZER_EMAIL, ORGANIZER_PASSWORD, csrf_from
from tests.realtime.conftest import check_in, publish_now


def test_a_paired_screen_joins_its_room_and_hears_live_messages(rt_server, rt_event, feeds):
    screen = feeds()
    answer = screen.join("screen", rt_event["slug"], token=rt_event["screen_token"])
    assert answer["ok"] and answer["rooms"] == ["screen"] and answer["replayed"] == 0
    seq = publish_now(rt_server.app, rt_event["event_id"], "stats", "screen", {"checked_in": 7})
    got = screen.wait_for(lambda t, p: t == "stats")
    assert got == ("stats", {"checked_in": 7, "seq": seq})


@pytest.mark.parametrize("token_key, role", [(None, "screen"), ("kiosk_token", "screen"), ("bogus", "screen"),
                                             (None, "staff"), ("screen_token", "staff"), ("bogus", "attendee"),
                                             (None, "attendee")])
def test_a_wrong_or_missing_token_joins_nothing_and_gets_an_error(rt_server, rt_event, feeds, token_key, role):
    client = feeds()
    token = rt_event.get(token_key) if token_key != "bogus" else "X" * 26
    answer = client.join(role, rt_event["slug"], token=token)
    assert answer["ok"] is False and answer["code"] in ("not_paired", "not_staff", "not_attendee")
    error = client.wait_error()
    assert error["code"] == answer["code"] and error["message"]
    # It is in no room: messages to every room of the event pass it by.
    for room in ("screen", "staff", f"attendee:{rt_event['ana']}"):
        publish_now(rt_server.app, rt_event["event_id"], "stats", room, {"checked_in": 1})
    probe = feeds()
    probe.join("screen", rt_event["slug"], token=rt_event["screen_token"], last_seq=0)
    assert probe.wait_for(lambda t, p: t == "stats")  # the messages were sent...
    assert client.raw == []  # ...and the failed client heard none of them


@pytest.mark.parametrize("payload, code", [
    ("screen", "bad_request"), (["screen"], "bad_request"),
    ({"role": "boss", "event": "live-conf"}, "bad_role"),
    ({"role": "screen", "event": "../etc"}, "bad_event"), ({"role": "screen", "event": 5}, "bad_event"),
    ({"role": "screen", "event": "live-conf", "last_seq": -1}, "bad_last_seq"),
    ({"role": "screen", "event": "live-conf", "last_seq": "3"}, "bad_last_seq"),
    ({"role": "screen", "event": "live-conf", "last_seq": True}, "bad_last_seq"),
    ({"role": "screen", "event": "live-conf", "token": "A" * 500}, "bad_token"),
    ({"role": "screen", "event": "live-conf", "token": {"$ne": 1}}, "bad_token"),
    ({"role": "screen", "event": "no-such-event"}, "no_event"),
])
def test_join_input_is_validated(rt_event, feeds, payload, code):
    client = feeds()
    answer = client.call_raw("join", payload)
    assert answer["ok"] is False and answer["code"] == code


def test_replay_sends_exactly_the_rooms_missed_messages_in_order_then_live(rt_server, rt_event, feeds):
    app, event_id = rt_server.app, rt_event["event_id"]
    sent = []
    for i in range(6):
        sent.append(publish_now(app, event_id, "match", "screen", {"match_id": i}))
        publish_now(app, event_id, "checkin", "staff", {"attendee_id": i})          # another room
        publish_now(app, event_id, "match", f"attendee:{rt_event['ana']}", {"match_id": i})
    screen = feeds()
    answer = screen.join("screen", rt_event["slug"], token=rt_event["screen_token"], last_seq=sent[2])
    assert answer["replayed"] == 3 and answer["last_seq"] == sent[5]
    assert [(t, p["seq"]) for t, p in screen.raw] == [("match", s) for s in sent[3:]]
    assert [p["match_id"] for _, p in screen.raw] == [3, 4, 5]
    live = publish_now(app, event_id, "match", "screen", {"match_id": 6})
    assert screen.wait_for(lambda t, p: p["seq"] == live)
    assert screen.seqs() == sent[3:] + [live]


def test_replay_keeps_only_the_newest_stats_snapshot(rt_server, rt_event, feeds):
    app, event_id = rt_server.app, rt_event["event_id"]
    first = publish_now(app, event_id, "match", "screen", {"match_id": 1})
    for n in range(5):
        newest = publish_now(app, event_id, "stats", "screen", {"checked_in": n})
    screen = feeds()
    screen.join("screen", rt_event["slug"], token=rt_event["screen_token"], last_seq=0)
    assert [(t, p["seq"]) for t, p in screen.raw] == [("match", first), ("stats", newest)]


def test_a_last_seq_from_another_database_starts_over(rt_server, rt_event, feeds):
    seq = publish_now(rt_server.app, rt_event["event_id"], "match", "screen", {"match_id": 1})
    screen = feeds()
    answer = screen.join("screen", rt_event["slug"], token=rt_event["screen_token"], last_seq=10_000)
    assert answer["reset"] is True and [p["seq"] for _, p in screen.raw] == [seq]


class Traffic:
    """Publishes to the screen room from a thread, noting the messages that went out while the client was away."""

    def __init__(self, app, event_id: int):
        self.app, self.event_id = app, event_id
        self.published: list[int] = []
        self.while_away: list[list[int]] = []  # per drop, the seqs published entirely while the client was away
        self._away = False
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="traffic")

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            with self._cond:
                away_before, drop = self._away, len(self.while_away)
            seq = publish_now(self.app, self.event_id, "match", "screen", {"match_id": n})
            with self._cond:
                self.published.append(seq)
                if away_before and self._away and drop == len(self.while_away):
                    self.while_away[-1].append(seq)
                self._cond.notify_all()
            n += 1

    def __enter__(self) -> "Traffic":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(30)

    def client_left(self) -> None:
        """From now on the client cannot hear anything live: its connection is gone and it has not rejoined."""
        with self._cond:
            self._away = True
            self.while_away.append([])

    def client_rejoins(self) -> None:
        with self._cond:
            self._away = False

    def wait_while_away(self, count: int, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.while_away[-1]) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"fewer than {count} messages published in {timeout} s"
                self._cond.wait(left)


def test_a_dropped_and_restored_connection_misses_nothing(rt_server, rt_event, feeds, flaky_network):
    """Five network drops while messages keep coming: the client reconnects by itself, rejoins with the last seq
    it saw, and gets every message published while it was away exactly once, in order, and nothing is missed."""
    screen = feeds(url=flaky_network.url, reconnect=True)
    screen.join("screen", rt_event["slug"], token=rt_event["screen_token"])
    with Traffic(rt_server.app, rt_event["event_id"]) as traffic:
        for drop in range(1, 6):
            heard = len(screen.seqs())
            screen.wait(lambda: len(screen.seqs()) >= heard + 3, what="live messages before the drop")
            flaky_network.cut()
            traffic.client_left()
            screen.wait(lambda: not screen.connected, what="the client to notice the drop")
            traffic.wait_while_away(3)
            flaky_network.restore()
            screen.wait(lambda: screen.connects == drop + 1, what=f"reconnect {drop}")
            traffic.client_rejoins()
            last_seen = max(screen.seqs())
            answer = screen.join("screen", rt_event["slug"], token=rt_event["screen_token"], last_seq=last_seen)
            assert answer["ok"] and answer["replayed"] >= len(traffic.while_away[-1])
        heard = len(screen.seqs())
        screen.wait(lambda: len(screen.seqs()) >= heard + 3, what="live messages after the last rejoin")
    final = traffic.published[-1]
    screen.wait(lambda: final in screen.seqs(), what="the last message published")

    seqs = screen.seqs()
    assert screen.connects == 6
    assert set(seqs) == set(traffic.published), sorted(set(traffic.published) - set(seqs))
    for drop, missed in enumerate(traffic.while_away, 1):
        assert len(missed) >= 3
        assert [seq for seq in seqs if seq in missed] == missed, f"drop {drop}: not exactly once, in order"


def test_staff_join_needs_an_organizer_session_and_a_kiosk_is_refused(rt_server, rt_event, feeds):
    http = requests.Session()
    login_page = http.get(rt_server.url + "/login")
    http.post(rt_server.url + "/login", data={"email": ORGANIZER_EMAIL, "password": ORGANIZER_PASSWORD,
                                              "csrf_token": csrf_from(login_page.text)})
    cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
    # Same browser, same User-Agent: Flask-Login's strong session protection checks it on the handshake too.
    staff = feeds(headers={"Cookie": cookie, "User-Agent": http.headers["User-Agent"]})
    assert staff.join("staff", rt_event["slug"])["rooms"] == ["staff"]
    # A kiosk has no business in the staff room: it replays every check-in and matches of people who refused
    # the screen (security review, finding 3).
    kiosk = feeds()
    refused = kiosk.join("staff", rt_event["slug"], token=rt_event["kiosk_token"])
    assert refused["ok"] is False and refused["code"] == "not_staff"
    check_in(rt_server.app, rt_event["event_id"], rt_event["ana"])
    _, message = staff.wait_for(lambda t, p: t == "checkin")
    assert message["first_name"] == "Ana" and message["present"] == 1
    assert kiosk.wait_for(lambda t, p: t == "checkin", timeout=1) is None
    assert staff.join("screen", rt_event["slug"])["code"] == "not_paired"  # an organizer is not a screen


def test_an_attendee_joins_with_the_personal_token_or_the_phone_session(rt_server, rt_event, feeds):
    token = check_in(rt_server.app, rt_event["event_id"], rt_event["ana"])
    by_token = feeds()
    assert by_token.join("attendee", rt_event["slug"], token=token.lower())["rooms"] == [f"attendee:{rt_event['ana']}"]
    http = requests.Session()
    opened = http.get(f"{rt_server.url}/m/{token}", allow_redirects=False)
    assert opened.status_code == 302 and opened.headers["Location"] == "/me"
    phone = feeds(headers={"Cookie": f"session={http.cookies['session']}"})
    assert phone.join("attendee", rt_event["slug"])["rooms"] == [f"attendee:{rt_event['ana']}"]
    seq = publish_now(rt_server.app, rt_event["event_id"], "contact", f"attendee:{rt_event['ana']}", {"x": 1})
    assert phone.wait_for(lambda t, p: p["seq"] == seq) and by_token.wait_for(lambda t, p: p["seq"] == seq)
    # Someone else's room stays closed: Ben's messages do not reach Ana.
    publish_now(rt_server.app, rt_event["event_id"], "contact", f"attendee:{rt_event['ben']}", {"x": 2})
    last = publish_now(rt_server.app, rt_event["event_id"], "contact", f"attendee:{rt_event['ana']}", {"x": 3})
    phone.wait_for(lambda t, p: p["seq"] == last)
    # (her check-in, alone, also told her she will be paired in the next round: an `unmatched` message)
    assert [p["x"] for t, p in phone.raw if t == "contact"] == [1, 3]


def test_seqs_of_one_transaction_are_consecutive_and_last_seq_is_their_highest(rt_server, rt_event):
    from kiosk.db import db
    from kiosk.models import Event, EventLog
    from kiosk.realtime import publish
    from sqlalchemy import select
    app, event_id = rt_server.app, rt_event["event_id"]
    before = publish_now(app, event_id, "stats", "screen", {"n": 0})
    with app.app_context():
        s = db.session
        seqs = [publish(s, event_id, "match", "screen", {"i": i}) for i in range(4)]
        s.rollback()  # none of these happened
        seqs = [publish(s, event_id, "match", "screen", {"i": i}) for i in range(4)]
        s.commit()
        assert seqs == [before + 1, before + 2, before + 3, before + 4]
        assert s.get(Event, event_id).last_seq == before + 4
        logged = s.scalars(select(EventLog.seq).where(EventLog.seq > before).order_by(EventLog.seq)).all()
        assert logged == seqs
    assert publish_now(app, event_id, "stats", "screen", {"n": 1}) == before + 5


def test_an_event_loaded_in_the_session_sees_the_seqs_it_published(rt_server, rt_event):
    from kiosk.db import db
    from kiosk.models import Event
    from kiosk.realtime import publish
    app, event_id = rt_server.app, rt_event["event_id"]
    with app.app_context():
        s = db.session
        event = s.get(Event, event_id)  # loaded before the UPDATEs, which skip the ORM's synchronisation
        first = publish(s, event_id, "match", "screen", {"i": 0})
        assert event.last_seq == first
        publish(s, event_id, "match", "screen", {"i": 1})
        s.commit()
        assert event.last_seq == first + 1 and not s.dirty


def test_a_new_phone_code_ends_the_old_phone_session_and_its_socket(rt_server, rt_event, feeds):
    """Findings 1 and 6: a reissued personal token signs out every phone opened with the old one, pages and
    sockets alike."""
    from kiosk.attendees.service import issue_personal_token
    from kiosk.db import db
    from kiosk.models import Attendee
    from kiosk.realtime.sockets import revalidate
    app = rt_server.app
    token = check_in(app, rt_event["event_id"], rt_event["ana"])
    http = requests.Session()
    http.get(f"{rt_server.url}/m/{token}")
    assert http.get(f"{rt_server.url}/me").status_code == 200
    phone = feeds(headers={"Cookie": f"session={http.cookies['session']}"})
    assert phone.join("attendee", rt_event["slug"])["ok"]
    by_token = feeds()
    assert by_token.join("attendee", rt_event["slug"], token=token)["ok"]
    with app.app_context():
        issue_personal_token(db.session.get(Attendee, rt_event["ana"]))
        db.session.commit()
    assert http.get(f"{rt_server.url}/me").status_code == 401  # the page: signed out
    assert revalidate(app) == 2  # the sockets: disconnected (the periodic re-check does this within 10 s)
    for client in (phone, by_token):
        error = client.wait_error()
        assert error is not None and error["code"] == "session_ended"
    again = feeds(headers={"Cookie": f"session={http.cookies['session']}"})
    assert again.join("attendee", rt_event["slug"])["code"] == "not_attendee"


def test_unpairing_a_screen_disconnects_its_socket(rt_server, rt_event, feeds):
    from kiosk.db import db
    from kiosk.devices.service import revoke
    from kiosk.models import Device, DeviceKind
    from kiosk.realtime.sockets import revalidate
    from sqlalchemy import select
    app = rt_server.app
    screen = feeds()
    assert screen.join("screen", rt_event["slug"], token=rt_event["screen_token"])["ok"]
    assert revalidate(app) == 0  # still paired: nothing happens
    with app.app_context():
        revoke(db.session.scalars(select(Device).where(Device.kind == DeviceKind.screen)).one())
        db.session.commit()
    assert revalidate(app) == 1
    assert screen.wait_error()["code"] == "session_ended"
    assert feeds().join("screen", rt_event["slug"], token=rt_event["screen_token"])["code"] == "not_paired"


def test_joins_are_throttled_per_connection(rt_server, rt_event, feeds):
    from kiosk.realtime.sockets import MAX_JOINS_PER_MINUTE
    client = feeds()
    answers = [client.join("screen", rt_event["slug"], token=rt_event["screen_token"])
               for _ in range(MAX_JOINS_PER_MINUTE + 1)]
    assert all(a["ok"] for a in answers[:-1])
    assert answers[-1]["ok"] is False and answers[-1]["code"] == "too_many_joins"
