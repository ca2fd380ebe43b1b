"""vCards of contacts: 3.0 by default (Android's importer refuses 4.0), 4.0 on request.

Written here rather than with vobject (which the tests use to parse them): vobject writes only 3.0, and the whole
format we need is a dozen properties. User text is escaped per RFC 6350 section 3.4 / RFC 2426 section 4 (`\\`,
`,`, `;` and newlines), control characters are dropped, and lines are folded at 75 octets without splitting a
UTF-8 character, so no name, note or company can end its property early or start a new one (`END:VCARD`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

VERSIONS = ("3.0", "4.0")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass
class Card:
    """One person as a vCard holds them (only what they agreed to share is put here by the caller)."""

    first_name: str
    last_name: str = ""
    email: str = ""
    phone: str = ""
    website: str = ""
    company: str = ""
    title: str = ""
    note: str = ""
    categories: list[str] = field(default_factory=list)
    uid: str = ""


def escape(value: str) -> str:
    """A text value with backslash, comma, semicolon and newlines escaped, and control characters removed."""
    text = (value or "").replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text.replace("\t", " "))
    return (text.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;").replace("\n", "\\n"))


def fold(line: str) -> str:
    """Fold a content line at 75 octets (continuation lines start with a space), never inside a character."""
    out, current, size = [], [], 0
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > 75:
            out.append("".join(current))
            current, size = [" "], 1
        current.append(ch)
        size += n
    out.append("".join(current))
    return "\r\n".join(out)


def _uri(value: str) -> str:
    # A URL property is a URI, not text: only http(s) is stored (kiosk.validation), and nothing may break the line.
    return _CONTROL.sub("", value or "").replace("\n", "").replace(" ", "%20")


def _phone(value: str) -> str:
    return re.sub(r"[^0-9+()#*\- ./x]", "", value or "")


def card_lines(card: Card, version: str = "3.0") -> list[str]:
    """The content lines of one vCard (not folded)."""
    if version not in VERSIONS:
        raise ValueError(f"vCard version must be one of {', '.join(VERSIONS)}")
    full = " ".join(p for p in (card.first_name, card.last_name) if p) or card.first_name or "?"
    lines = ["BEGIN:VCARD", f"VERSION:{version}"]
    if version == "4.0":
        lines.append("KIND:individual")
    lines += [f"FN:{escape(full)}", f"N:{escape(card.last_name)};{escape(card.first_name)};;;"]
    if card.company:
        lines.append(f"ORG:{escape(card.company)}")
    if card.title:
        lines.append(f"TITLE:{escape(card.title)}")
    if card.email:
        lines.append(("EMAIL;TYPE=INTERNET:" if version == "3.0" else "EMAIL:") + escape(card.email))
    if card.phone:
        # text, not a tel: URI, in 4.0 too (RFC 6350 6.4.1 allows it): what people typed, as they typed it
        lines.append(("TEL;TYPE=CELL:" if version == "3.0" else "TEL;TYPE=cell:") + _phone(card.phone))
    if card.website:
        lines.append(f"URL:{_uri(card.website)}")
    if card.categories:
        lines.append("CATEGORIES:" + ",".join(escape(c) for c in card.categories if c))
    if card.note:
        lines.append(f"NOTE:{escape(card.note)}")
    if card.uid:
        lines.append(f"UID:{escape(card.uid)}")
    lines.append("END:VCARD")
    return lines


def dumps(cards: list[Card], version: str = "3.0") -> str:
    """One .vcf holding every card, CRLF line ends, folded (what contact apps import)."""
    return "".join(fold(line) + "\r\n" for card in cards for line in card_lines(card, version))
