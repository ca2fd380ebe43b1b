"""Mailing each attendee who came their summary PDF: resumable, and never the same attendee twice.

One row per attendee and event (models.ReportMailing) holds the outcome. Before the mail server hears of a
message its row is marked `sending` and committed; once the server accepted it, `sent` and committed. A run that
died in between (or lost the connection after handing over the message) leaves `sending`: the message may have
gone, so later runs report it as unknown and resend it only when asked (`retry_unknown`). A message the server
refused is `failed` and retried by the next run. Claims are compare-and-set on the status and attempt count read
at the start, so two runs at once do not both send one summary.

The PDFs come from kiosk.reports.service/render, with the event's people, matches and contacts loaded once.
"""
from __future__ import annotations

import ipaddress
import re
import smtplib
import ssl
from collections import defaultdict
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Callable
from urllib.parse import urlsplit

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, selectinload

from ..models import Attendee, Contact, Event, MailStatus, Match, ReportMailing, utcnow
from .render import attendee_pdf
from .service import attendee_summary

#: A server that refuses this many messages in a row refuses them all (a policy, a quota): stop asking.
MAX_FAILURES_IN_A_ROW = 10


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to hand over mail (from GIVETAKE_SMTP_*, kiosk.config.smtp_settings)."""

    host: str
    sender: str
    port: int = 587
    user: str | None = None
    password: str | None = None
    #: starttls, ssl or none.
    security: str = "starttls"
    timeout: float = 30

    @classmethod
    def from_config(cls, config) -> SmtpSettings | None:
        """The app's SMTP_* settings, or None when no mail server is configured."""
        if not config.get("SMTP_HOST"):
            return None
        return cls(host=config["SMTP_HOST"], sender=config["SMTP_FROM"], port=config["SMTP_PORT"],
                   user=config.get("SMTP_USER"), password=config.get("SMTP_PASSWORD"),
                   security=config.get("SMTP_SECURITY", "starttls"), timeout=config.get("SMTP_TIMEOUT", 30))


@dataclass
class MailRun:
    """What one run did, attendee by attendee (ids), for the summary at the end."""

    event: str
    dry_run: bool = False
    #: Attendees who came (checked in), erased ones included: everyone a summary is for.
    total: int = 0
    #: Accepted by the mail server in this run (in a dry run: would have been sent).
    sent: int = 0
    already_sent: int = 0
    skipped_erased: int = 0
    #: No email address, or none mail can be sent to.
    skipped_no_email: int = 0
    #: Still `sending`: may or may not have gone (not resent without `retry_unknown`).
    unknown: list[int] = field(default_factory=list)
    #: Refused this run, with the reason (the next run retries them).
    failed: dict[int, str] = field(default_factory=dict)
    #: Not tried: the limit was reached or the run stopped.
    left: int = 0
    #: Claimed by another run at the same time.
    busy: int = 0
    #: Why the run stopped before the end (the mail server is gone, refused the login...), else None.
    stopped: str | None = None
    #: The first thing that went wrong, as the server or the network said it.
    first_error: str | None = None

    @property
    def skipped(self) -> int:
        return self.skipped_erased + self.skipped_no_email

    @property
    def finished(self) -> bool:
        """Everyone who can get a summary has it."""
        return not (self.failed or self.unknown or self.left or self.busy or self.stopped)

    def _fail(self, attendee_id: int, reason: str) -> None:
        self.failed[attendee_id] = reason
        self.first_error = self.first_error or reason


class MailServerError(Exception):
    """The mail server cannot be used (unreachable, no TLS, login or sender refused): the run stops."""


class _NotSent(Exception):
    """The server said no to this message: it did not go."""

    def __init__(self, code: int, reply, stage: str):
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        super().__init__(f"{code} {text}".strip())
        self.code, self.stage = code, stage

    @property
    def permanent(self) -> bool:
        return self.code >= 500


class _Dropped(Exception):
    """The connection broke; `maybe_sent` once the whole message had been handed over."""

    def __init__(self, reason: str, maybe_sent: bool):
        super().__init__(reason)
        self.maybe_sent = maybe_sent


