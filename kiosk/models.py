"""The data model of DESIGN.md: events, attendees and their cards, matches, rounds, contacts, devices, logs.

Invariants live in the database where it can hold them: unique tokens, one check-in per attendee (a column set
by compare-and-set), pairs stored with a < b, a per-event monotonic seq for the event log.
"""
from __future__ import annotations

import enum
from datetime import datetime, timezone

from flask_login import UserMixin
from sqlalchemy import (JSON, Boolean, CheckConstraint, DateTime, Enum, Float, ForeignKey, Index, Integer, and_, func,
                        LargeBinary, String, Text, TypeDecorator, UniqueConstraint, select)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import Base
from .tokens import new_token


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (stored as such on both databases)."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(timezone.utc)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


def _ts(nullable: bool = True, **kwargs) -> Mapped:
    return mapped_column(UTCDateTime(), nullable=nullable, **kwargs)


class CardKind(str, enum.Enum):
    """What a card says: what someone can give, or what they are looking for."""

    offer = "offer"
    need = "need"


class MatchStatus(str, enum.Enum):
    """Where a suggested pair stands."""

    suggested = "suggested"
    accepted = "accepted"
    declined = "declined"
    met = "met"


class MatchSource(str, enum.Enum):
    """Whether the matcher suggested a pair live on check-in or paired it in a round."""

    live = "live"
    round = "round"


class DeviceKind(str, enum.Enum):
    """What a paired device is allowed to do."""

    kiosk = "kiosk"
    screen = "screen"
    scanner = "scanner"
    printer = "printer"


class LeadRating(str, enum.Enum):
    """How promising a sponsor's booth staff found a lead."""

    hot = "hot"
    warm = "warm"
    cold = "cold"


class PrintStatus(str, enum.Enum):
    """A badge print job's life: queued here, sent to CUPS, done by CUPS, or failed with a reason."""

    queued = "queued"
    sent = "sent"
    done = "done"
    failed = "failed"


class MailStatus(str, enum.Enum):
    """An attendee's summary mail: to send, handed to the mail server right now (or when a run died: unknown),
    accepted by the server, or refused with a reason (retried by the next run)."""

    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"


def _enum(cls: type[enum.Enum]) -> Enum:
    # Stored as plain strings with a CHECK, so SQLite and PostgreSQL migrate the same way.
    return Enum(cls, native_enum=False, length=16, validate_strings=True,
                values_callable=lambda e: [m.value for m in e], create_constraint=True,
                name=cls.__name__.lower())


class Organizer(UserMixin, Base):
    """Someone who runs events: logs in to admin."""

    __tablename__ = "organizers"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Login, stored lower-case.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    #: Argon2id hash (see kiosk.auth.passwords).
    password_hash: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = _ts(nullable=False, default=utcnow)
    last_login_at: Mapped[datetime | None] = _ts()


