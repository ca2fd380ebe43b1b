"""Mailing attendee summaries through a real SMTP server on loopback (aiosmtpd): each attendee who came gets
one message with their PDF, across failures, resumed runs and refusals; never two."""
from __future__ import annotations

import email
import email.policy
import io
import socket
from collections import Counter

import pytest
from aiosmtpd.controller import Controller
from pypdf import PdfReader
from sqlalchemy import select

from kiosk.db import db
from kiosk.models import Contact, Match, MailStatus, ReportMailing, utcnow
from kiosk.reports.mail import SmtpSettings, send_summaries
from tests.factories import make_attendee, make_event

EVENT_NAME = "Café Connect 東京 🚀 Summit"
SENDER = "Give & Take Conf <hello@example.org>"


class Mailbox:
    """An aiosmtpd handler that keeps what it accepted, and can refuse a recipient, answer 451 or hang up."""

    def __init__(self):
        self.messages: list[tuple[list[str], bytes]] = []
        self.refuse: set[str] = set()
        self.accept_only: int | None = None  # then 451 to every further message
        self.hang_up_after: int | None = None  # then drop the connection once the message is in

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.hang_up_after is not None and len(self.messages) >= self.hang_up_after:
            server.transport.close()
            return "421 closing"
        if self.accept_only is not None and len(self.messages) >= self.accept_only:
            return "451 4.3.0 Local trouble, try again later"
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 Message accepted"

    def per_recipient(self) -> Counter:
        return Counter(r for rcpts, _ in self.messages for r in rcpts)

    def parsed(self) -> dict[str, email.message.EmailMessage]:
        return {rcpts[0]: email.message_from_bytes(raw, policy=email.policy.default) for rcpts, raw in self.messages}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def mailbox():
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=_free_port())
    controller.start()
    box.controller = controller
    yield box
    try:
        controller.stop()
    except AssertionError:  # a test stopped it already
        pass


def smtp_for(box: Mailbox, **changes) -> SmtpSettings:
    return SmtpSettings(**{"host": "127.0.0.1", "port": box.controller.port, "sender": SENDER, "security": "none",
                           "timeout": 5, **changes})


def configure(app, box: Mailbox) -> None:
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=box.controller.port, SMTP_FROM=SENDER, SMTP_SECURITY="none",
                      SMTP_TIMEOUT=5)


def make_people(app) -> dict:
    """An event with people in several scripts (and one trying header injection), some not to mail."""
    with app.app_context():
        session = db.session
        event = make_event(session, name=EVENT_NAME, public_url="https://conf.example.org")
        named = {
            "ana": make_attendee(session, event, first_name="Ana", last_name="García", email="ana@example.org",
                                 consent_share=["email", "company"], company="Studio Sol",
                                 offers=[{"text": "Brand design", "tags": ["Design"]}]),
            "layla": make_attendee(session, event, first_name="ليلى", last_name="حداد", email="layla@example.org",
                                   consent_share=["email"], offers=[{"text": "Seed funding", "tags": ["Funding"]}]),
            "misaki": make_attendee(session, event, first_name="美咲", last_name="佐藤", email="misaki@example.org"),
            "zoe": make_attendee(session, event, first_name="Zoë", last_name="🎉 Party", email="zoe@example.org"),
            "eve": make_attendee(session, event, first_name="Eve", last_name="Mallory", email="eve@example.org"),
            "nomail": make_attendee(session, event, first_name="Noah", last_name="Nomail", email=None),
            "erased": make_attendee(session, event, first_name="Gone", last_name="Away", email="gone@example.org"),
            "absent": make_attendee(session, event, first_name="Stayed", last_name="Home", email="home@example.org"),
        }
        # What the forms would never let in, as if written by some other tool: a line break and a header.
        named["eve"].first_name = "Eve\r\nBcc: evil@x"
        named["eve"].last_name = "Mallory\nX-Injected: yes"
        for key, person in named.items():
            if key != "absent":
                person.checked_in_at = utcnow()
        named["erased"].erased_at = utcnow()
        ana, layla, misaki = named["ana"], named["layla"], named["misaki"]
        session.add_all([Contact(event_id=event.id, from_id=ana.id, to_id=layla.id),
                         Contact(event_id=event.id, from_id=layla.id, to_id=ana.id, mutual=True),
                         Match(event_id=event.id, a_id=min(ana.id, misaki.id), b_id=max(ana.id, misaki.id),
                               score=0.8, direction="both")])
        session.commit()
        return {"event": event, **{k: p.id for k, p in named.items()}}


MAILED = ["ana", "layla", "misaki", "zoe", "eve"]


def _run(app, data, box, **options):
    with app.app_context():
        return send_summaries(app.extensions["givetake.db"], data["event"], smtp=smtp_for(box), **options)


def _rows(app, event) -> dict[int, ReportMailing]:
    with app.app_context():
        return {r.attendee_id: r for r in db.session.scalars(select(ReportMailing)
                                                             .where(ReportMailing.event_id == event.id))}


