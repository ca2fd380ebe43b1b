"""Cards: set an attendee's offer and need items (text and the organizer's tags), read them for each page.

One encoding everywhere. In forms, item `i` of a card is the fields `<kind>-<i>-text` and `<kind>-<i>-tags`
(checkboxes, hidden fields or one comma-separated input: all read the same); in JSON and templates a card is a
list of `{"text", "tags"}`. Tags belong to their item: a need tagged [Funding] keeps exactly [Funding].
"""
from __future__ import annotations

from typing import Iterable

from sqlalchemy.orm import Session

from ..errors import ValidationFailed
from ..matching.submit import submit_after_commit
from ..models import Attendee, Card, CardKind, Event, utcnow
from ..validation import clean_line, clean_paragraph

MAX_CARDS_PER_KIND = 5
MAX_CARD_TEXT = 500


def set_cards(session: Session, attendee: Attendee, kind: CardKind | str, items: list, *,
              allowed_tags: list[str] | None = None) -> list[Card]:
    """Replace the attendee's offer or need cards with `items` ([{"text", "tags"}] or strings), in order."""
    kind = CardKind(kind)
    if len(items) > MAX_CARDS_PER_KIND:
        raise ValidationFailed(f"At most {MAX_CARDS_PER_KIND} items on a card.", details={kind.value: "too many"})
    cleaned: list[tuple[str, list[str]]] = []
    allowed = {t.casefold(): t for t in allowed_tags} if allowed_tags is not None else None
    for item in items:
        text, tags = (item, []) if isinstance(item, str) else (item.get("text", ""), item.get("tags") or [])
        text = clean_paragraph(text, field=kind.value, max_length=MAX_CARD_TEXT)
        labels = []
        for tag in tags:
            label = clean_line(tag, field="tags", max_length=60)
            if allowed is not None:
                if label.casefold() not in allowed:
                    raise ValidationFailed(f"'{label}' is not one of this event's tags.",
                                           details={"tags": "unknown tag"})
                label = allowed[label.casefold()]
            if label and label not in labels:
                labels.append(label)
        if text or labels:
            cleaned.append((text, labels))
    old = {(c.text, tuple(c.tags or [])): c for c in attendee.cards if c.kind == kind}
    attendee.cards[:] = [c for c in attendee.cards if c.kind != kind]
    session.flush()  # free the (attendee, kind, position) slots before re-adding
    cards = []
    for position, (text, labels) in enumerate(cleaned):
        previous = old.get((text, tuple(labels)))
        card = Card(kind=kind, text=text, tags=labels, position=position,
                    embedding=previous.embedding if previous else None,
                    embedding_model=previous.embedding_model if previous else None)
        attendee.cards.append(card)
        cards.append(card)
    attendee.updated_at = utcnow()
    session.flush()
    return cards


def update_cards(session: Session, attendee: Attendee, *, offers: list | None = None,
                 needs: list | None = None) -> Attendee:
    """The use case "change my cards": replace either or both cards (tags checked against the event's), and
    have the matcher look again once the transaction commits when the attendee is here."""
    replace_cards(session, attendee, offers=offers, needs=needs)
    if attendee.checked_in_at is not None and (offers is not None or needs is not None):
        submit_after_commit(session, "cards", attendee.event_id, attendee_id=attendee.id)
    return attendee


def replace_cards(session: Session, attendee: Attendee, *, offers: list | None = None,
                  needs: list | None = None) -> None:
    """Replace either or both cards, with tags checked against the event's (the matcher is not told)."""
    if attendee.erased_at is not None:
        raise ValidationFailed("This attendee's data was erased; it cannot be edited.")
    tags = event_tags(session, attendee)
    if offers is not None:
        set_cards(session, attendee, CardKind.offer, offers, allowed_tags=tags)
    if needs is not None:
        set_cards(session, attendee, CardKind.need, needs, allowed_tags=tags)


def event_tags(session: Session, attendee: Attendee) -> list[str]:
    """The organizer's tag labels of the attendee's event."""
    event = attendee.event if attendee.event is not None else session.get(Event, attendee.event_id)
    return [t.label for t in event.tags]


def items(attendee: Attendee, kind: CardKind | str) -> list[dict]:
    """One card as a list of {"text", "tags"}, in order."""
    return [{"text": c.text, "tags": list(c.tags or [])} for c in attendee.cards_of(CardKind(kind))]


def cards_payload(attendee: Attendee) -> dict:
    """Both cards, as the API, the phone and admin show them."""
    return {"offers": items(attendee, CardKind.offer), "needs": items(attendee, CardKind.need)}


def both_filled(attendee: Attendee) -> bool:
    """True when the attendee has something on both cards (filled at home, by import or before): the kiosk then
    asks them only to check, not to type."""
    kinds = {c.kind for c in attendee.cards if c.text or c.tags}
    return {CardKind.offer, CardKind.need} <= kinds


def padded(attendee: Attendee, kind: CardKind | str, count: int) -> list[dict]:
    """A card's items for a form with `count` slots (empty slots at the end)."""
    shown = items(attendee, kind)[:count]
    return shown + [{"text": "", "tags": []} for _ in range(count - len(shown))]


def items_from_form(form, kind: CardKind | str, count: int, allowed_tags: Iterable[str] = ()) -> list[dict]:
    """The items of one card as a form posted them (see the module docstring); empty slots are dropped later."""
    kind = CardKind(kind).value
    known = {t.casefold() for t in allowed_tags}
    parsed = []
    for i in range(count):
        tags: list[str] = []
        for value in form.getlist(f"{kind}-{i}-tags"):
            # A chip posts one label (which may itself hold a comma); a typed field may hold several.
            pieces = [value] if value.strip().casefold() in known else value.split(",")
            tags.extend(p.strip() for p in pieces if p.strip())
        parsed.append({"text": form.get(f"{kind}-{i}-text", ""), "tags": tags})
    return parsed


def badge_lines(attendee: Attendee, kind: CardKind | str) -> list[str]:
    """What a card says in one line per item (its text, or its tags when it has no text): badges, screens."""
    return [c.text or ", ".join(c.tags or []) for c in attendee.cards_of(CardKind(kind))]
