"""A sponsor's leads as CSV (safe to open in a spreadsheet) and as vCards: what each person shares, nothing more."""
from __future__ import annotations

import csv
import io

from sqlalchemy.orm import Session

from flask_babel import gettext as _

from ..attendees.csv_export import safe_cell
from ..errors import ValidationFailed
from ..events.service import slugify
from ..models import Sponsor
from ..scanning import vcard
from ..scanning.service import shared_fields
from .service import leads_of

#: The shared fields in the order of the CSV's columns (blank where the person does not share one).
SHARED_COLUMNS = ("email", "phone", "website", "company", "title")
COLUMNS = ["scanned_at", "first_name", "last_name", *SHARED_COLUMNS, "rating", "note"]


def rows(session: Session, sponsor: Sponsor) -> list[list[str]]:
    """The header (with one column per qualifier question), then one row per lead, oldest first."""
    questions = list(sponsor.questions or [])
    out = [[safe_cell(c) for c in COLUMNS + questions]]
    for lead, attendee in reversed(leads_of(session, sponsor)):
        shared = shared_fields(attendee)
        values = [lead.created_at.isoformat(timespec="seconds"), attendee.first_name, attendee.last_name,
                  *(shared.get(f, "") for f in SHARED_COLUMNS), lead.rating.value if lead.rating else "",
                  lead.note, *((lead.answers or {}).get(q, "") for q in questions)]
        out.append([safe_cell(v) for v in values])
    return out


def leads_csv(session: Session, sponsor: Sponsor) -> bytes:
    """The CSV as UTF-8 with a BOM (so Excel reads accents, Arabic and CJK right)."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n").writerows(rows(session, sponsor))
    return buffer.getvalue().encode("utf-8-sig")


def vcard_version(raw: str | None) -> str:
    """The vCard version asked for: 3.0 unless 4.0 (what Android's importer reads is the default)."""
    version = (raw or "3.0").strip()
    if version not in vcard.VERSIONS:
        raise ValidationFailed(_("vCard version is 3.0 or 4.0."), details={"version": "3.0 or 4.0"})
    return version


def leads_vcf(session: Session, sponsor: Sponsor, version: str = "3.0") -> str:
    """One .vcf with a card per lead; NOTE holds the rating and the booth's note."""
    cards = []
    for lead, attendee in reversed(leads_of(session, sponsor)):
        shared = shared_fields(attendee)
        note = " · ".join(p for p in ((lead.rating.value.upper() if lead.rating else ""), lead.note or "") if p)
        cards.append(vcard.Card(first_name=attendee.first_name, last_name=attendee.last_name, note=note,
                                categories=[sponsor.name], uid=f"givetake-lead-{lead.id}",
                                **{f: shared.get(f, "") for f in SHARED_COLUMNS}))
    return vcard.dumps(cards, version)


def filename(sponsor: Sponsor, ext: str) -> str:
    """An ASCII file name for the download ("acme-corp-leads.csv")."""
    return f"{slugify(sponsor.name)}-leads.{ext}"
