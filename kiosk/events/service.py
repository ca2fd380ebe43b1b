"""Creating and editing events: their tag taxonomy, their groups of people and who of them may meet whom."""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo, available_timezones

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from matcher.profiles import GROUP_RULES
from ..errors import Conflict, NotFound, ValidationFailed
from ..matching.submit import submit_after_commit
from ..models import Attendee, AttendeeGroup, Event, Tag
from ..validation import clean_line

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
MAX_TAGS = 200
#: At most this many groups of people per event.
MAX_GROUPS = 20


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


def group_rule(event: Event) -> str:
    """Who of the event's groups may meet whom: "any" (the default), "across" groups only, or "within" them."""
    rule = (event.match_settings or {}).get("group_rule", "any")
    return rule if rule in GROUP_RULES else "any"


def set_group_rule(session: Session, event: Event, rule: str) -> bool:
    """Set the group rule; True if it changed (the matcher then rebuilds the event's engine after commit)."""
    rule = (rule or "any").strip()
    if rule not in GROUP_RULES:
        raise ValidationFailed(_("Choose who may meet whom: %(rules)s.", rules=", ".join(GROUP_RULES)),
                               details={"group_rule": "unknown rule"})
    if rule == group_rule(event):
        return False
    event.match_settings = {**(event.match_settings or {}), "group_rule": rule}  # a new dict: JSON change tracked
    _matcher_looks_again(session, event)
    return True


def set_groups(session: Session, event: Event, raw) -> list[AttendeeGroup]:
    """Replace the event's groups with these labels, in order; a group kept by label keeps its people, and the
    people of a removed group are in no group any more."""
    items = raw if isinstance(raw, list) else re.split(r"[,\n;]", raw or "")
    labels: list[str] = []
    for item in items:
        label = clean_line(item, field="groups", max_length=60)
        if label and label.casefold() not in {x.casefold() for x in labels}:
            labels.append(label)
    if len(labels) > MAX_GROUPS:
        raise ValidationFailed(_("At most %(n)d groups, please.", n=MAX_GROUPS), details={"groups": "too many"})
    existing = {g.label.casefold(): g for g in event.groups}
    keep = []
    for position, label in enumerate(labels):
        group = existing.pop(label.casefold(), None) or AttendeeGroup(label=label)
        group.label, group.position = label, position
        keep.append(group)
    if existing:  # removed: their people are in no group now (no foreign key does it, see migration 0007)
        session.execute(update(Attendee).where(Attendee.event_id == event.id,
                                               Attendee.group_id.in_([g.id for g in existing.values()]))
                        .values(group_id=None))
    event.groups[:] = keep
    session.flush()
    if existing and group_rule(event) != "any":  # (renamed or new groups change nobody's group id)
        _matcher_looks_again(session, event)
    return keep


def find_group(event: Event, label: str) -> AttendeeGroup | None:
    """The event's group with this label (case-insensitive); None for an empty label; ValidationFailed if none."""
    label = " ".join((label or "").split())
    if not label:
        return None
    for group in event.groups:
        if group.label.casefold() == label.casefold():
            return group
    known = ", ".join(g.label for g in event.groups) or _("none yet (add them in the event's settings)")
    raise ValidationFailed(_("There is no group “%(label)s”. The event's groups: %(known)s.", label=label,
                             known=known), details={"group": "unknown group"})


def _matcher_looks_again(session: Session, event: Event) -> None:
    """The rule or the groups changed: the matcher rebuilds the event's engine from the database after commit."""
    if event.id is not None:
        submit_after_commit(session, "reset", event.id)


def create_event(session: Session, *, name: str, slug: str | None = None, tags=(), **fields) -> Event:
    """Create an event with a unique slug and its tags."""
    slug = (slug or slugify(name)).strip().lower()
    if not SLUG_RE.match(slug):
        raise ValidationFailed("The short name may use lower-case letters, digits and dashes only.",
                               details={"slug": "letters, digits, dashes"})
    if session.scalar(select(Event.id).where(Event.slug == slug)):
        raise Conflict(f"An event with the short name '{slug}' exists already.", details={"slug": "taken"})
    groups, rule = fields.pop("groups", None), fields.pop("group_rule", None)
    event = Event(slug=slug, name="", badge_style={}, match_settings={}, meeting_points=[])
    _apply(event, {"name": name, **fields})
    session.add(event)
    session.flush()
    set_tags(session, event, list(tags) if not isinstance(tags, str) else tags)
    if groups is not None:
        set_groups(session, event, groups)
    if rule is not None:
        set_group_rule(session, event, rule)
    return event


def update_event(session: Session, event: Event, **fields) -> Event:
    """Change an event's details; `tags` and `groups`, when given, replace the taxonomy and the groups."""
    tags = fields.pop("tags", None)
    groups, rule = fields.pop("groups", None), fields.pop("group_rule", None)
    _apply(event, fields)
    if tags is not None:
        set_tags(session, event, tags)
    if groups is not None:
        set_groups(session, event, groups)
    if rule is not None:
        set_group_rule(session, event, rule)
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
