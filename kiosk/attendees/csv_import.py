"""Attendee CSV imports: a generic sheet, Eventbrite's attendee report and pretix's order-position export.

The whole file is checked before anything is written, and written in one transaction: a file with a missing
column, a bad row or the wrong format imports nothing and says which row and column to fix. Re-importing the
same file updates people (matched on ticket reference, then email) and never duplicates them.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, field
from typing import Callable

import charset_normalizer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import ValidationFailed
from ..models import Attendee, CardKind, Event
from ..cards.service import set_cards
from ..matching.submit import submit_after_commit
from .service import FIELDS, apply_fields, create_attendee

MAX_ROWS = 50_000
MAX_ERRORS_SHOWN = 20


class ImportFailed(ValidationFailed):
    """The file cannot be imported; `details` lists {"row", "column", "message"} problems."""

    code = "import_failed"


@dataclass
class Column:
    """One field we read, with the header names it goes by in the supported exports (compared case-insensitively)."""

    field: str
    aliases: tuple[str, ...]


@dataclass
class Format:
    """How to read one kind of export: its columns, which are required, and which rows to skip."""

    name: str
    label: str
    columns: list[Column]
    #: Each inner tuple is one alternative: all of its fields must be present.
    required: list[tuple[str, ...]]
    #: Header names whose presence identifies this format.
    signature: tuple[str, ...] = ()
    #: (field, values) pairs: rows whose field has one of these values are skipped (cancelled tickets).
    skip_when: tuple[tuple[str, tuple[str, ...]], ...] = ()


_COMMON = [
    Column("email", ("email", "e-mail", "email address", "e-mail address", "mail")),
    Column("company", ("company", "organization", "organisation", "company name", "firma")),
    Column("title", ("title", "job title", "role", "position title")),
    Column("pronouns", ("pronouns",)),
    Column("phone", ("phone", "phone number", "mobile", "cell phone", "telefon")),
    # Ticket shops let organizers add questions; these are the wordings our docs suggest (docs/organizer-guide.md).
    Column("offer", ("offer", "offers", "i can offer", "can offer", "ask me about",
                     "what can you offer other attendees?", "what can you offer?")),
    Column("need", ("need", "needs", "looking for", "i'm looking for", "i am looking for",
                    "what are you looking for?")),
]

FORMATS: dict[str, Format] = {
    "generic": Format(
        name="generic", label="Generic CSV",
        columns=[Column("first_name", ("first_name", "first name", "firstname", "given name", "vorname")),
                 Column("last_name", ("last_name", "last name", "lastname", "surname", "family name", "nachname")),
                 Column("name", ("name", "full name", "attendee name")),
                 Column("ticket_ref", ("ticket_ref", "ticket ref", "ticket id", "ticket", "ticket reference",
                                       "ticket number", "reference")),
                 Column("ticket_type", ("ticket_type", "ticket type", "type", "category")),
                 *_COMMON],
        required=[("first_name",), ("name",)],
    ),
    "eventbrite": Format(
        name="eventbrite", label="Eventbrite attendee report",
        columns=[Column("first_name", ("first name",)), Column("last_name", ("last name",)),
                 Column("ticket_ref", ("attendee #", "barcode #", "ticket #")),
                 Column("ticket_type", ("ticket type",)),
                 Column("order_ref", ("order #", "order no.")),
                 Column("status", ("attendee status",)),
                 Column("title", ("job title",)),
                 *[c for c in _COMMON if c.field != "title"]],
        required=[("first_name", "last_name", "email", "ticket_ref")],
        signature=("order #", "attendee #"),
        skip_when=(("status", ("not attending", "refunded", "cancelled", "canceled", "deleted")),),
    ),
    "pretix": Format(
        name="pretix", label="pretix order positions export",
        columns=[Column("order_code", ("order code",)), Column("position_id", ("position id",)),
                 Column("first_name", ("attendee name: given name",)),
                 Column("last_name", ("attendee name: family name",)),
                 Column("name", ("attendee name",)),
                 Column("attendee_email", ("attendee email",)),
                 Column("ticket_type", ("product",)),
                 Column("status", ("status",)),
                 *_COMMON],
        required=[("order_code", "position_id", "name"), ("order_code", "position_id", "first_name")],
        signature=("order code", "position id"),
        skip_when=(("status", ("canceled", "cancelled", "expired")),),
    ),
}


@dataclass
class ParsedRow:
    """One attendee read from the file, cleaned, with its line number for messages."""

    line: int
    fields: dict
    offers: list[str] = field(default_factory=list)
    needs: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    """What an import did."""

    format: str
    encoding: str
    delimiter: str
    created: int = 0
    updated: int = 0
    skipped: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated

    def summary(self) -> str:
        return (f"{self.created} added, {self.updated} updated, {self.skipped} skipped "
                f"({FORMATS[self.format].label}, {self.encoding}, delimiter {self.delimiter!r})")


def decode(data: bytes) -> tuple[str, str]:
    """The file's text and the encoding it was in: UTF-8 (with or without BOM), UTF-16, else detected, else cp1252."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    # Excel on Windows saves "CSV" in the ANSI code page; cp1252 covers Western Europe and the Americas. Only
    # when cp1252 cannot decode the bytes, or the detector is sure of another single-byte code page, use that.
    best = charset_normalizer.from_bytes(data).best()
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = None
    if best is not None and best.encoding not in ("cp1252", "latin_1", "iso8859_15", "cp1250") \
            and (text is None or best.coherence > 0.5):
        return str(best), best.encoding
    if text is not None:
        return text, "cp1252"
    if best is not None:
        return str(best), best.encoding
    raise ImportFailed("The file is not text in an encoding we can read; save it as CSV (UTF-8) and try again.")


