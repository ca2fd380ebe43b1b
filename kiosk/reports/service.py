"""The figures of the post-event reports, read from the database in a few bulk queries.

`event_figures` is everything the organizer's report shows; `attendee_summary` what one attendee's summary shows.
Both are plain data (dicts, lists, dataclasses): the PDFs are drawn from them by kiosk.reports.render, and the
tests compare them with what the database says.

Erased people keep their rows for the counts (registered, checked in, matches, contacts), never their names,
cards or notes: they appear in no list and no theme. Contact details appear only as each person consented
(kiosk.scanning.service.shared_fields), read when the report is made.
"""
from __future__ import annotations

import functools
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from matcher.lexical import STOPWORDS, terms

from ..models import (Attendee, Card, CardKind, Contact, Event, Lead, Match, MatchSource, MatchStatus, Round,
                      Sponsor)
from ..scanning.service import shared_fields

#: Two cards whose cached MiniLM vectors are at least this close say the same thing (a need "met" by an offer).
SEMANTIC_MET = 0.55
#: Sliding window of the arrival curve's marked peak.
PEAK_WINDOW = timedelta(minutes=15)
_WORD = re.compile(r"[^\W\d_][\w'’\-+#.]*[\w+#]|[^\W\d_]", re.UNICODE)


@dataclass
class Theme:
    """A group of cards about one thing (a tag, else their most telling word), with a few examples."""

    label: str
    count: int
    examples: list[str] = field(default_factory=list)


@dataclass
class EventFigures:
    """Everything the organizer's report shows."""

    event: Event
    tz: ZoneInfo
    registered: int = 0
    checked_in: int = 0
    walk_ins: int = 0
    erased: int = 0
    suggested: int = 0
    accepted: int = 0
    met: int = 0
    declined: int = 0
    scans: int = 0
    contact_pairs: int = 0
    mutual_pairs: int = 0
    with_contact: int = 0
    arrivals: list[datetime] = field(default_factory=list)
    peak_start: datetime | None = None
    peak_count: int = 0
    hours: list[datetime] = field(default_factory=list)
    checkins_per_hour: list[int] = field(default_factory=list)
    matches_per_hour: list[int] = field(default_factory=list)
    contacts_per_hour: list[int] = field(default_factory=list)
    ticket_types: list[dict] = field(default_factory=list)
    rounds: list[dict] = field(default_factory=list)
    top_offer_tags: list[tuple[str, int]] = field(default_factory=list)
    top_need_tags: list[tuple[str, int]] = field(default_factory=list)
    offer_themes: list[tuple[str, int]] = field(default_factory=list)
    need_themes: list[tuple[str, int]] = field(default_factory=list)
    unmet_needs: list[Theme] = field(default_factory=list)
    unneeded_offers: list[Theme] = field(default_factory=list)
    unmet_need_count: int = 0
    need_count: int = 0
    components: int = 0
    largest_component: int = 0
    isolated: int = 0
    degree_histogram: list[tuple[str, int]] = field(default_factory=list)
    sponsors: list[dict] = field(default_factory=list)
    people: list[dict] = field(default_factory=list)

    @property
    def show_rate(self) -> float:
        return self.checked_in / self.registered if self.registered else 0.0

    @property
    def connected_share(self) -> float:
        """Share of the attendees who came that made at least one new contact."""
        return self.with_contact / self.checked_in if self.checked_in else 0.0


def _hour(value: datetime, tz: ZoneInfo) -> datetime:
    return value.astimezone(tz).replace(minute=0, second=0, microsecond=0)


def _per_hour(times: list[datetime], hours: list[datetime], tz: ZoneInfo) -> list[int]:
    counts = Counter(_hour(t, tz) for t in times)
    return [counts.get(h, 0) for h in hours]


def peak(times: list[datetime], window: timedelta = PEAK_WINDOW) -> tuple[datetime | None, int]:
    """The start of the busiest `window` and how many arrived in it (two pointers over the sorted times)."""
    times = sorted(times)
    best, start, lo = 0, None, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= window:
            lo += 1
        if hi - lo + 1 > best:
            best, start = hi - lo + 1, times[lo]
    return start, best


