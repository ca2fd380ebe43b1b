"""How an attendee is shown to each audience, defined once: a kiosk's lookup list, the live screen, a round
partner's phone, the API (contact details for organizers only)."""
from __future__ import annotations

from ..cards.service import cards_payload
from ..models import Attendee
from .service import group_label


def for_lookup(attendee: Attendee) -> dict:
    """Just enough to choose yourself from a list: first name, last initial, company (no email, no ticket, no
    id: kiosks get a choice token beside it, organizers the id)."""
    return {"first_name": attendee.first_name,
            "last_initial": (attendee.last_name[:1] + ".") if attendee.last_name else "",
            "company": attendee.company, "checked_in": attendee.checked_in_at is not None}


def for_screen(attendee: Attendee) -> dict:
    """A badge number always; the first name only with consent to the screen."""
    return {"badge": attendee.id, "first_name": attendee.first_name if attendee.consent_screen else None}


def for_partner(attendee: Attendee) -> dict:
    """What a round partner's phone shows to find them: names, company, title, badge number."""
    return {"id": attendee.id, "first_name": attendee.first_name, "last_name": attendee.last_name,
            "company": attendee.company, "title": attendee.title, "badge": attendee.id}


def for_api(attendee: Attendee, full: bool) -> dict:
    """An attendee as the API shows them; contact details (`full`) only to organizers."""
    body = {"id": attendee.id, "first_name": attendee.first_name, "last_name": attendee.last_name,
            "company": attendee.company, "title": attendee.title, "pronouns": attendee.pronouns,
            "ticket_type": attendee.ticket_type, "source": attendee.source,
            "checked_in_at": attendee.checked_in_at.isoformat() if attendee.checked_in_at else None,
            "consent_screen": attendee.consent_screen, "consent_share": list(attendee.consent_share or []),
            **cards_payload(attendee)}
    if full:
        body.update(email=attendee.email, phone=attendee.phone, website=attendee.website, ticket_ref=attendee.ticket_ref,
                    group=group_label(attendee.event, attendee) or None)
    return body
