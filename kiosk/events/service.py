"""Creating and editing events and their tag taxonomy."""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import Conflict, NotFound, ValidationFailed
from ..models import Event, Tag
from ..validation import clean_line

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
MAX_TAGS = 200


def slugify(text: str) -> str:
    """A URL slug from a name: ASCII letters, digits and dashes."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:64].strip("-") or "event"


def get_event(session: Session, slug: str) -> Event:
    """The event with this slug, or NotFound."""
    event = session.scalar(select(Event).where(Event.slug == slug))
    if event is None:
        raise NotFound(f"There is no event '{slug}'.")
    return event


def parse_tags(raw: str | list[str]) -> list[str]:
    """Tag labels from a comma- or newline-separated string (or a list), cleaned, de-duplicated, in order."""
    items = raw if isinstance(raw, list) else re.split(r"[,\n;]", raw or "")
    labels: list[str] = []
    seen: set[str] = set()
    for item in items:
        label = clean_line(item, field="tags", max_length=60)
        if label and label.casefold() not in seen:
            seen.add(label.casefold())
            labels.append(label)
    if len(labels) > MAX_TAGS:
        raise ValidationFailed(f"At most {MAX_TAGS} tags, please.", details={"tags": "too many"})
    return labels


def _apply(event: Event, fields: dict) -> None:
    if "name" in fields:
        event.name = clean_line(fields["name"], field="name", max_length=200, required=True)
    for key in ("venue", "timezone"):
        if key in fields:
            setattr(event, key, clean_line(fields[key], field=key, max_length=200) or
                    ("UTC" if key == "timezone" else ""))
    if "timezone" in fields:
        if event.timezone not in available_timezones():
            raise ValidationFailed(f"'{event.timezone}' is not a time zone name (e.g. Europe/Berlin).",
                                   details={"timezone": "unknown time zone"})
    for key in ("starts_at", "ends_at"):
        if key in fields:
            value = fields[key]
            if isinstance(value, str):
                value = value.strip()
                try:
                    value = datetime.fromisoformat(value) if value else None
                except ValueError:
                    raise ValidationFailed(f"'{value}' is not a date and time.", details={key: "not a date"})
            if value is not None and value.tzinfo is None:
                value = value.replace(tzinfo=ZoneInfo(event.timezone or "UTC"))  # typed as the venue's clock
            setattr(event, key, value)
    if event.starts_at and event.ends_at and event.ends_at < event.starts_at:
        raise ValidationFailed("The event ends before it starts.", details={"ends_at": "before the start"})
    if "public_url" in fields:
        url = clean_line(fields["public_url"], field="public_url", max_length=300).rstrip("/")
        if url and not re.match(r"^https?://[^\s/]+", url):
            raise ValidationFailed("The public URL must start with http:// or https://.",
                                   details={"public_url": "not a URL"})
        event.public_url = url or None
    if "round_minutes" in fields:
        try:
            minutes = int(fields["round_minutes"])
        except (TypeError, ValueError):
            raise ValidationFailed("Round length must be a number of minutes.", details={"round_minutes": "number"})
        if not 1 <= minutes <= 240:
            raise ValidationFailed("Round length must be between 1 and 240 minutes.",
                                   details={"round_minutes": "1-240"})
        event.round_minutes = minutes
    if "retention_days" in fields:
        try:
            days = int(fields["retention_days"])
        except (TypeError, ValueError):
            raise ValidationFailed("Keep contacts and leads for a number of days.",
                                   details={"retention_days": "number"})
        if not 1 <= days <= 3650:
            raise ValidationFailed("Keep contacts and leads for 1 to 3650 days.",
                                   details={"retention_days": "1-3650"})
        event.retention_days = days
    if "meeting_points" in fields:
        event.meeting_points = parse_tags(fields["meeting_points"])
    if "badge_layout" in fields:
        event.badge_layout = clean_line(fields["badge_layout"], field="badge_layout", max_length=32) or "label-4x3"


def create_event(session: Session, *, name: str, slug: str | None = None, tags=(), **fields) -> Event:
    """Create an event with a unique slug and its tags."""
    slug = (slug or slugify(name)).strip().lower()
    if not SLUG_RE.match(slug):
        raise ValidationFailed("The short name may use lower-case letters, digits and dashes only.",
                               details={"slug": "letters, digits, dashes"})
    if session.scalar(select(Event.id).where(Event.slug == slug)):
        raise Conflict(f"An event with the short name '{slug}' exists already.", details={"slug": "taken"})
    event = Event(slug=slug, name="", badge_style={}, match_settings={}, meeting_points=[])
    _apply(event, {"name": name, **fields})
    session.add(event)
    session.flush()
    set_tags(session, event, list(tags) if not isinstance(tags, str) else tags)
    return event


def update_event(session: Session, event: Event, **fields) -> Event:
    """Change an event's details; `tags`, when given, replaces the taxonomy."""
    tags = fields.pop("tags", None)
    _apply(event, fields)
    if tags is not None:
        set_tags(session, event, tags)
    session.flush()
    return event


def set_tags(session: Session, event: Event, raw) -> list[Tag]:
    """Replace the event's tags with these labels (cards keep their labels; only the choices change)."""
    labels = parse_tags(raw)
    existing = {t.label: t for t in event.tags}
    keep = [existing.get(label) or Tag(label=label) for label in labels]
    event.tags[:] = keep
    session.flush()
    return keep