class _Connection:
    """The run's one SMTP connection, opened when the first message is ready."""

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def open(self) -> None:
        s = self.settings
        self.close()
        where = f"{s.host}:{s.port}"
        try:
            if s.security == "ssl":
                smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            smtp.ehlo()
            if s.security == "starttls":
                if not smtp.has_extn("starttls"):
                    smtp.close()
                    raise MailServerError(f"the mail server {where} does not offer STARTTLS: for TLS from the start "
                                          "(port 465) set GIVETAKE_SMTP_SECURITY=ssl; `none` only for a relay on "
                                          "127.0.0.1")
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if s.user:
                smtp.login(s.user, s.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise MailServerError(f"the mail server {where} refused the login of {s.user!r}: "
                                  f"{_NotSent(exc.smtp_code, exc.smtp_error, 'login')}") from None
        except (OSError, smtplib.SMTPException) as exc:  # refused, timed out, TLS failed, no AUTH...
            raise MailServerError(f"cannot use the mail server {where}: {exc or type(exc).__name__}") from None
        self.smtp = smtp

    def reset(self) -> None:
        try:
            self.smtp.rset()
        except OSError:
            pass

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except OSError:
                self.smtp.close()
            self.smtp = None

    def transmit(self, envelope_from: str, recipient: str, payload: bytes) -> None:
        """Hand one message over: returns once the server accepted it; _NotSent or _Dropped otherwise."""
        smtp = self.smtp
        try:
            code, reply = smtp.mail(envelope_from)
            if code != 250:
                raise _NotSent(code, reply, "sender")
            code, reply = smtp.rcpt(recipient)
            if code not in (250, 251):
                raise _NotSent(code, reply, "recipient")
            code, reply = smtp.docmd("DATA")
            if code != 354:
                raise _NotSent(code, reply, "data")
        except OSError as exc:  # nothing of the message went: safe to try again
            raise _Dropped(str(exc) or type(exc).__name__, maybe_sent=False) from None
        # From here the server may take the message without us hearing its answer (smtplib.SMTP.data, in steps).
        data = re.sub(rb"(?m)^\.", b"..", payload)
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        try:
            smtp.send(data + b".\r\n")
            code, reply = smtp.getreply()
        except OSError as exc:
            raise _Dropped(str(exc) or type(exc).__name__, maybe_sent=True) from None
        if code != 250:
            raise _NotSent(code, reply, "data")


def _one_line(text: str | None) -> str:
    """Text for a header or a greeting: no line breaks or control characters, whitespace collapsed."""
    return " ".join("".join(" " if ord(c) < 32 or 0x7f <= ord(c) < 0xa0 else c for c in text or "").split())


def mail_address(raw: str | None) -> str | None:
    """The address to send to (its domain in IDNA), or None when mail cannot be sent to it."""
    address = (raw or "").strip()
    if not address or any(c.isspace() or ord(c) < 32 for c in address) or address.count("@") != 1:
        return None
    local, domain = address.split("@")
    if not local or not domain or not local.isascii() or any(c in local for c in '<>(),;:"[]\\'):
        return None  # a non-ASCII mailbox needs SMTPUTF8, which this sender does not speak
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    return f"{local}@{domain}"


def reachable_after_the_event(url: str | None) -> str | None:
    """The event's public URL, if people can still open it from home (not the venue network's or laptop's)."""
    url = _one_line(url)
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host or host == "localhost" or "." not in host \
            or host.endswith((".local", ".lan", ".internal", ".home.arpa")):
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return url
    return None if address.is_private or address.is_loopback or address.is_link_local else url


def attachment_name(event: Event, attendee: Attendee) -> str:
    """The summary's file name in the mail: `<event-slug>-summary-<badge#>.pdf`."""
    return f"{event.slug}-summary-{attendee.id}.pdf"


def summary_message(event: Event, attendee: Attendee, address: str, pdf: bytes, *, sender: str,
                    message_id: str) -> EmailMessage:
    """The mail: a short note to the attendee with their summary PDF attached."""
    name = _one_line(event.name)
    first = _one_line(attendee.first_name) or _one_line(attendee.full_name)
    lines = [f"Hello {first}," if first else "Hello,", "",
             f"thank you for coming to {name}. Attached is your summary as a PDF: your offer and need cards, the "
             "people you swapped contacts with, the matches you have not met yet, and what you gave.", "",
             "The contact details in it are what each person chose to share when their badge was scanned.", ""]
    link = reachable_after_the_event(event.public_url)
    if link:
        lines += [f"The event: {link}", ""]
    lines += ["Thank you, and see you next time!", f"{name}"]
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["Subject"] = f"Your summary of {name}"
    msg["From"] = sender
    local, domain = address.split("@")
    msg["To"] = Address(display_name=_one_line(attendee.full_name), username=local, domain=domain)
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"  # no vacation replies to the organizer's sender
    body = "\n".join(lines)
    # Quoted-printable, not 8bit: no server needs 8BITMIME for it.
    msg.set_content(body, cte=None if body.isascii() else "quoted-printable")
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=attachment_name(event, attendee))
    return msg