@functools.lru_cache(maxsize=1 << 15)
def _salient(text: str) -> tuple[tuple[str, str], ...]:
    """(stem, surface word) pairs of a card's telling words (no stopwords, no "help", "looking for"); cached: the
    same card text is read for themes, unmet needs and their grouping, and many cards repeat."""
    out = []
    for match in _WORD.finditer(text or ""):
        word = match.group().strip("'’-.").casefold()
        if len(word) < 3 and not any(ord(ch) > 0x2e80 for ch in word) or word in STOPWORDS:
            continue
        for stem in terms(word):
            out.append((stem, word))
    return tuple(out)


def themes(texts: list[str], limit: int = 12) -> list[tuple[str, int]]:
    """The most common telling words across cards (counted once per card), each shown in its commonest form."""
    counts: Counter[str] = Counter()
    surface: dict[str, Counter] = defaultdict(Counter)
    for text in texts:
        seen = set()
        for stem, word in _salient(text):
            surface[stem][word] += 1
            if stem not in seen:
                counts[stem] += 1
                seen.add(stem)
    return [(surface[s].most_common(1)[0][0], n) for s, n in counts.most_common(limit) if n > 1]


def _vectors(cards: list[Card]) -> np.ndarray | None:
    """The cached semantic vectors of these cards, when every one has one of the same model; else None."""
    models = {c.embedding_model for c in cards}
    if not cards or len(models) != 1 or None in models or any(c.embedding is None for c in cards):
        return None
    rows = np.stack([np.frombuffer(c.embedding, dtype=np.float32) for c in cards])
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms > 0, norms, 1)


#: A need counts as offered when some offer's words say the same (IDF-weighted cosine of their telling words) ...
LEXICAL_MET = 0.35
#: ... or a little less, when the two also share one of the organizer's tags (a tag alone is too broad: "Software").
LEXICAL_MET_WITH_TAG = 0.15


def _tfidf(cards: list[Card], salient: list[list[tuple[str, str]]]) -> tuple[np.ndarray, dict[str, int]]:
    """Dense, L2-normalized IDF-weighted rows of each card's telling words, the tags added as words (`#tag`).

    An event's cards share a vocabulary of a few thousand stems: 12,000 cards x 3,000 terms is 140 MB as float32
    at worst, and matrix products over it beat a Python loop over postings a hundredfold.
    """
    bags = [Counter(stem for stem, _ in words) + Counter(f"#{t.casefold()}" for t in c.tags or [])
            for c, words in zip(cards, salient)]
    vocabulary = {t: i for i, t in enumerate(sorted({t for bag in bags for t in bag}))}
    df = np.zeros(len(vocabulary), dtype=np.float32)
    for bag in bags:
        for t in bag:
            df[vocabulary[t]] += 1
    idf = np.log1p(max(len(bags), 1) / np.maximum(df, 1))
    rows = np.zeros((len(bags), len(vocabulary)), dtype=np.float32)
    for r, bag in enumerate(bags):
        for t, tf in bag.items():
            rows[r, vocabulary[t]] = (1 + np.log(tf)) * idf[vocabulary[t]]
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms > 0, norms, 1), vocabulary