class Event(Base):
    """A conference or meetup: its settings, its tags and its attendees."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Short name in URLs (/screen/<slug>), lower-case letters, digits and dashes.
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime | None] = _ts()
    ends_at: Mapped[datetime | None] = _ts()
    #: IANA zone name, for showing times at the venue.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    venue: Mapped[str] = mapped_column(String(200), default="")
    #: Base URL printed in badge QR codes; falls back to the app's GIVETAKE_PUBLIC_URL.
    public_url: Mapped[str | None] = mapped_column(String(300))
    #: Badge layout preset name (kiosk.badges.layouts).
    badge_layout: Mapped[str] = mapped_column(String(32), default="label-4x3")
    #: Badge look: band colours per ticket type, accent, which fields show (JSON).
    badge_style: Mapped[dict] = mapped_column(JSON, default=dict)
    #: Length of a networking round in minutes.
    round_minutes: Mapped[int] = mapped_column(Integer, default=10)
    #: Named spots or numbered tables handed out to round pairs, in order.
    meeting_points: Mapped[list] = mapped_column(JSON, default=list)
    #: Matcher knobs: capacity per person per window, window seconds, exclude same company, k, and the group rule
    #: ("group_rule": "any", "across" or "within": who of the event's groups may meet whom).
    match_settings: Mapped[dict] = mapped_column(JSON, default=dict)
    #: Days after the event ends (or starts, or was created, whichever is known) that its contacts and leads are
    #: kept; `givetake purge` deletes them after that.
    retention_days: Mapped[int] = mapped_column(Integer, default=60, server_default="60")
    #: Last seq handed out for this event's EventLog (incremented atomically).
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = _ts(nullable=False, default=utcnow)

    tags: Mapped[list[Tag]] = relationship(back_populates="event", cascade="all, delete-orphan",
                                           order_by="Tag.label")
    attendees: Mapped[list[Attendee]] = relationship(back_populates="event", cascade="all, delete-orphan")
    groups: Mapped[list[AttendeeGroup]] = relationship(back_populates="event", cascade="all, delete-orphan",
                                                       order_by="AttendeeGroup.position")


class AttendeeGroup(Base):
    """One of an event's groups of people (mentors, mentees, investors, founders...), set by the organizer.

    Whether people of different groups may meet is the event's group rule (Event.match_settings["group_rule"]);
    the kiosk never asks anyone which group they are in.
    """

    __tablename__ = "attendee_groups"
    __table_args__ = (UniqueConstraint("event_id", "label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(60))
    #: Order in the organizer's list.
    position: Mapped[int] = mapped_column(Integer, default=0)

    event: Mapped[Event] = relationship(back_populates="groups")


class Tag(Base):
    """One label of the organizer's taxonomy, chosen on offer and need cards."""

    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("event_id", "label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(60))

    event: Mapped[Event] = relationship(back_populates="tags")


class Attendee(Base):
    """A person at an event: who they are, their consents, their tokens and whether they are here."""

    __tablename__ = "attendees"
    __table_args__ = (
        UniqueConstraint("event_id", "ticket_ref"),
        Index("ix_attendees_event_email", "event_id", "email"),
        Index("ix_attendees_event_search", "event_id", "search_name"),
        # "How many are here" (`present`) is counted on every check-in and stats snapshot: a covering range, not
        # a row per attendee (0.27 -> 0.08 ms at 3,200 attendees, 2.2 -> 0.5 ms at 20,000).
        Index("ix_attendees_event_present", "event_id", "checked_in_at", "erased_at"),
        # A scanned ticket QR is looked up by its secret; unique per event when set (NULLs never collide).
        Index("ix_attendees_event_ticket_secret", "event_id", "ticket_secret", unique=True),
        # A pre-event link is looked up by the hash of its token.
        Index("ix_attendees_prepare_token_hash", "prepare_token_hash", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100), default="")
    #: Case- and accent-folded "first last" for prefix lookup at the kiosk.
    search_name: Mapped[str] = mapped_column(String(210), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    #: A web address they may share on a scan: a homepage, a LinkedIn or Mastodon profile (http(s) only).
    website: Mapped[str | None] = mapped_column(String(300))
    company: Mapped[str] = mapped_column(String(200), default="")
    title: Mapped[str] = mapped_column(String(200), default="")
    pronouns: Mapped[str] = mapped_column(String(40), default="")
    #: The ticketing system's id (Eventbrite attendee #, pretix order-position); re-imports match on it.
    ticket_ref: Mapped[str | None] = mapped_column(String(100))
    ticket_type: Mapped[str] = mapped_column(String(100), default="")
    #: What the attendee's own ticket QR holds (pretix's ticket secret), so scanning it at a kiosk finds them.
    #: Private like a password: in no lookup, API answer or export; cleared on erasure.
    ticket_secret: Mapped[str | None] = mapped_column(String(200))
    #: How they came in: import, walk-in at a kiosk, or added in admin.
    source: Mapped[str] = mapped_column(String(16), default="import")
    #: Their AttendeeGroup, set by the organizer (form or CSV import); NULL: in no group, may meet anyone. No
    #: foreign key (see migration 0007): removing a group clears it here (kiosk.events.service.set_groups).
    group_id: Mapped[int | None] = mapped_column(Integer)
    #: Consent to appear (first name, what they offer) on the live screen.
    consent_screen: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Contact fields they agree to share when someone scans them (subset of email, phone, website, company,
    #: title).
    consent_share: Mapped[list] = mapped_column(JSON, default=list)
    #: When they last chose those consents themselves (kiosk, phone, pre-event page). The kiosk shows the stored
    #: choices as chosen only then: what an organizer set in admin is never shown to them as their own choice.
    consent_chosen_at: Mapped[datetime | None] = _ts()
    #: Set once, by compare-and-set (kiosk.checkin.service); NULL means not here yet.
    checked_in_at: Mapped[datetime | None] = _ts()
    checked_in_by: Mapped[int | None] = mapped_column(ForeignKey("devices.id", ondelete="SET NULL"))
    #: Printed in the badge QR; public; rotated on reprint (the old one stops working).
    badge_token: Mapped[str] = mapped_column(String(32), unique=True, default=new_token)
    #: SHA-256 of the private token that opens the phone page; the token itself is shown once.
    personal_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: Random salt the pre-event link's token is derived from with the app's secret key (kiosk.prepare.service),
    #: so admin can copy the link again while the database alone opens nothing; NULL: none issued, or revoked.
    prepare_nonce: Mapped[str | None] = mapped_column(String(32))
    #: SHA-256 of the pre-event link's token (what a visit is looked up by).
    prepare_token_hash: Mapped[str | None] = mapped_column(String(64))
    #: Set when personal data was erased on request; the row stays for aggregate counts.
    erased_at: Mapped[datetime | None] = _ts()
    created_at: Mapped[datetime] = _ts(nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = _ts(nullable=False, default=utcnow, onupdate=utcnow)

    event: Mapped[Event] = relationship(back_populates="attendees")
    cards: Mapped[list[Card]] = relationship(back_populates="attendee", cascade="all, delete-orphan",
                                             order_by="(Card.kind, Card.position)")

    @property
    def full_name(self) -> str:
        """First and last name as the person wrote them."""
        return " ".join(p for p in (self.first_name, self.last_name) if p)

    def cards_of(self, kind: CardKind) -> list[Card]:
        """This attendee's offer or need cards, in order."""
        return [c for c in self.cards if c.kind == kind]


def present(event_id: int):
    """Who is "present" at an event: checked in and not erased. The one definition, for counts, matching, rounds.

    (An erased attendee keeps their check-in time, so attendance figures still add up; they are not present.)
    """
    return and_(Attendee.event_id == event_id, Attendee.checked_in_at.is_not(None), Attendee.erased_at.is_(None))


def present_count(session, event_id: int) -> int:
    """How many people are present at an event."""
    return session.scalar(select(func.count(Attendee.id)).where(present(event_id))) or 0


class RevokedBadgeToken(Base):
    """A badge token replaced by a reprint: scanning it says "this badge was replaced"."""

    __tablename__ = "revoked_badge_tokens"

    token: Mapped[str] = mapped_column(String(32), primary_key=True)
    attendee_id: Mapped[int] = mapped_column(ForeignKey("attendees.id", ondelete="CASCADE"), index=True)
    revoked_at: Mapped[datetime] = _ts(nullable=False, default=utcnow)


class Card(Base):
    """One "I can offer" or "I'm looking for" item: free text plus tags, with its cached embedding."""

    __tablename__ = "cards"
    __table_args__ = (UniqueConstraint("attendee_id", "kind", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attendee_id: Mapped[int] = mapped_column(ForeignKey("attendees.id", ondelete="CASCADE"), index=True)
    kind: Mapped[CardKind] = mapped_column(_enum(CardKind))
    text: Mapped[str] = mapped_column(Text, default="")
    #: Tag labels from the event's taxonomy (kept as labels so a renamed tag does not rewrite history).
    tags: Mapped[list] = mapped_column(JSON, default=list)
    #: Order on the card (0 is the top item, printed on the badge).
    position: Mapped[int] = mapped_column(Integer, default=0)
    #: float32 vector of the semantic encoder, cached so a restart does not re-encode everyone.
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: Which model made `embedding`; a different model means re-encode.
    embedding_model: Mapped[str | None] = mapped_column(String(100))

    attendee: Mapped[Attendee] = relationship(back_populates="cards")


class Round(Base):
    """A networking round: everyone present paired at once, each pair with a meeting point."""

    __tablename__ = "rounds"
    __table_args__ = (UniqueConstraint("event_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime] = _ts(nullable=False, default=utcnow)
    ends_at: Mapped[datetime | None] = _ts()
    #: [{"ids": [a, b] or [a, b, c], "meeting_point": "Table 4"}, ...]
    pairs: Mapped[list] = mapped_column(JSON, default=list)
    meeting_points: Mapped[list] = mapped_column(JSON, default=list)


class Match(Base):
    """Two attendees the matcher thinks should meet, why, and what became of it."""

    __tablename__ = "matches"
    __table_args__ = (
        CheckConstraint("a_id < b_id", name="ordered_pair"),
        UniqueConstraint("event_id", "a_id", "b_id"),
        Index("ix_matches_b", "b_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    a_id: Mapped[int] = mapped_column(ForeignKey("attendees.id", ondelete="CASCADE"))
    b_id: Mapped[int] = mapped_column(ForeignKey("attendees.id", ondelete="CASCADE"))
    #: Reciprocal score in [0, 1].
    score: Mapped[float] = mapped_column(Float)
    #: "a->b", "b->a" or "both": who can give to whom.
    direction: Mapped[str] = mapped_column(String(8))
    #: [{"giver", "taker", "offer", "need", "tags", "score"}...] from the matcher.
    reasons: Mapped[list] = mapped_column(JSON, default=list)
    #: A conversation starter built from the reasons.
    starter: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[MatchSource] = mapped_column(_enum(MatchSource), default=MatchSource.live)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id", ondelete="SET NULL"))
    status: Mapped[MatchStatus] = mapped_column(_enum(MatchStatus), default=MatchStatus.suggested)
    created_at: Mapped[datetime] = _ts(nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = _ts(nullable=False, default=utcnow, onupdate=utcnow)

    a: Mapped[Attendee] = relationship(foreign_keys=[a_id])
    b: Mapped[Attendee] = relationship(foreign_keys=[b_id])


class Contact(Base):
    """A badge scan: `from` scanned `to`'s badge and holds their card, with what `to` consented to share.

    Both directions make it mutual (the scanned person scanned back or tapped "connect back"); each side's note
    and follow-up flag are on the row they own (the one `from` them).
    """

    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("event_id", "from_id", "to_id"),
        CheckConstraint("from_id <> to_id", name="not_self"),
        Index("ix_contacts_to", "to_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    from_id: Mapped[int] = mapped_column(ForeignKey("attendees.id", ondelete="CASCADE"))
    to_id: Mapped[int] = mapped_column(ForeignKey("attendees.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = _ts(nullable=False, default=utcnow)
    #: The scanner's private note about this person.
    note: Mapped[str] = mapped_column(Text, default="")
    #: The scanner wants to follow up after the event.
    follow_up: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    #: True once the other person scanned back or accepted (set on both rows).
    mutual: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Client nonce of the scan, so a re-sent scan is idempotent.
    nonce: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime | None] = _ts(onupdate=utcnow)


class Sponsor(Base):
    """A sponsor or exhibitor whose booth staff scan badges as leads (with scanner devices paired to it)."""

    __tablename__ = "sponsors"
    __table_args__ = (UniqueConstraint("event_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    #: Qualifier questions the booth staff answer per lead ("Budget this year?"), in order.
    questions: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = _ts(nullable=False, default=utcnow)


class Lead(Base):
    """A sponsor's scan of an attendee's badge: the attendee's shared fields, and the booth's rating and notes."""

    __tablename__ = "leads"
    __table_args__ = (UniqueConstraint("sponsor_id", "attendee_id"), Index("ix_leads_attendee", "attendee_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("sponsors.id", ondelete="CASCADE"), index=True)
    attendee_id: Mapped[int] = mapped_column(ForeignKey("attendees.id", ondelete="CASCADE"))
    #: The scanner device that captured it (kept if the device is removed later).
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id", ondelete="SET NULL"))
    rating: Mapped[LeadRating | None] = mapped_column(_enum(LeadRating))
    note: Mapped[str] = mapped_column(Text, default="")
    #: {question: answer} for the sponsor's qualifier questions.
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    nonce: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = _ts(nullable=False, default=utcnow)
    updated_at: Mapped[datetime | None] = _ts(onupdate=utcnow)


class Device(Base):
    """A paired kiosk tablet, screen, scanner or printer station; authenticates with a bearer token."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    kind: Mapped[DeviceKind] = mapped_column(_enum(DeviceKind))
    name: Mapped[str] = mapped_column(String(100), default="")
    #: SHA-256 of the device token (kiosk.tokens.hash_token); the token is shown once, at pairing.
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: Short code typed on the device to pair it, and when it stops working.
    pairing_code: Mapped[str | None] = mapped_column(String(12), unique=True)
    pairing_expires_at: Mapped[datetime | None] = _ts()
    #: For a scanner: the sponsor (or the organizer's own team, as a sponsor) whose leads it collects. No foreign
    #: key (see migration 0005): kiosk.scanning.leads removes a sponsor's scanners with it.
    sponsor_id: Mapped[int | None] = mapped_column(Integer)
    #: CUPS queues for this kiosk's badges, in failover order.
    printers: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = _ts(nullable=False, default=utcnow)
    last_seen_at: Mapped[datetime | None] = _ts()
    revoked_at: Mapped[datetime | None] = _ts()


class PrintJob(Base):
    """One badge sent (or to be sent) to a printer, with its outcome."""

    __tablename__ = "print_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    attendee_id: Mapped[int | None] = mapped_column(ForeignKey("attendees.id", ondelete="CASCADE"), index=True)
    #: Layout preset used.
    format: Mapped[str] = mapped_column(String(32))
    printer: Mapped[str | None] = mapped_column(String(127))
    #: CUPS job id ("Queue-42") once sent.
    cups_job: Mapped[str | None] = mapped_column(String(140))
    status: Mapped[PrintStatus] = mapped_column(_enum(PrintStatus), default=PrintStatus.queued)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = _ts(nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = _ts(nullable=False, default=utcnow, onupdate=utcnow)


class ReportMailing(Base):
    """One attendee's post-event summary by mail: at most one per attendee and event, sent at most once.

    A run marks the row `sending` and commits before it talks to the mail server, and `sent` once the server
    accepted the message (kiosk.reports.mail), so a row still `sending` is a message that may or may not have gone.
    """

    __tablename__ = "report_mailings"
    __table_args__ = (UniqueConstraint("event_id", "attendee_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    attendee_id: Mapped[int] = mapped_column(ForeignKey("attendees.id", ondelete="CASCADE"))
    status: Mapped[MailStatus] = mapped_column(_enum(MailStatus), default=MailStatus.pending)
    #: Times a run handed (or tried to hand) this message to the mail server.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: Why the last attempt failed, as the mail server or the network said it.
    error: Mapped[str] = mapped_column(Text, default="")
    #: The Message-ID header of the last attempt: find it in the mail server's log when the outcome is unknown.
    message_id: Mapped[str | None] = mapped_column(String(250))
    sent_at: Mapped[datetime | None] = _ts()
    updated_at: Mapped[datetime] = _ts(nullable=False, default=utcnow, onupdate=utcnow)


class EventLog(Base):
    """Every real-time message, persisted with a per-event monotonic seq so clients can catch up."""

    __tablename__ = "event_log"
    __table_args__ = (UniqueConstraint("event_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    #: match, contact, round, stats, checkin.
    type: Mapped[str] = mapped_column(String(16))
    #: Socket.IO room the message went to ("screen", "staff", "attendee:<id>").
    room: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = _ts(nullable=False, default=utcnow)


class IdempotentResponse(Base):
    """The first answer to a request with an Idempotency-Key, returned again to retries."""

    __tablename__ = "idempotent_responses"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Who sent it (device id or organizer id) and which route, so keys never collide across clients.
    scope: Mapped[str] = mapped_column(String(120))
    key: Mapped[str] = mapped_column(String(100))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = _ts(nullable=False, default=utcnow)