def _pdf_text(message) -> str:
    (part,) = list(message.iter_attachments())
    assert part.get_content_type() == "application/pdf"
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(part.get_content())).pages)


@pytest.mark.parametrize("url, shown", [
    ("https://conf.example.org", True), ("http://192.168.1.20:5000", False), ("http://127.0.0.1:5000", False),
    ("http://laptop.local:5000", False), (None, False), ("ftp://conf.example.org", False)])
def test_the_mail_links_the_event_only_where_people_can_open_it_from_home(url, shown):
    from kiosk.reports.mail import reachable_after_the_event
    assert (reachable_after_the_event(url) is not None) == shown


def test_each_attendee_who_came_gets_one_mail_with_their_summary(any_app, mailbox):
    data = make_people(any_app)
    run = _run(any_app, data, mailbox)
    assert (run.sent, run.skipped_no_email, run.skipped_erased, run.failed, run.unknown, run.stopped) == \
        (5, 1, 1, {}, [], None)
    assert run.total == 7 and run.finished
    assert mailbox.per_recipient() == Counter({f"{k}@example.org": 1 for k in MAILED})  # not evil@x, not gone@
    messages = mailbox.parsed()

    ana = messages["ana@example.org"]
    assert ana["Subject"] == f"Your summary of {EVENT_NAME}"
    assert str(ana["To"]) == "Ana García <ana@example.org>" and ana["From"].addresses[0].addr_spec == \
        "hello@example.org"
    body = ana.get_body(("plain",)).get_content()
    assert "Hello Ana," in body and "chose to share" in body and "https://conf.example.org" in body
    (part,) = list(ana.iter_attachments())
    assert part.get_filename() == f"{data['event'].slug}-summary-{data['ana']}.pdf"
    text = _pdf_text(ana)
    assert "Ana García" in text and f"#{data['ana']}" in text
    assert "layla@example.org" in text  # she shared her email: Ana met her by badge scan

    for key in MAILED:
        raw = next(raw for rcpts, raw in mailbox.messages if rcpts == [f"{key}@example.org"])
        headers = raw.split(b"\r\n\r\n", 1)[0]
        assert headers.isascii()  # every name and the event name travel as encoded words
        assert f"#{data[key]}" in _pdf_text(messages[f"{key}@example.org"])
    assert messages["layla@example.org"]["To"].addresses[0].display_name == "ليلى حداد"
    assert messages["misaki@example.org"]["To"].addresses[0].display_name == "美咲 佐藤"
    assert "Hello 美咲," in messages["misaki@example.org"].get_body(("plain",)).get_content()
    assert messages["zoe@example.org"]["To"].addresses[0].display_name == "Zoë 🎉 Party"

    eve = messages["eve@example.org"]
    assert eve["Bcc"] is None and eve["X-Injected"] is None
    assert eve["To"].addresses[0].display_name == "Eve Bcc: evil@x Mallory X-Injected: yes"
    assert [a.addr_spec for a in eve["To"].addresses] == ["eve@example.org"]

    rows = _rows(any_app, data["event"])
    assert {rows[data[k]].status for k in MAILED} == {MailStatus.sent} and len(rows) == 5
    assert rows[data["ana"]].message_id == ana["Message-ID"].strip() and rows[data["ana"]].sent_at is not None

    again = _run(any_app, data, mailbox)
    assert (again.sent, again.already_sent) == (0, 5) and len(mailbox.messages) == 5


def test_a_server_failing_midway_stops_the_run_and_the_next_run_sends_exactly_the_rest(any_app, mailbox):
    data = make_people(any_app)
    mailbox.accept_only = 2
    first = _run(any_app, data, mailbox)
    assert first.sent == 2 and len(first.failed) == 1 and first.left == 2 and not first.finished
    assert "451" in first.stopped and "451" in first.first_error
    rows = _rows(any_app, data["event"])
    assert Counter(r.status for r in rows.values()) == {MailStatus.sent: 2, MailStatus.failed: 1,
                                                        MailStatus.pending: 2}
    (failed_id,) = first.failed
    assert "451" in rows[failed_id].error and rows[failed_id].attempts == 1

    mailbox.accept_only = None
    second = _run(any_app, data, mailbox)
    assert (second.sent, second.already_sent, second.failed, second.stopped) == (3, 2, {}, None)
    assert mailbox.per_recipient() == Counter({f"{k}@example.org": 1 for k in MAILED})
    for address, message in mailbox.parsed().items():
        assert address.split("@")[0] in {"ana", "layla", "misaki", "zoe", "eve"}
        assert _pdf_text(message)  # every attachment opens
    assert {r.status for r in _rows(any_app, data["event"]).values()} == {MailStatus.sent}