def sniff_delimiter(text: str) -> str:
    """The field delimiter: comma, semicolon (German Excel), tab or pipe."""
    header = text.split("\n", 1)[0]
    try:
        return csv.Sniffer().sniff(text[:8192], delimiters=",;\t|").delimiter
    except csv.Error:
        counts = {d: header.count(d) for d in ",;\t|"}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def _norm_header(name: str) -> str:
    return re.sub(r"\s+", " ", (name or "").replace("\ufeff", "").strip().lower().replace("_", " "))


def detect_format(headers: list[str]) -> str:
    """Which export the header row comes from."""
    normalized = {_norm_header(h) for h in headers}
    for fmt in FORMATS.values():
        if fmt.signature and all(sig in normalized for sig in fmt.signature):
            return fmt.name
    return "generic"


def _map_columns(fmt: Format, headers: list[str]) -> dict[str, int]:
    index: dict[str, int] = {}
    normalized = [_norm_header(h) for h in headers]
    for column in fmt.columns:
        for alias in column.aliases:
            alias = _norm_header(alias)
            if alias in normalized and column.field not in index:
                index[column.field] = normalized.index(alias)
                break
    return index


def _missing_columns(fmt: Format, index: dict[str, int]) -> list[str] | None:
    best: list[str] | None = None
    for option in fmt.required:
        missing = [f for f in option if f not in index]
        if not missing:
            return None
        if best is None or len(missing) < len(best):
            best = missing
    return best


def _header_for(fmt: Format, fld: str) -> str:
    for column in fmt.columns:
        if column.field == fld:
            return column.aliases[0].title() if fmt.name != "generic" else column.aliases[0]
    return fld


def _split_items(cell: str) -> list[str]:
    return [part.strip() for part in re.split(r"\n|\s\|\s|;", cell or "") if part.strip()]


