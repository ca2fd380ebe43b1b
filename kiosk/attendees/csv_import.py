"""Attendee CSV imports: a generic sheet, Eventbrite's attendee report, pretix's order-position export and pretix's
check-in list.

The whole file is checked before anything is written, and written in one transaction: a file with a missing
column, a bad row or the wrong format imports nothing and says which row and column to fix. Re-importing the
same file updates people and never duplicates them: they are matched on their ticket (its QR secret or its
reference), and only without a ticket on their email. One buyer's email on several tickets is normal (a pretix
order for a team): those are different people.

Consents are never imported, whatever a column says: only the attendee chooses what they share (at the kiosk or
on their phone), so an imported person starts sharing nothing and a re-import leaves their choice alone.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

import charset_normalizer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import ValidationFailed
from ..models import Attendee, CardKind, Event
from ..cards.service import set_cards
from ..matching.submit import submit_after_commit
from ..validation import clean_line, fold_for_search
from ..events.service import find_group
from .service import FIELDS, apply_fields, create_attendee, set_group

MAX_ROWS = 50_000
MAX_ERRORS_SHOWN = 20
#: How many of a format's marker columns a header row must show to be read as that format.
MIN_EVIDENCE = 2
#: What an import may set on a person: never a consent (see the module's docstring).
IMPORTED_FIELDS = ("first_name", "last_name", "email", "company", "title", "pronouns", "phone", "ticket_ref",
                   "ticket_type")
SECRET_MAX_LENGTH = 200


class ImportFailed(ValidationFailed):
    """The file cannot be imported; `details` lists {"row", "column", "message"} problems."""

    code = "import_failed"


@dataclass
class Column:
    """One field we read, and the header names it goes by in the exports (in their locales), as they are written.

    Headers are compared case-insensitively, with runs of spaces and underscores folded; the first name is the
    one shown when the column is missing.
    """

    field: str
    aliases: tuple[str, ...]


@dataclass
class Format:
    """How to read one kind of export: its columns, which are required, how to recognize it, which rows to skip."""

    name: str
    label: str
    columns: list[Column]
    #: Each inner tuple is one alternative: all of its fields must be present.
    required: list[tuple[str, ...]]
    #: Columns only this export writes, each with its locale variants. A header row showing MIN_EVIDENCE of them
    #: or more is this format; when several formats qualify, the one with the most wins.
    markers: tuple[tuple[str, ...], ...] = ()
    #: (field, values) pairs: rows whose field has one of these values are skipped (cancelled tickets).
    skip_when: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: Said after "the column ... is missing": how to get a file that has it.
    missing_hint: str = ""


_COMMON = [
    Column("email", ("email", "e-mail", "email address", "e-mail address", "mail")),
    Column("company", ("company", "organization", "organisation", "company name", "firma")),
    Column("title", ("title", "job title", "role", "position title")),
    Column("pronouns", ("pronouns",)),
    Column("phone", ("phone", "phone number", "mobile", "cell phone", "mobile phone", "telefon")),
    # Ticket shops let organizers add questions; these are the wordings our docs suggest (docs/organizer-guide.md).
    Column("offer", ("offer", "offers", "i can offer", "can offer", "ask me about",
                     "what can you offer other attendees?", "what can you offer?")),
    Column("need", ("need", "needs", "looking for", "i'm looking for", "i am looking for",
                    "what are you looking for?")),
    # The organizer's groups (event settings): who may meet whom. Written by our export, typed by organizers.
    Column("group", ("group", "attendee group", "gruppe")),
]

# pretix writes a column per part of the event's name scheme ("Attendee name: Given name", ...), next to the
# whole name ("Attendee name").
_PRETIX_NAME = [
    Column("first_name", ("Attendee name: Given name", "Attendee name: First name")),
    Column("middle_name", ("Attendee name: Middle name",)),
    Column("last_name", ("Attendee name: Family name", "Attendee name: Last name", "Attendee name: Surname")),
    Column("name", ("Attendee name",)),
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
    # Eventbrite words its headers in the organizer account's locale: a UK account writes "Order no.", "Surname",
    # "Home Postcode" where a US one writes "Order #", "Last Name", "Home Zip".
    "eventbrite": Format(
        name="eventbrite", label="Eventbrite attendee report",
        columns=[Column("first_name", ("First Name", "Forename", "Given Name")),
                 Column("last_name", ("Last Name", "Surname", "Family Name")),
                 Column("ticket_ref", ("Attendee #", "Attendee no.", "Attendee no", "Attendee number",
                                       "Barcode #", "Barcode no.", "Ticket #", "Ticket no.")),
                 Column("ticket_type", ("Ticket Type",)),
                 Column("order_ref", ("Order #", "Order no.", "Order no", "Order number")),
                 Column("status", ("Attendee Status",)),
                 Column("title", ("Job Title",)),
                 *[c for c in _COMMON if c.field != "title"]],
        required=[("first_name", "last_name", "email", "ticket_ref")],
        markers=(("Order #", "Order no.", "Order no", "Order number"),
                 ("Attendee #", "Attendee no.", "Attendee no", "Attendee number"),
                 ("Barcode #", "Barcode no.", "Barcode no"),
                 ("Attendee Status",), ("Price Tier",), ("Order Type",), ("Fees Paid",), ("Eventbrite Fees",),
                 ("Eventbrite Payment Processing",),
                 ("Home Zip", "Home Postcode", "Home Post Code", "Home Postal Code")),
        skip_when=(("status", ("not attending", "refunded", "cancelled", "canceled", "deleted")),),
    ),
    "pretix": Format(
        name="pretix", label="pretix order positions export",
        columns=[Column("order_code", ("Order code",)), Column("position_id", ("Position ID",)),
                 *_PRETIX_NAME,
                 Column("attendee_email", ("Attendee email",)),
                 Column("ticket_type", ("Product",)),
                 Column("status", ("Status",)),
                 Column("ticket_secret", ("Ticket secret", "Secret")),
                 *_COMMON],
        required=[("order_code", "position_id", "name"), ("order_code", "position_id", "first_name")],
        markers=(("Order code",), ("Position ID",), ("Attendee email",), ("Pseudonymization ID",), ("Tax rule",),
                 ("Tax value",), ("Ticket secret",), ("Invoice address name",)),
        skip_when=(("status", ("canceled", "cancelled", "expired")),),
    ),
    # pretix lists only the positions valid for check-in (paid, or pending if the list allows it). It has no
    # position id: a ticket is known by its QR secret, which the export includes only when asked to.
    "pretix-checkin": Format(
        name="pretix-checkin", label="pretix check-in list",
        columns=[*_PRETIX_NAME,
                 Column("ticket_type", ("Product",)),
                 Column("ticket_secret", ("Secret",)),
                 Column("blocked", ("Blocked",)),
                 *_COMMON],
        required=[("ticket_secret", "name"), ("ticket_secret", "first_name")],
        markers=(("Order code",), ("Secret",), ("Checked in",), ("Checked out",), ("Automatically checked in",),
                 ("Requires special attention",), ("Voucher code",)),
        skip_when=(("blocked", ("yes",)),),
        missing_hint="In pretix, export the check-in list again with “Include QR-code secret” ticked: the secret "
                     "is what the attendee's ticket QR holds, and how a re-import knows them.",
    ),
}


@dataclass
class ParsedRow:
    """One attendee read from the file, cleaned, with its line number for messages."""

    line: int
    #: Personal fields (IMPORTED_FIELDS only), checked with the same rules as the forms.
    fields: dict
    offers: list[str] = field(default_factory=list)
    needs: list[str] = field(default_factory=list)
    #: The ticket's QR secret, when the export has one.
    secret: str | None = None
    #: The label of the event's group the person is in; None or "" (no column, an empty cell) changes nothing.
    group: str | None = None

    @property
    def ticket_ref(self) -> str | None:
        return self.fields.get("ticket_ref") or None

    @property
    def email(self) -> str:
        return (self.fields.get("email") or "").lower()

    @property
    def has_ticket(self) -> bool:
        return bool(self.ticket_ref or self.secret)


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


def _shows(group: tuple[str, ...], normalized: set[str]) -> bool:
    """True if the header row has the column `group` names (in any of its locale variants)."""
    return any(_norm_header(alias) in normalized for alias in group)


def detect_format(headers: list[str]) -> str:
    """Which export the header row comes from: the format showing the most of its marker columns (at least
    MIN_EVIDENCE, whatever the locale's wording), else generic."""
    normalized = {_norm_header(h) for h in headers}
    scores = {name: sum(_shows(group, normalized) for group in fmt.markers) for name, fmt in FORMATS.items()}
    best = max(scores, key=lambda name: scores[name])  # the first listed wins a tie
    return best if scores[best] >= MIN_EVIDENCE else "generic"


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


def _column_name(fmt: Format, fld: str, headers: list[str], index: dict[str, int]) -> str:
    """The column a field comes from, as the file's header row writes it (else as the export usually does)."""
    if fld not in index and fld in ("first_name", "last_name") and "name" in index:
        fld = "name"  # the first and last name were split from the whole name
    if fld in index:
        return headers[index[fld]].replace("\ufeff", "").strip()
    for column in fmt.columns:
        if column.field == fld:
            return column.aliases[0]
    return fld


def _split_items(cell: str) -> list[str]:
    return [part.strip() for part in re.split(r"\n|\s\|\s|;", cell or "") if part.strip()]


def _fail(problems: list[dict]) -> ImportFailed:
    shown = "; ".join(f"row {p['row']}" + (f", column '{p['column']}'" if p["column"] else "")
                      + f": {p['message']}" for p in problems[:MAX_ERRORS_SHOWN])
    more = f" (and {len(problems) - MAX_ERRORS_SHOWN} more)" if len(problems) > MAX_ERRORS_SHOWN else ""
    return ImportFailed(f"Nothing was imported. Fix {len(problems)} problem{'s' if len(problems) > 1 else ''}: "
                        f"{shown}{more}.", details=problems)


def _check_format(fmt_name: str | None, headers: list[str]) -> Format:
    """The format to read the file as: the one asked for (if the header row fits it), else the detected one."""
    if fmt_name and fmt_name not in FORMATS:
        raise ImportFailed(f"Unknown format '{fmt_name}'; choose one of {', '.join(FORMATS)}.")
    detected = detect_format(headers)
    if not fmt_name or fmt_name == "generic" or fmt_name == detected:
        return FORMATS[fmt_name or detected]
    wanted = FORMATS[fmt_name]
    normalized = {_norm_header(h) for h in headers}
    lacking = [group[0] for group in wanted.markers if not _shows(group, normalized)]
    raise ImportFailed(
        f"This does not look like a {wanted.label}: its header row lacks "
        f"{' and '.join(repr(name) for name in lacking[:2])}"
        + (f" (it looks like a {FORMATS[detected].label})." if detected != "generic" else "."),
        details=[{"row": 1, "column": None, "message": "wrong format"}])


@dataclass
class ParsedFile:
    """A whole file, read and checked: its format, its rows and how its header row names the columns."""

    fmt: Format
    rows: list[ParsedRow]
    skipped: int
    encoding: str
    delimiter: str
    headers: list[str]
    index: dict[str, int]

    def column(self, fld: str) -> str:
        """The header of the column a field comes from, for messages."""
        return _column_name(self.fmt, fld, self.headers, self.index)


def parse(data: bytes, fmt_name: str | None = None) -> tuple[Format, list[ParsedRow], int, str, str]:
    """Read and check the whole file: (format, rows, skipped count, encoding, delimiter), or ImportFailed."""
    parsed = read_file(data, fmt_name)
    return parsed.fmt, parsed.rows, parsed.skipped, parsed.encoding, parsed.delimiter


def read_file(data: bytes, fmt_name: str | None = None) -> ParsedFile:
    """Read and check the whole file, or raise ImportFailed naming each bad row and column."""
    if not data.strip():
        raise ImportFailed("The file is empty.")
    text, encoding = decode(data)
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        headers = next(reader)
    except StopIteration:
        raise ImportFailed("The file is empty.")
    fmt = _check_format(fmt_name, headers)
    index = _map_columns(fmt, headers)
    missing = _missing_columns(fmt, index)
    if missing:
        names = ", ".join(repr(_column_name(fmt, m, headers, index)) for m in missing)
        raise ImportFailed(f"Row 1 (the header): the column{'s' if len(missing) > 1 else ''} {names} "
                           f"{'are' if len(missing) > 1 else 'is'} missing ({fmt.label})."
                           + (f" {fmt.missing_hint}" if fmt.missing_hint else ""),
                           details=[{"row": 1, "column": _column_name(fmt, m, headers, index),
                                     "message": "missing column"} for m in missing])

    def column(fld: str) -> str:
        return _column_name(fmt, fld, headers, index)

    rows: list[ParsedRow] = []
    problems: list[dict] = []
    skipped = 0
    seen_refs: dict[str, int] = {}
    seen_secrets: dict[str, int] = {}
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
            problems.append({"row": line, "column": column(fld) if fld else None, "message": exc.message})
            continue
        # One ticket is one person: the same ticket twice is a mistake. Without a ticket, the email is the person.
        ref, secret, email = row.ticket_ref, row.secret, row.email
        if ref and ref in seen_refs:
            problems.append({"row": line, "column": column("ticket_ref"),
                             "message": f"ticket {ref} appears again (first in row {seen_refs[ref]})"})
            continue
        if secret and secret in seen_secrets:
            problems.append({"row": line, "column": column("ticket_secret"),
                             "message": f"the same ticket secret appears again (first in row {seen_secrets[secret]})"})
            continue
        if not row.has_ticket and email:
            if email in seen_emails:
                problems.append({"row": line, "column": column("email"),
                                 "message": f"{email} appears again without a ticket reference "
                                            f"(first in row {seen_emails[email]})"})
                continue
            seen_emails[email] = line
        if ref:
            seen_refs[ref] = line
        if secret:
            seen_secrets[secret] = line
        rows.append(row)
    if problems:
        raise _fail(problems)
    if not rows:
        raise ImportFailed("The file has a header but no attendees.")
    return ParsedFile(fmt, rows, skipped, encoding, delimiter, headers, index)


def _clean_secret(value: str) -> str | None:
    secret = clean_line(value, field="ticket_secret", max_length=SECRET_MAX_LENGTH, label="ticket secret")
    if any(ch.isspace() for ch in secret):
        raise ValidationFailed("A ticket secret has no spaces; this one does.",
                               details={"ticket_secret": "no spaces"})
    return secret or None


def _row_fields(fmt: Format, cell: dict[str, str], line: int) -> ParsedRow:
    fields: dict = {}
    first, last = cell.get("first_name", "").strip(), cell.get("last_name", "").strip()
    if cell.get("middle_name", "").strip():
        last = f"{cell['middle_name'].strip()} {last}".strip()
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
    secret = _clean_secret(cell["ticket_secret"]) if "ticket_secret" in cell else None
    if fmt.name == "pretix":
        fields["ticket_ref"] = f"{cell['order_code'].strip()}-{cell['position_id'].strip()}"
        if not cell["order_code"].strip() or not cell["position_id"].strip():
            raise ValidationFailed("the order code and position id are needed", details={"order_code": "required"})
    elif fmt.name == "pretix-checkin":
        if not secret:
            raise ValidationFailed("the ticket secret is empty", details={"ticket_secret": "required"})
    elif "ticket_ref" in cell:
        fields["ticket_ref"] = cell["ticket_ref"]
        if fmt.name == "eventbrite" and not cell["ticket_ref"].strip():
            raise ValidationFailed("the Attendee # is empty", details={"ticket_ref": "required"})
    # Check every value with the same rules as the forms (raises ValidationFailed naming the field).
    probe = Attendee(first_name="", last_name="", consent_share=[])
    apply_fields(probe, fields)
    cleaned = {k: getattr(probe, k) for k in fields if k in IMPORTED_FIELDS}
    return ParsedRow(line=line, fields=cleaned, offers=_split_items(cell.get("offer", "")),
                     needs=_split_items(cell.get("need", "")), secret=secret,
                     group=" ".join(cell.get("group", "").split()) or None)


class _People:
    """The event's people as an import finds them: by ticket secret, by ticket reference, by email."""

    def __init__(self, session: Session, event: Event):
        people = session.scalars(select(Attendee).where(Attendee.event_id == event.id,
                                                        Attendee.erased_at.is_(None)).order_by(Attendee.id)).all()
        self.by_secret = {a.ticket_secret: a for a in people if a.ticket_secret}
        self.by_ref = {a.ticket_ref: a for a in people if a.ticket_ref}
        self.by_email: dict[str, list[Attendee]] = {}
        for a in people:
            if a.email:
                self.by_email.setdefault(a.email.lower(), []).append(a)


def _match(row: ParsedRow, people: _People, rows_per_email: Counter, file_secrets: set[str],
           claimed: dict[int, int], column: Callable[[str], str]) -> tuple[Attendee | None, dict | None]:
    """Who an imported row is (None: someone new), or the problem that makes it ambiguous."""
    by_secret = people.by_secret.get(row.secret) if row.secret else None
    by_ref = people.by_ref.get(row.ticket_ref) if row.ticket_ref else None
    if by_secret is not None and by_ref is not None and by_secret is not by_ref:
        return None, {"row": row.line, "column": column("ticket_secret"),
                      "message": f"this ticket's secret belongs to {by_secret.full_name}, its reference "
                                 f"{row.ticket_ref} to {by_ref.full_name}"}
    found = by_secret or by_ref
    if found is not None:
        if found.id in claimed:
            return None, {"row": row.line, "column": column("ticket_ref" if by_ref else "ticket_secret"),
                          "message": f"this ticket belongs to {found.full_name}, already matched by row "
                                     f"{claimed[found.id]}"}
        return found, None
    if not row.email:
        return None, None
    candidates = [a for a in people.by_email.get(row.email, []) if a.id not in claimed]
    name = fold_for_search(" ".join(p for p in (row.fields.get("first_name"), row.fields.get("last_name")) if p))
    if row.secret and not row.ticket_ref:
        # pretix reissued this ticket (a check-in list has no position id to show it): the old secret is gone from
        # the export, and the person with it, their name and email is the one holding the new one.
        reissued = [a for a in candidates
                    if a.ticket_secret and a.ticket_secret not in file_secrets and a.search_name == name]
        if len(reissued) == 1:
            return reissued[0], None
    if row.has_ticket:
        # Someone with another ticket is another person, however alike the email: one buyer, several tickets.
        candidates = [a for a in candidates if not a.ticket_ref and not a.ticket_secret]
    if not candidates:
        return None, None
    if len(candidates) == 1 and rows_per_email[row.email] == 1:
        return candidates[0], None
    # The email is shared (several people have it here or in the file): it is the person only with their name.
    named = [a for a in candidates if a.search_name == name]
    if len(named) == 1:
        return named[0], None
    if row.has_ticket and not named:
        return None, None  # one more ticket on a shared email: someone new
    if row.has_ticket:
        return None, {"row": row.line, "column": column("email"),
                      "message": f"{len(named)} attendees without a ticket have this name and {row.email}; "
                                 f"erase the duplicate first"}
    return None, {"row": row.line, "column": column("email"),
                  "message": f"{row.email} belongs to {len(candidates)} attendees "
                             f"({', '.join(a.full_name for a in candidates[:3])}); add a ticket reference column "
                             f"so we know which one this is"}


def import_attendees(session: Session, event: Event, data: bytes, fmt_name: str | None = None, *,
                     progress: Callable[[int], None] | None = None) -> ImportReport:
    """Check the whole file, then add or update its attendees in the caller's transaction."""
    parsed = read_file(data, fmt_name)
    rows = parsed.rows
    report = ImportReport(format=parsed.fmt.name, encoding=parsed.encoding, delimiter=parsed.delimiter,
                          skipped=parsed.skipped)
    # Who each row is, decided for the whole file before anything is written (so a problem writes nothing).
    people = _People(session, event)
    rows_per_email = Counter(row.email for row in rows if row.email)
    file_secrets = {row.secret for row in rows if row.secret}
    claimed: dict[int, int] = {}
    plan: list[Attendee | None] = []
    problems: list[dict] = []
    for row in rows:
        attendee, problem = _match(row, people, rows_per_email, file_secrets, claimed, parsed.column)
        if problem:
            problems.append(problem)
        elif attendee is not None:
            claimed[attendee.id] = row.line
        if row.group:
            try:
                find_group(event, row.group)
            except ValidationFailed as exc:
                problems.append({"row": row.line, "column": parsed.column("group"), "message": exc.message})
        plan.append(attendee)
    if problems:
        raise _fail(problems)
    for done, (row, attendee) in enumerate(zip(rows, plan), start=1):
        if attendee is None:
            attendee = create_attendee(session, event, source="import", **row.fields)
            report.created += 1
        else:
            # An empty ticket cell says nothing about the ticket the person has: keep it.
            apply_fields(attendee, {k: v for k, v in row.fields.items()
                                    if (k in FIELDS or k == "email") and (v or k != "ticket_ref")})
            report.updated += 1
        if row.secret:
            attendee.ticket_secret = row.secret  # pretix may have issued a new one: the old QR stops working here too
        if row.group:
            set_group(session, event, attendee, row.group)
        if row.offers:
            set_cards(session, attendee, CardKind.offer, row.offers)
        if row.needs:
            set_cards(session, attendee, CardKind.need, row.needs)
        if (row.offers or row.needs) and attendee.checked_in_at is not None and attendee.erased_at is None:
            # A re-import that changes the cards of someone already here: the matcher looks again.
            submit_after_commit(session, "cards", event.id, attendee_id=attendee.id)
        if progress:
            progress(done)
    session.flush()
    return report


def count_attendees(session: Session, event: Event) -> int:
    """How many (non-erased) attendees the event has."""
    return session.scalar(select(func.count(Attendee.id)).where(Attendee.event_id == event.id,
                                                                Attendee.erased_at.is_(None))) or 0