def test_a_connection_lost_after_handing_over_a_message_is_unknown_not_resent(app, mailbox):
    data = make_people(app)
    mailbox.hang_up_after = 1
    first = _run(app, data, mailbox)
    assert first.sent == 1 and len(first.unknown) == 1 and "broke" in first.stopped
    (unknown_id,) = first.unknown
    row = _rows(app, data["event"])[unknown_id]
    assert row.status == MailStatus.sending and row.message_id in row.error

    mailbox.hang_up_after = None
    second = _run(app, data, mailbox)
    assert (second.sent, second.unknown) == (3, [unknown_id])
    assert sum(mailbox.per_recipient().values()) == 4
    third = _run(app, data, mailbox, retry_unknown=True)
    assert (third.sent, third.already_sent, third.unknown) == (1, 4, [])
    assert mailbox.per_recipient() == Counter({f"{k}@example.org": 1 for k in MAILED})


def test_a_row_left_sending_is_resent_only_with_retry_unknown(any_app, mailbox):
    data = make_people(any_app)
    with any_app.app_context():  # the process died after handing it over, before it could write `sent`
        db.session.add(ReportMailing(event_id=data["event"].id, attendee_id=data["zoe"], status=MailStatus.sending,
                                     attempts=1))
        db.session.commit()
    run = _run(any_app, data, mailbox)
    assert (run.sent, run.unknown) == (4, [data["zoe"]])
    assert "zoe@example.org" not in mailbox.per_recipient()
    retried = _run(any_app, data, mailbox, retry_unknown=True)
    assert (retried.sent, retried.already_sent) == (1, 4)
    assert mailbox.per_recipient()["zoe@example.org"] == 1
    assert _rows(any_app, data["event"])[data["zoe"]].attempts == 2


def test_a_refused_recipient_fails_alone_and_is_retried_next_time(any_app, mailbox):
    data = make_people(any_app)
    mailbox.refuse = {"misaki@example.org"}
    run = _run(any_app, data, mailbox)
    assert run.sent == 4 and list(run.failed) == [data["misaki"]] and run.stopped is None
    assert "550" in run.failed[data["misaki"]]
    assert _rows(any_app, data["event"])[data["misaki"]].status == MailStatus.failed
    mailbox.refuse = set()
    assert _run(any_app, data, mailbox).sent == 1
    assert mailbox.per_recipient() == Counter({f"{k}@example.org": 1 for k in MAILED})


def test_a_server_that_goes_away_stops_the_run_with_the_current_one_failed(app, mailbox):
    data = make_people(app)
    stopped = []

    def progress(done, total):
        if mailbox.per_recipient() and not stopped:  # after the first message went
            mailbox.controller.stop()
            stopped.append(done)

    run = _run(app, data, mailbox, progress=progress)
    assert run.sent == 1 and len(run.failed) == 1 and run.left == 3 and "cannot use the mail server" in run.stopped
    assert Counter(r.status for r in _rows(app, data["event"]).values()) == {
        MailStatus.sent: 1, MailStatus.failed: 1, MailStatus.pending: 3}


def test_starttls_against_a_server_without_it_sends_nothing_and_says_what_to_set(app, mailbox):
    data = make_people(app)
    with app.app_context():
        run = send_summaries(app.extensions["givetake.db"], data["event"], smtp=smtp_for(mailbox, security="starttls"))
    assert run.sent == 0 and "does not offer STARTTLS" in run.stopped and "GIVETAKE_SMTP_SECURITY" in run.stopped
    assert mailbox.messages == []


def test_the_command_needs_a_mail_server(app, runner):
    data = make_people(app)
    result = runner.invoke(args=["mail", "--event", data["event"].slug])
    assert result.exit_code != 0 and "GIVETAKE_SMTP_HOST" in result.output
    assert _rows(app, data["event"]) == {}


def test_the_command_dry_run_renders_and_sends_and_writes_nothing(app, runner, mailbox):
    data = make_people(app)
    configure(app, mailbox)
    result = runner.invoke(args=["mail", "--event", data["event"].slug, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "5 summaries would be sent" in result.output and "Skipped 2" in result.output
    assert mailbox.messages == [] and _rows(app, data["event"]) == {}


def test_the_command_sends_with_a_limit_and_says_how_to_resume(app, runner, mailbox):
    data = make_people(app)
    configure(app, mailbox)
    slug = data["event"].slug
    first = runner.invoke(args=["mail", "--event", slug, "--limit", "2"])
    assert first.exit_code == 0, first.output
    assert "Sent 2 summaries in this run" in first.output and "3 not tried yet (the limit)" in first.output
    assert f"givetake mail --event {slug}" in first.output
    rest = runner.invoke(args=["mail", "--event", slug])
    assert "Sent 3 summaries in this run" in rest.output and "2 had theirs already" in rest.output
    assert mailbox.per_recipient() == Counter({f"{k}@example.org": 1 for k in MAILED})


def test_the_event_page_shows_how_far_the_mailing_got(app, client, auth, mailbox):
    data = make_people(app)
    auth.login()
    page = client.get(f"/admin/events/{data['event'].slug}").get_data(as_text=True)
    assert "Attendee summaries by mail" in page and "No mail server is configured" in page
    configure(app, mailbox)
    mailbox.refuse = {"eve@example.org"}
    _run(app, data, mailbox)
    page = client.get(f"/admin/events/{data['event'].slug}").get_data(as_text=True)
    assert "4 sent" in page and "1 failed" in page and "givetake mail --event" in page