def mailing_counts(session: Session, event: Event) -> dict[str, int]:
    """How many summaries of this event are in each state (pending, sending, sent, failed)."""
    counts = dict(session.execute(select(ReportMailing.status, func.count(ReportMailing.id))
                                  .where(ReportMailing.event_id == event.id).group_by(ReportMailing.status)).all())
    return {status.value: counts.get(status, 0) for status in MailStatus}


def _insert(session: Session):
    return (pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)(ReportMailing)


def _statuses(session: Session, event_id: int) -> dict[int, tuple[MailStatus, int]]:
    rows = session.execute(select(ReportMailing.attendee_id, ReportMailing.status, ReportMailing.attempts)
                           .where(ReportMailing.event_id == event_id))
    return {attendee_id: (status, attempts) for attendee_id, status, attempts in rows}


def send_summaries(database, event: Event, *, smtp: SmtpSettings | None,
                   progress: Callable[[int, int], None] | None = None, retry_unknown: bool = False,
                   limit: int | None = None, dry_run: bool = False) -> MailRun:
    """Mail each attendee who came their summary PDF, once; returns what happened.

    `database` is a kiosk.db.Database or a session factory; the run commits every attendee's state on its own
    sessions. `progress(done, total)` is called after each attendee. `limit` caps the messages tried in this run.
    A dry run renders every message that would go and counts it, but connects to nothing and writes nothing.
    """
    sessions = getattr(database, "Session", database)
    run = MailRun(event=event.slug, dry_run=dry_run)
    if smtp is None and not dry_run:
        raise MailServerError("no mail server is configured: set GIVETAKE_SMTP_HOST and GIVETAKE_SMTP_FROM")
    with sessions() as data, sessions() as state:
        event = data.get(Event, event.id)
        people = {p.id: p for p in data.scalars(select(Attendee).where(Attendee.event_id == event.id)
                                                .options(selectinload(Attendee.cards)))}
        matches, contacts = defaultdict(list), defaultdict(list)
        for m in data.scalars(select(Match).where(Match.event_id == event.id)):
            matches[m.a_id].append(m)
            matches[m.b_id].append(m)
        for c in data.scalars(select(Contact).where(Contact.event_id == event.id)):
            contacts[c.from_id].append(c)
            contacts[c.to_id].append(c)
        came = sorted((p for p in people.values() if p.checked_in_at is not None), key=lambda p: p.id)
        run.total = len(came)
        addresses = {p.id: mail_address(p.email) for p in came if p.erased_at is None}
        if not dry_run:
            to_mail = [i for i, a in addresses.items() if a]
            for start in range(0, len(to_mail), 500):  # `pending` rows first: the admin page shows what is to go
                state.execute(_insert(state).values([{"event_id": event.id, "attendee_id": i,
                                                      "status": MailStatus.pending, "attempts": 0, "error": "",
                                                      "updated_at": utcnow()} for i in to_mail[start:start + 500]])
                              .on_conflict_do_nothing(index_elements=["event_id", "attendee_id"]))
            state.commit()
        seen = _statuses(state, event.id)
        state.commit()

        sender = parseaddr(smtp.sender)[1] if smtp else "givetake@localhost"
        domain = sender.rpartition("@")[2] or "localhost"
        connection = _Connection(smtp) if not dry_run else None
        tried = failures_in_a_row = 0
        try:
            for done, person in enumerate(came, 1):
                address = addresses.get(person.id)
                status, attempts = seen.get(person.id, (MailStatus.pending, 0))
                if person.erased_at is not None:
                    run.skipped_erased += 1
                elif address is None:
                    run.skipped_no_email += 1
                elif status == MailStatus.sent:
                    run.already_sent += 1
                elif status == MailStatus.sending and not retry_unknown:
                    run.unknown.append(person.id)
                elif run.stopped or (limit is not None and tried >= limit):
                    run.left += 1
                else:
                    tried += 1
                    outcome = _mail_one(run, state, connection, event, person, address, status, attempts,
                                        sender=smtp.sender if smtp else sender, envelope_from=sender,
                                        domain=domain, summary=lambda p=person: attendee_pdf(attendee_summary(
                                            data, p, people=people, matches=matches[p.id],
                                            contacts=contacts[p.id])))
                    failures_in_a_row = failures_in_a_row + 1 if outcome == "failed" else 0
                    if failures_in_a_row >= MAX_FAILURES_IN_A_ROW and not run.stopped:
                        run.stopped = (f"the mail server refused {failures_in_a_row} messages in a row (the last: "
                                       f"{run.failed[person.id]})")
                if progress:
                    progress(done, run.total)
        finally:
            if connection is not None:
                connection.close()
    return run


