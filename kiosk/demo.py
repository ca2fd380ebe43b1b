"""`givetake demo`: a realistic demo event to try the kiosk, the screen and admin on."""
from __future__ import annotations

import os
import random
import secrets
import unicodedata
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import demo_data as data
from .attendees.service import create_attendee
from .cards.service import set_cards
from .auth.service import create_organizer, set_password
from .events.service import create_event
from .models import CardKind, Event, Organizer
from .validation import fold_for_search

DEMO_SLUG = "demo"
DEMO_EMAIL = "demo@givetake.example"


def _script(text: str) -> str:
    for ch in text:
        if ch.isalpha():
            return unicodedata.name(ch, "LATIN").split()[0]
    return "LATIN"


def demo_people(n: int, rng: random.Random) -> list[tuple[str, str]]:
    """n plausible (first, last) names: the listed pairs first, then first and last names mixed within a script."""
    by_script: dict[str, list[tuple[str, str]]] = {}
    for pair in data.NAMES:
        by_script.setdefault(_script(pair[0]), []).append(pair)
    people = list(data.NAMES[:n])
    while len(people) < n:
        group = by_script[_script(data.NAMES[len(people) % len(data.NAMES)][0])]
        people.append((rng.choice(group)[0], rng.choice(group)[1]))
    return people


def _email_for(first: str, last: str, i: int) -> str:
    ascii_name = fold_for_search(f"{first}.{last}").encode("ascii", "ignore").decode()
    local = "".join(ch for ch in ascii_name.replace(" ", ".") if ch.isalnum() or ch == ".").strip(".")
    return f"{local or 'attendee'}.{i}@example.org"


def load_demo_login(instance_path: str) -> tuple[str, str] | None:
    """The demo organizer's (email, password) kept in instance/demo-login.txt, if the demo was created here."""
    path = Path(instance_path) / "demo-login.txt"
    if not path.exists():
        return None
    email, _, password = path.read_text().strip().partition(" ")
    return email, password


def ensure_demo_organizer(session: Session, instance_path: str) -> tuple[str, str]:
    """Create (or reset) the demo organizer with a random password kept in instance/demo-login.txt (mode 0600)."""
    password = secrets.token_urlsafe(9)
    organizer = session.scalar(select(Organizer).where(Organizer.email == DEMO_EMAIL))
    if organizer is None:
        create_organizer(session, DEMO_EMAIL, password, name="Demo organizer")
    else:
        set_password(organizer, password)
    path = Path(instance_path) / "demo-login.txt"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(f"{DEMO_EMAIL} {password}\n")
    return DEMO_EMAIL, password


def create_demo_event(session: Session, *, attendees: int = 300, checked_in_share: float = 0.4, seed: int = 7,
                      progress=None) -> Event:
    """The demo event with `attendees` people, their offer and need cards, some already checked in."""
    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    event = create_event(
        session, name="Give & Take Demo Summit", slug=DEMO_SLUG, tags=data.TAGS, venue="Main hall",
        timezone="Europe/Berlin", starts_at=now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1),
        ends_at=now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=7), round_minutes=8,
        meeting_points=[f"Table {i}" for i in range(1, 41)])
    fields = list(data.FIELDS)
    for i, (first, last) in enumerate(demo_people(attendees, rng), start=1):
        home = data.FIELDS[fields[i % len(fields)]]
        other = data.FIELDS[rng.choice(fields)]
        attendee = create_attendee(
            session, event, source="import", first_name=first, last_name=last, email=_email_for(first, last, i),
            company=rng.choice(data.COMPANIES), title=rng.choice(data.TITLES),
            pronouns=rng.choice(["", "", "", "she/her", "he/him", "they/them"]),
            ticket_ref=f"DEMO-{i:04d}", ticket_type=rng.choice(data.TICKET_TYPES))
        # What this person would choose at the kiosk (drawn now, so the same seed gives the same people).
        would_show = rng.random() < 0.85
        would_share = [f for f in ("email", "company", "title") if rng.random() < 0.8]
        offers = rng.sample(home["offers"], k=min(len(home["offers"]), rng.choice([1, 2, 2, 3])))
        if rng.random() < 0.3:
            offers.append(rng.choice(other["offers"]))
        needs = rng.sample(other["needs"] + home["needs"], k=rng.choice([1, 1, 2]))
        set_cards(session, attendee, CardKind.offer, [{"text": t, "tags": tags} for t, tags in dict(offers).items()])
        set_cards(session, attendee, CardKind.need, [{"text": t, "tags": tags} for t, tags in dict(needs).items()])
        if rng.random() < checked_in_share:
            attendee.checked_in_at = now - timedelta(minutes=rng.randint(1, 55))
            # Consent is never pre-ticked: an imported person shares nothing until they choose at the kiosk. Only
            # those the demo checks in have been there, so only they may have chosen to share.
            attendee.consent_screen, attendee.consent_share = would_show, would_share
        if progress:
            progress(1)
    session.flush()
    return event