def parse(data: bytes, fmt_name: str | None = None) -> tuple[Format, list[ParsedRow], int, str, str]:
    """Read and check the whole file: (format, rows, skipped count, encoding, delimiter), or ImportFailed."""
    if not data.strip():
        raise ImportFailed("The file is empty.")
    text, encoding = decode(data)
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        headers = next(reader)
    except StopIteration:
        raise ImportFailed("The file is empty.")
    detected = detect_format(headers)
    if fmt_name and fmt_name not in FORMATS:
        raise ImportFailed(f"Unknown format '{fmt_name}'; choose one of {', '.join(FORMATS)}.")
    if fmt_name and fmt_name != "generic" and detected != fmt_name:
        raise ImportFailed(
            f"This does not look like a {FORMATS[fmt_name].label}: its header row lacks "
            f"{' and '.join(repr(s.title()) for s in FORMATS[fmt_name].signature)}"
            + (f" (it looks like a {FORMATS[detected].label})." if detected != "generic" else "."),
            details=[{"row": 1, "column": None, "message": "wrong format"}])
    fmt = FORMATS[fmt_name or detected]
    index = _map_columns(fmt, headers)
    missing = _missing_columns(fmt, index)
    if missing:
        names = ", ".join(repr(_header_for(fmt, m)) for m in missing)
        raise ImportFailed(f"Row 1 (the header): the column{'s' if len(missing) > 1 else ''} {names} "
                           f"{'are' if len(missing) > 1 else 'is'} missing ({fmt.label}).",
                           details=[{"row": 1, "column": _header_for(fmt, m), "message": "missing column"}
                                    for m in missing])

    rows: list[ParsedRow] = []
    problems: list[dict] = []
    skipped = 0
    seen_refs: dict[str, int] = {}
    seen_emails: dict[str, int] = {}
    for line, raw in enumerate(reader, start=2):
        if not any(cell.strip() for cell in raw):
            continue
        if len(rows) >= MAX_ROWS:
            raise ImportFailed(f"The file has more than {MAX_ROWS} rows; split it.")
        cell = {f: (raw[i] if i < len(raw) else "") for f, i in index.items()}
        if any(cell.get(f, "").strip().lower() in values for f, values in fmt.skip_when):
            skipped += 1
            continue
        try:
            row = _row_fields(fmt, cell, line)
        except ValidationFailed as exc:
            fld = next(iter(exc.details)) if isinstance(exc.details, dict) and exc.details else None
            problems.append({"row": line, "column": _header_for(fmt, fld) if fld else None, "message": exc.message})
            continue
        ref = row.fields.get("ticket_ref")
        email = (row.fields.get("email") or "").lower()
        if ref:
            if ref in seen_refs:
                problems.append({"row": line, "column": _header_for(fmt, "ticket_ref"),
                                 "message": f"ticket {ref} appears again (first in row {seen_refs[ref]})"})
                continue
            seen_refs[ref] = line
        elif email:
            if email in seen_emails:
                problems.append({"row": line, "column": _header_for(fmt, "email"),
                                 "message": f"{email} appears again without a ticket reference "
                                            f"(first in row {seen_emails[email]})"})
                continue
            seen_emails[email] = line
        rows.append(row)
    if problems:
        shown = "; ".join(f"row {p['row']}" + (f", column '{p['column']}'" if p["column"] else "")
                          + f": {p['message']}" for p in problems[:MAX_ERRORS_SHOWN])
        more = f" (and {len(problems) - MAX_ERRORS_SHOWN} more)" if len(problems) > MAX_ERRORS_SHOWN else ""
        raise ImportFailed(f"Nothing was imported. Fix {len(problems)} problem{'s' if len(problems) > 1 else ''}: "
                           f"{shown}{more}.", details=problems)
    if not rows:
        raise ImportFailed("The file has a header but no attendees.")
    return fmt, rows, skipped, encoding, delimiter