def _unmatched(items: list[Card], others: list[Card]) -> list[Card]:
    """The cards of `items` that no card of `others` (someone else's) answers: nothing that says the same in
    words (with the tags as words), and, with cached MiniLM vectors, nothing close in meaning either."""
    if not items:
        return []
    if not others:
        return list(items)
    cards = items + others
    rows, vocabulary = _tfidf(cards, [_salient(c.text) for c in cards])
    mine, theirs = rows[:len(items)], rows[len(items):]
    tag_columns = [i for t, i in vocabulary.items() if t.startswith("#")]
    my_tags, their_tags = mine[:, tag_columns] > 0, (theirs[:, tag_columns] > 0).astype(np.float32)
    owners = np.array([c.attendee_id for c in others])
    left = []
    for start in range(0, len(items), 512):  # 512 x 10,000 scores at a time: flat memory at any event size
        scores = mine[start:start + 512] @ theirs.T
        shared_tag = (my_tags[start:start + 512].astype(np.float32) @ their_tags.T) > 0
        for i, (row, tags) in enumerate(zip(scores, shared_tag)):
            card = items[start + i]
            own = owners == card.attendee_id
            met = (row >= LEXICAL_MET) | ((row >= LEXICAL_MET_WITH_TAG) & tags)
            if not (met & ~own).any():
                left.append(card)
    a, b = _vectors(left), _vectors(others)
    if a is None or b is None or a.shape[1] != b.shape[1]:
        return left
    owners = np.array([c.attendee_id for c in others])
    keep = []
    for start in range(0, len(left), 512):  # 512 x 10,000 floats at a time: flat memory at any event size
        sims = a[start:start + 512] @ b.T
        for i, row in enumerate(sims):
            card = left[start + i]
            row[owners == card.attendee_id] = -1
            if row.max(initial=-1) < SEMANTIC_MET:
                keep.append(card)
    return keep


def group_themes(cards: list[Card], limit: int = 10) -> list[Theme]:
    """Cards grouped by their first tag, else their commonest telling word; biggest groups first."""
    common = Counter(stem for c in cards for stem, _ in set(_salient(c.text)))
    groups: dict[str, list[Card]] = defaultdict(list)
    words: dict[str, str] = {}
    for card in cards:
        if card.tags:
            key = label = card.tags[0]
        else:
            salient = _salient(card.text)
            if not salient:
                key = label = "(other)"
            else:
                stem, word = max(salient, key=lambda sw: common[sw[0]])
                key, label = stem, word
        groups[key].append(card)
        words.setdefault(key, label)
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), words[kv[0]]))
    def examples(cards: list[Card]) -> list[str]:
        texts = Counter(c.text or ", ".join(c.tags or []) for c in cards)  # the commonest wordings, each once
        return [t for t, _ in texts.most_common(3)]

    return [Theme(words[k], len(v), examples(v)) for k, v in ordered[:limit]]


def _components(nodes: list[int], edges: set[tuple[int, int]]) -> tuple[int, int]:
    parent = {n: n for n in nodes}

    def find(n: int) -> int:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for a, b in edges:
        if a in parent and b in parent:
            parent[find(a)] = find(b)
    sizes = Counter(find(n) for n in nodes)
    multi = [s for s in sizes.values() if s > 1]
    return len(multi), max(multi, default=0)