def add_demo_networking(session: Session, event: Event, *, seed: int = 11, matches_per_person: int = 3,
                        progress=None) -> dict:
    """What a finished event leaves behind, for trying the reports: matches (suggested, accepted, met, declined)
    with reasons, badge-scan contacts (most of them both ways), a networking round, walk-ins, two sponsors with
    rated leads, and one erased attendee. Returns the counts made."""
    from .attendees.service import erase_attendee
    from .leads.service import create_sponsor
    from .models import Attendee, Contact, Lead, LeadRating, Match, MatchSource, MatchStatus, Round

    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    people = list(session.scalars(select(Attendee).where(Attendee.event_id == event.id,
                                                         Attendee.checked_in_at.is_not(None),
                                                         Attendee.erased_at.is_(None)).order_by(Attendee.id)))
    for person in rng.sample(people, k=min(len(people), max(1, len(people) // 12))):
        person.source = "walkin"
    made = {"matches": 0, "contacts": 0, "leads": 0}
    pairs: set[tuple[int, int]] = set()
    statuses = [MatchStatus.suggested] * 9 + [MatchStatus.accepted] * 4 + [MatchStatus.met] * 5 + \
        [MatchStatus.declined]
    for person in people:
        for other in rng.sample(people, k=min(len(people), matches_per_person + 1)):
            pair = tuple(sorted((person.id, other.id)))
            if other.id == person.id or pair in pairs:
                continue
            pairs.add(pair)
            giver, taker = (person, other) if rng.random() < 0.5 else (other, person)
            offer, need = giver.cards_of(CardKind.offer), taker.cards_of(CardKind.need)
            reasons = [{"giver": giver.id, "taker": taker.id, "offer": offer[0].text if offer else "",
                        "need": need[0].text if need else "", "tags": [], "score": round(rng.uniform(0.3, 0.9), 3)}]
            at = max(person.checked_in_at, other.checked_in_at) + timedelta(minutes=rng.randint(0, 20))
            status = rng.choice(statuses)
            session.add(Match(event_id=event.id, a_id=pair[0], b_id=pair[1], score=reasons[0]["score"],
                              direction="a->b" if giver.id == pair[0] else "b->a", reasons=reasons,
                              starter=f"Ask {giver.first_name} about it.", source=MatchSource.live, status=status,
                              created_at=at, updated_at=at))
            made["matches"] += 1
            if status == MatchStatus.met or rng.random() < 0.08:
                scanned = at + timedelta(minutes=rng.randint(1, 30))
                first, second = (person, other) if rng.random() < 0.5 else (other, person)
                scan = Contact(event_id=event.id, from_id=first.id, to_id=second.id, created_at=scanned)
                session.add(scan)
                made["contacts"] += 1
                if rng.random() < 0.65:
                    scan.mutual = True
                    session.add(Contact(event_id=event.id, from_id=second.id, to_id=first.id, mutual=True,
                                        created_at=scanned + timedelta(minutes=rng.randint(0, 5))))
                    made["contacts"] += 1
        if progress:
            progress(1)
    session.flush()
    present = [p.id for p in people]
    rng.shuffle(present)
    groups = [present[i:i + 2] for i in range(0, len(present) - 1, 2)]
    if len(present) % 2 and groups:
        groups[-1].append(present[-1])
    session.add(Round(event_id=event.id, number=1, starts_at=now - timedelta(minutes=40),
                      ends_at=now - timedelta(minutes=32),
                      pairs=[{"ids": g, "meeting_point": f"Table {i + 1}"} for i, g in enumerate(groups)]))
    ratings = [LeadRating.hot, LeadRating.warm, LeadRating.warm, LeadRating.cold, None]
    for name, share in (("Acme Cloud", 0.25), ("Nordlicht Ventures", 0.12)):
        sponsor = create_sponsor(session, event, name, ["Budget this year?", "Decision timeline?"])
        for person in rng.sample(people, k=int(len(people) * share)):
            session.add(Lead(event_id=event.id, sponsor_id=sponsor.id, attendee_id=person.id,
                             rating=rng.choice(ratings), note="", answers={},
                             created_at=person.checked_in_at + timedelta(minutes=rng.randint(5, 50))))
            made["leads"] += 1
    session.flush()
    if people:
        erase_attendee(session, people[-1])
    session.flush()
    return made