def _mail_one(run: MailRun, state: Session, connection: _Connection | None, event: Event, person: Attendee,
              address: str, status: MailStatus, attempts: int, *, sender: str, envelope_from: str, domain: str,
              summary: Callable[[], bytes]) -> str:
    """Render, claim, send and record one attendee's summary; returns sent, failed, unknown, busy or dry."""
    row = (ReportMailing.event_id == event.id) & (ReportMailing.attendee_id == person.id)

    def record(new: MailStatus, **values) -> None:
        state.execute(update(ReportMailing).where(row, ReportMailing.status == MailStatus.sending)
                      .values(status=new, updated_at=utcnow(), **values))
        state.commit()

    message_id = make_msgid(idstring=f"givetake.{event.slug}.{person.id}", domain=domain)
    try:
        message = summary_message(event, person, address, summary(), sender=sender, message_id=message_id)
        payload = message.as_bytes()
    except Exception as exc:  # one summary that cannot be drawn or written must not stop everyone else's
        reason = f"could not make the message: {exc!r}"
        if connection is not None:
            state.execute(update(ReportMailing).where(row, ReportMailing.status == status)
                          .values(status=MailStatus.failed, error=reason, updated_at=utcnow()))
            state.commit()
        run._fail(person.id, reason)
        return "failed"
    if connection is None:
        run.sent += 1
        return "dry"

    # Claim it: only if nobody changed the row since the start of this run (another run at the same time).
    claimed = state.execute(update(ReportMailing)
                            .where(row, ReportMailing.status == status, ReportMailing.attempts == attempts)
                            .values(status=MailStatus.sending, attempts=attempts + 1, error="",
                                    message_id=message_id, updated_at=utcnow())).rowcount
    state.commit()
    if not claimed:
        run.busy += 1
        return "busy"

    retried = False
    while True:
        try:
            if connection.smtp is None:  # a connection the server dropped while idle fails below, unsent
                connection.open()
            connection.transmit(envelope_from, address, payload)
            break
        except MailServerError as exc:  # nothing of this message went
            record(MailStatus.failed, error=str(exc))
            run._fail(person.id, str(exc))
            run.stopped = str(exc)
            return "failed"
        except _NotSent as exc:
            connection.reset()
            if exc.permanent and exc.stage != "sender":  # this recipient or this message: the others may go
                record(MailStatus.failed, error=str(exc))
                run._fail(person.id, str(exc))
                return "failed"
            if not exc.permanent and not retried:  # 421/451...: the server's trouble; once more, afresh
                retried = True
                connection.close()
                continue
            why = f"the mail server refused {'our sender' if exc.stage == 'sender' else 'the message'}: {exc}"
            record(MailStatus.failed, error=str(exc))
            run._fail(person.id, str(exc))
            run.stopped = why
            return "failed"
        except _Dropped as exc:
            connection.close()
            if exc.maybe_sent:  # the server may have taken it: leave it `sending`, for a person to decide
                reason = (f"the connection broke after the message was handed over ({exc}); it may or may not "
                          f"have arrived (Message-ID {message_id})")
                state.execute(update(ReportMailing).where(row).values(error=reason, updated_at=utcnow()))
                state.commit()
                run.unknown.append(person.id)
                run.first_error = run.first_error or reason
                run.stopped = f"the connection to the mail server broke: {exc}"
                return "unknown"
            if retried:
                record(MailStatus.failed, error=str(exc))
                run._fail(person.id, str(exc))
                run.stopped = f"the connection to the mail server broke twice: {exc}"
                return "failed"
            retried = True
    record(MailStatus.sent, sent_at=utcnow(), error="")
    run.sent += 1
    return "sent"