def event_figures(session: Session, event: Event) -> EventFigures:
    """The organizer report's figures for one event."""
    tz = ZoneInfo(event.timezone or "UTC")
    f = EventFigures(event=event, tz=tz)
    people = list(session.scalars(select(Attendee).where(Attendee.event_id == event.id)
                                  .options(selectinload(Attendee.cards)).order_by(Attendee.id)))
    by_id = {p.id: p for p in people}
    f.registered = len(people)
    f.erased = sum(p.erased_at is not None for p in people)
    came = [p for p in people if p.checked_in_at is not None]
    f.checked_in = len(came)
    f.walk_ins = sum(p.source == "walkin" for p in people)
    f.arrivals = sorted(p.checked_in_at for p in came)
    f.peak_start, f.peak_count = peak(f.arrivals)

    matches = list(session.scalars(select(Match).where(Match.event_id == event.id)))
    f.suggested = len(matches)
    f.accepted = sum(m.status in (MatchStatus.accepted, MatchStatus.met) for m in matches)
    f.met = sum(m.status == MatchStatus.met for m in matches)
    f.declined = sum(m.status == MatchStatus.declined for m in matches)

    contacts = list(session.scalars(select(Contact).where(Contact.event_id == event.id)))
    f.scans = len(contacts)
    pairs = {tuple(sorted((c.from_id, c.to_id))) for c in contacts}
    directed = {(c.from_id, c.to_id) for c in contacts}
    f.contact_pairs = len(pairs)
    f.mutual_pairs = sum((a, b) in directed and (b, a) in directed for a, b in pairs)
    touched = {i for pair in pairs for i in pair}
    f.with_contact = sum(p.id in touched for p in came)

    times = f.arrivals + [m.created_at for m in matches] + [c.created_at for c in contacts]
    if times:
        first, last = _hour(min(times), tz), _hour(max(times), tz)
        f.hours = [first + timedelta(hours=h) for h in range(int((last - first).total_seconds() // 3600) + 1)]
        f.checkins_per_hour = _per_hour(f.arrivals, f.hours, tz)
        f.matches_per_hour = _per_hour([m.created_at for m in matches], f.hours, tz)
        f.contacts_per_hour = _per_hour(_first_per_pair(contacts), f.hours, tz)

    _per_ticket_type(f, people, matches, contacts)
    _rounds(f, session, event, matches)
    _cards(f, [p for p in came if p.erased_at is None] or [p for p in people if p.erased_at is None])
    _network(f, came, pairs)
    _sponsors(f, session, event)
    _people(f, people, matches, contacts)
    return f


def _first_per_pair(contacts: list[Contact]) -> list[datetime]:
    first: dict[tuple[int, int], datetime] = {}
    for c in contacts:
        pair = tuple(sorted((c.from_id, c.to_id)))
        if pair not in first or c.created_at < first[pair]:
            first[pair] = c.created_at
    return list(first.values())


def _per_ticket_type(f: EventFigures, people, matches, contacts) -> None:
    kind = {p.id: p.ticket_type or "(none)" for p in people}
    rows: dict[str, dict] = defaultdict(lambda: {"registered": 0, "checked_in": 0, "suggested": 0, "met": 0,
                                                 "contacts": 0})
    for p in people:
        rows[kind[p.id]]["registered"] += 1
        rows[kind[p.id]]["checked_in"] += p.checked_in_at is not None
    for m in matches:  # a match counts for each side's ticket type
        for side in (m.a_id, m.b_id):
            rows[kind[side]]["suggested"] += 1
            rows[kind[side]]["met"] += m.status == MatchStatus.met
    for c in contacts:
        rows[kind[c.from_id]]["contacts"] += 1
    f.ticket_types = [{"ticket_type": k, **v} for k, v in sorted(rows.items(), key=lambda kv: -kv[1]["registered"])]


def _rounds(f: EventFigures, session: Session, event: Event, matches: list[Match]) -> None:
    by_round: dict[int, list[Match]] = defaultdict(list)
    for m in matches:
        if m.source == MatchSource.round and m.round_id is not None:
            by_round[m.round_id].append(m)
    for r in session.scalars(select(Round).where(Round.event_id == event.id).order_by(Round.number)):
        group = by_round.get(r.id, [])
        people = sum(len(g.get("ids", [])) for g in r.pairs or [])
        f.rounds.append({"number": r.number, "starts_at": r.starts_at, "groups": len(r.pairs or []),
                         "people": people, "matches": len(group),
                         "met": sum(m.status == MatchStatus.met for m in group),
                         "accepted": sum(m.status in (MatchStatus.accepted, MatchStatus.met) for m in group)})


def _cards(f: EventFigures, people: list[Attendee]) -> None:
    offers = [c for p in people for c in p.cards_of(CardKind.offer) if c.text or c.tags]
    needs = [c for p in people for c in p.cards_of(CardKind.need) if c.text or c.tags]
    f.top_offer_tags = Counter(t for c in offers for t in c.tags or []).most_common(10)
    f.top_need_tags = Counter(t for c in needs for t in c.tags or []).most_common(10)
    f.offer_themes = themes([c.text for c in offers])
    f.need_themes = themes([c.text for c in needs])
    unmet = _unmatched(needs, offers)
    f.need_count, f.unmet_need_count = len(needs), len(unmet)
    f.unmet_needs = group_themes(unmet)
    f.unneeded_offers = group_themes(_unmatched(offers, needs))


def _network(f: EventFigures, came: list[Attendee], pairs: set[tuple[int, int]]) -> None:
    ids = [p.id for p in came]
    f.components, f.largest_component = _components(ids, pairs)
    degree = Counter(i for pair in pairs for i in pair)
    f.isolated = sum(degree.get(i, 0) == 0 for i in ids)
    buckets = [("0", lambda d: d == 0), ("1", lambda d: d == 1), ("2", lambda d: d == 2), ("3-4", lambda d: 3 <= d <= 4),
               ("5-9", lambda d: 5 <= d <= 9), ("10+", lambda d: d >= 10)]
    f.degree_histogram = [(label, sum(test(degree.get(i, 0)) for i in ids)) for label, test in buckets]


def _sponsors(f: EventFigures, session: Session, event: Event) -> None:
    table = {sid: {"name": name, "leads": 0, "hot": 0, "warm": 0, "cold": 0, "unrated": 0}
             for sid, name in session.execute(select(Sponsor.id, Sponsor.name).where(Sponsor.event_id == event.id))}
    for sponsor_id, rating in session.execute(select(Lead.sponsor_id, Lead.rating).where(Lead.event_id == event.id)):
        row = table[sponsor_id]
        row["leads"] += 1
        row[rating.value if rating is not None else "unrated"] += 1
    f.sponsors = sorted(table.values(), key=lambda r: (-r["leads"], r["name"]))


def _people(f: EventFigures, people: list[Attendee], matches: list[Match], contacts: list[Contact]) -> None:
    suggested, met, scans = Counter(), Counter(), Counter()
    for m in matches:
        for side in (m.a_id, m.b_id):
            suggested[side] += 1
            met[side] += m.status == MatchStatus.met
    pairs = {tuple(sorted((c.from_id, c.to_id))) for c in contacts}
    for a, b in pairs:
        scans[a] += 1
        scans[b] += 1
    f.people = [{"badge": p.id, "name": None if p.erased_at else p.full_name,
                 "company": "" if p.erased_at else p.company, "ticket_type": p.ticket_type,
                 "checked_in_at": p.checked_in_at, "matches": suggested[p.id], "met": met[p.id],
                 "contacts": scans[p.id]} for p in people]


# ------------------------------------------------------------------------------------------------ one attendee

@dataclass
class AttendeeSummary:
    """What one attendee's summary shows."""

    event: Event
    tz: ZoneInfo
    me: Attendee
    offers: list[dict]
    needs: list[dict]
    met: list[dict]
    scanned_me: list[dict]
    not_met: list[dict]
    gave: list[dict]


def _card_items(person: Attendee, kind: CardKind) -> list[dict]:
    return [{"text": c.text, "tags": list(c.tags or [])} for c in person.cards_of(kind) if c.text or c.tags]


def _top(person: Attendee, kind: CardKind) -> str:
    items = _card_items(person, kind)
    return (items[0]["text"] or ", ".join(items[0]["tags"])) if items else ""


def follow_up_line(me: Attendee, other: Attendee, reasons: list[dict]) -> str:
    """One line on why to get in touch with a match one has not met yet, from the match's reasons."""
    for r in reasons or []:
        if r.get("taker") == me.id and r.get("offer"):
            return f"{other.first_name} offers “{r['offer']}”, which you were looking for: worth a short message."
    for r in reasons or []:
        if r.get("giver") == me.id and r.get("need"):
            return f"{other.first_name} was looking for “{r['need']}”: your offer could help them."
    offer = _top(other, CardKind.offer)
    return f"{other.first_name} offers “{offer}”." if offer else f"You were matched with {other.first_name}."


def attendee_summary(session: Session, me: Attendee, *, people: dict[int, Attendee] | None = None,
                     matches: list[Match] | None = None, contacts: list[Contact] | None = None) -> AttendeeSummary:
    """One attendee's summary: my cards, whom I met (as each consented), matches not met yet, what I gave.

    Batch callers (all attendees of an event) pass the event's people, matches and contacts loaded once.
    """
    event = session.get(Event, me.event_id)
    if matches is None:
        matches = list(session.scalars(select(Match).where(Match.event_id == me.event_id,
                                                           (Match.a_id == me.id) | (Match.b_id == me.id))))
    if contacts is None:
        contacts = list(session.scalars(select(Contact).where(Contact.event_id == me.event_id,
                                                              (Contact.from_id == me.id) | (Contact.to_id == me.id))))
    mine = {c.to_id: c for c in contacts if c.from_id == me.id}
    theirs = {c.from_id: c for c in contacts if c.to_id == me.id}
    my_matches = {(m.b_id if m.a_id == me.id else m.a_id): m for m in matches if me.id in (m.a_id, m.b_id)}
    wanted = set(mine) | set(theirs) | set(my_matches)
    if people is None:
        people = {p.id: p for p in session.scalars(select(Attendee).where(Attendee.id.in_(wanted))
                                                   .options(selectinload(Attendee.cards)))} if wanted else {}

    def alive(i: int) -> Attendee | None:
        p = people.get(i)
        return p if p is not None and p.erased_at is None else None

    met, scanned_me, not_met, gave = [], [], [], []
    for other_id, row in sorted(mine.items(), key=lambda kv: kv[1].created_at):
        other = alive(other_id)
        if other is None:
            continue
        match = my_matches.get(other_id)
        met.append({"name": other.full_name, "badge": other.id, "shared": shared_fields(other),
                    "offer": _top(other, CardKind.offer), "note": row.note, "follow_up": row.follow_up,
                    "mutual": other_id in theirs, "at": row.created_at,
                    "reasons": list(match.reasons or []) if match else []})
    for other_id, row in sorted(theirs.items(), key=lambda kv: kv[1].created_at):
        other = alive(other_id)
        if other is not None and other_id not in mine:
            scanned_me.append({"first_name": other.first_name, "company": other.company,
                               "offer": _top(other, CardKind.offer), "at": row.created_at})
    for other_id, match in my_matches.items():
        other = alive(other_id)
        if other is None:
            continue
        if match.status != MatchStatus.met and match.status != MatchStatus.declined and other_id not in mine \
                and other_id not in theirs:
            not_met.append({"name": other.full_name, "badge": other.id, "company": other.company,
                            "offer": _top(other, CardKind.offer), "line": follow_up_line(me, other, match.reasons),
                            "status": match.status.value})
        for r in match.reasons or []:
            if r.get("giver") == me.id and (match.status == MatchStatus.met or other_id in mine or other_id in theirs):
                gave.append({"name": other.first_name, "offer": r.get("offer", ""), "need": r.get("need", "")})
    return AttendeeSummary(event=event, tz=ZoneInfo(event.timezone or "UTC"), me=me,
                           offers=_card_items(me, CardKind.offer), needs=_card_items(me, CardKind.need), met=met,
                           scanned_me=scanned_me, not_met=sorted(not_met, key=lambda r: r["name"].casefold()),
                           gave=gave)


def summaries(session: Session, event: Event):
    """Every summary of an event, for those who came (and were not erased), with the event's people, matches and
    contacts loaded once: a few queries for 5,000 attendees, not three each. Yields AttendeeSummary."""
    people = {p.id: p for p in session.scalars(select(Attendee).where(Attendee.event_id == event.id)
                                                .options(selectinload(Attendee.cards)).order_by(Attendee.id))}
    matches: dict[int, list[Match]] = defaultdict(list)
    for m in session.scalars(select(Match).where(Match.event_id == event.id)):
        matches[m.a_id].append(m)
        matches[m.b_id].append(m)
    contacts: dict[int, list[Contact]] = defaultdict(list)
    for c in session.scalars(select(Contact).where(Contact.event_id == event.id)):
        contacts[c.from_id].append(c)
        contacts[c.to_id].append(c)
    for person in people.values():
        if person.checked_in_at is not None and person.erased_at is None:
            yield attendee_summary(session, person, people=people, matches=matches.get(person.id, []),
                                   contacts=contacts.get(person.id, []))


def present_count_for_summaries(session: Session, event: Event) -> int:
    """How many summaries `summaries` makes: everyone who came and was not erased."""
    return session.scalar(select(func.count(Attendee.id)).where(
        Attendee.event_id == event.id, Attendee.checked_in_at.is_not(None), Attendee.erased_at.is_(None))) or 0
