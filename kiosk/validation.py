"""Cleaning and checking of user-supplied text: one set of rules for forms, the API and CSV imports."""
from __future__ import annotations

import re
import unicodedata

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .errors import ValidationFailed

#: How fields are named in messages people read (translated).
FIELD_LABELS = {"first_name": _l("first name"), "last_name": _l("last name"), "email": _l("email"),
                "company": _l("company"), "title": _l("role"), "pronouns": _l("pronouns"), "phone": _l("phone"), "website": _l("website"),
                "offer": _l("offer"), "need": _l("need"), "name": _l("name")}

# C0/C1 control characters except tab/newline; bidi overrides that can disguise a name ("Trojan Source").
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SPACES = re.compile(r"\s+")
EMAIL_RE = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]{2,}$")


def _check_presence_and_length(text: str, field: str, max_length: int, required: bool, label) -> None:
    name = label or FIELD_LABELS.get(field) or field.replace("_", " ")
    if required and not text:
        raise ValidationFailed(_("Please fill in the %(field)s.", field=name), details={field: "required"})
    if len(text) > max_length:
        raise ValidationFailed(_("The %(field)s is too long (%(n)d characters; at most %(max)d).", field=name,
                                 n=len(text), max=max_length), details={field: f"at most {max_length} characters"})


def clean_line(value, *, field: str, max_length: int, required: bool = False, label: str | None = None) -> str:
    """One line of text: NFC, control characters removed, runs of white space folded, length checked."""
    text = "" if value is None else str(value)
    text = _SPACES.sub(" ", _CONTROL.sub("", unicodedata.normalize("NFC", text))).strip()
    _check_presence_and_length(text, field, max_length, required, label)
    return text


def clean_paragraph(value, *, field: str, max_length: int, required: bool = False) -> str:
    """Free text that may span lines (cards, notes): like clean_line but keeps single newlines."""
    text = "" if value is None else str(value)
    text = _CONTROL.sub("", unicodedata.normalize("NFC", text)).replace("\r\n", "\n").replace("\r", "\n")
    text = "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    _check_presence_and_length(text, field, max_length, required, None)
    return text


def clean_email(value, *, field: str = "email", required: bool = False) -> str | None:
    """An email address lower-cased in its domain, or None when empty and not required."""
    text = clean_line(value, field=field, max_length=254, required=required)
    if not text:
        return None
    if not EMAIL_RE.match(text):
        raise ValidationFailed(_("'%(value)s' is not an email address.", value=text),
                               details={field: "not an email address"})
    local, _at, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}"


def clean_website(value, *, field: str = "website") -> str | None:
    """A web address someone shares (homepage, LinkedIn): http(s) only, "example.org/me" gets https://."""
    text = clean_line(value, field=field, max_length=300)
    if not text:
        return None
    if "://" not in text:
        text = "https://" + text
    scheme, _sep, rest = text.partition("://")
    host = rest.split("/", 1)[0]
    if scheme.lower() not in ("http", "https") or " " in text or "." not in host or any(c in text for c in "<>\"\\"):
        raise ValidationFailed(_("'%(value)s' is not a web address (like https://example.org).", value=value),
                               details={field: "not a web address"})
    return f"{scheme.lower()}://{rest}"


def fold_for_search(text: str) -> str:
    """Case- and accent-insensitive form for prefix search ("José Núñez" -> "jose nunez"); other scripts kept."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.casefold()).strip()