def _row_fields(fmt: Format, cell: dict[str, str], line: int) -> ParsedRow:
    fields: dict = {}
    first, last = cell.get("first_name", "").strip(), cell.get("last_name", "").strip()
    if not first and cell.get("name", "").strip():
        parts = cell["name"].strip().split(None, 1)
        first, last = parts[0], (parts[1] if len(parts) > 1 else "")
    fields["first_name"], fields["last_name"] = first, last
    for key in ("company", "title", "pronouns", "phone", "ticket_type"):
        if key in cell:
            fields[key] = cell[key]
    email = cell.get("attendee_email", "").strip() or cell.get("email", "").strip()
    if "email" in cell or "attendee_email" in cell:
        fields["email"] = email
    if fmt.name == "pretix":
        fields["ticket_ref"] = f"{cell['order_code'].strip()}-{cell['position_id'].strip()}"
        if not cell["order_code"].strip() or not cell["position_id"].strip():
            raise ValidationFailed("the order code and position id are needed", details={"order_code": "required"})
    elif "ticket_ref" in cell:
        fields["ticket_ref"] = cell["ticket_ref"]
        if fmt.name == "eventbrite" and not cell["ticket_ref"].strip():
            raise ValidationFailed("the Attendee # is empty", details={"ticket_ref": "required"})
    # Check every value with the same rules as the forms (raises ValidationFailed naming the field).
    probe = Attendee(first_name="", last_name="", consent_share=[])
    apply_fields(probe, fields)
    cleaned = {k: getattr(probe, k) for k in fields}
    return ParsedRow(line=line, fields=cleaned, offers=_split_items(cell.get("offer", "")),
                     needs=_split_items(cell.get("need", "")))


def import_attendees(session: Session, event: Event, data: bytes, fmt_name: str | None = None, *,
                     progress: Callable[[int], None] | None = None) -> ImportReport:
    """Check the whole file, then add or update its attendees in the caller's transaction."""
    fmt, rows, skipped, encoding, delimiter = parse(data, fmt_name)
    report = ImportReport(format=fmt.name, encoding=encoding, delimiter=delimiter, skipped=skipped)
    by_ref = {a.ticket_ref: a for a in session.scalars(
        select(Attendee).where(Attendee.event_id == event.id, Attendee.ticket_ref.is_not(None)))}
    by_email: dict[str, Attendee] = {}
    for a in session.scalars(select(Attendee).where(Attendee.event_id == event.id, Attendee.email.is_not(None),
                                                    Attendee.erased_at.is_(None)).order_by(Attendee.id)):
        by_email.setdefault(a.email.lower(), a)
    for done, row in enumerate(rows, start=1):
        ref = row.fields.get("ticket_ref")
        email = (row.fields.get("email") or "").lower()
        attendee = by_ref.get(ref) if ref else None
        if attendee is None and email:
            candidate = by_email.get(email)
            # Same email but a different ticket is a different person (one buyer, several tickets).
            if candidate is not None and (not ref or not candidate.ticket_ref):
                attendee = candidate
        if attendee is None:
            attendee = create_attendee(session, event, source="import", **row.fields)
            report.created += 1
        else:
            apply_fields(attendee, {k: v for k, v in row.fields.items() if k in FIELDS or k == "email"})
            report.updated += 1
        if row.offers:
            set_cards(session, attendee, CardKind.offer, row.offers)
        if row.needs:
            set_cards(session, attendee, CardKind.need, row.needs)
        if (row.offers or row.needs) and attendee.checked_in_at is not None and attendee.erased_at is None:
            # A re-import that changes the cards of someone already here: the matcher looks again.
            submit_after_commit(session, "cards", event.id, attendee_id=attendee.id)
        if ref:
            by_ref[ref] = attendee
        if email:
            by_email.setdefault(email, attendee)
        if progress:
            progress(done)
    session.flush()
    return report


def count_attendees(session: Session, event: Event) -> int:
    """How many (non-erased) attendees the event has."""
    return session.scalar(select(func.count(Attendee.id)).where(Attendee.event_id == event.id,
                                                                Attendee.erased_at.is_(None))) or 0
