"""A small IPP codec (RFC 8010 encoding, RFC 8011 model): what kiosk.badges.printing needs to talk to CUPS.

Why our own: the serving process must never fork (a fork while a native thread holds OpenBLAS's lock froze the
gevent server for good), so `lp`/`lpstat` are out; pyipp and aioipp speak IPP only through asyncio and aiohttp,
and this app is synchronous on gevent or threads; pycups needs a compiler and libcups headers to install, and its
calls block inside C where gevent cannot switch, so one slow cupsd would stall every socket. IPP itself is a
small binary format over HTTP POST: the few operations we send and the answers we read fit in this module, and
`http.client` (whose sockets gevent makes cooperative) carries them.

A message is: version (2 bytes), operation id or status code (2), request id (4), attribute groups (a delimiter
tag each, then attributes: value tag, name, value; an attribute's further values repeat it with an empty name),
the end-of-attributes tag, then the document data.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Iterable

# ------------------------------------------------------------------------------------------- tags (RFC 8010)

#: Delimiter tags: each starts an attribute group (END closes the last).
OPERATION_ATTRIBUTES = 0x01
JOB_ATTRIBUTES = 0x02
END_OF_ATTRIBUTES = 0x03
PRINTER_ATTRIBUTES = 0x04
UNSUPPORTED_ATTRIBUTES = 0x05

#: Value tags.
UNSUPPORTED = 0x10
UNKNOWN = 0x12
NO_VALUE = 0x13
INTEGER = 0x21
BOOLEAN = 0x22
ENUM = 0x23
OCTET_STRING = 0x30
DATE_TIME = 0x31
RESOLUTION = 0x32
RANGE_OF_INTEGER = 0x33
BEGIN_COLLECTION = 0x34
TEXT_WITH_LANGUAGE = 0x35
NAME_WITH_LANGUAGE = 0x36
END_COLLECTION = 0x37
TEXT = 0x41
NAME = 0x42
KEYWORD = 0x44
URI = 0x45
URI_SCHEME = 0x46
CHARSET = 0x47
NATURAL_LANGUAGE = 0x48
MIME_MEDIA_TYPE = 0x49
MEMBER_ATTR_NAME = 0x4A
EXTENSION = 0x7F

_STRING_TAGS = {TEXT, NAME, KEYWORD, URI, URI_SCHEME, CHARSET, NATURAL_LANGUAGE, MIME_MEDIA_TYPE, MEMBER_ATTR_NAME}
_INTEGER_TAGS = {INTEGER, ENUM}
_OUT_OF_BAND = {UNSUPPORTED, UNKNOWN, NO_VALUE, 0x11, 0x14, 0x15, 0x16, 0x17}

# ------------------------------------------------------------------------------------ operations and status

PRINT_JOB = 0x0002
CANCEL_JOB = 0x0008
GET_JOB_ATTRIBUTES = 0x0009
GET_PRINTER_ATTRIBUTES = 0x000B
CUPS_GET_DEFAULT = 0x4001
CUPS_GET_PRINTERS = 0x4002

#: Status codes we name in messages (RFC 8011 section 4.1.6, plus CUPS's); others show as hex.
STATUS_NAMES = {
    0x0000: "successful-ok", 0x0001: "successful-ok-ignored-or-substituted-attributes",
    0x0002: "successful-ok-conflicting-attributes",
    0x0400: "client-error-bad-request", 0x0401: "client-error-forbidden",
    0x0402: "client-error-not-authenticated", 0x0403: "client-error-not-authorized",
    0x0404: "client-error-not-possible", 0x0405: "client-error-timeout", 0x0406: "client-error-not-found",
    0x0407: "client-error-gone", 0x0408: "client-error-request-entity-too-large",
    0x040A: "client-error-document-format-not-supported",
    0x040B: "client-error-attributes-or-values-not-supported", 0x0500: "server-error-internal-error",
    0x0501: "server-error-operation-not-supported", 0x0502: "server-error-service-unavailable",
    0x0503: "server-error-version-not-supported", 0x0506: "server-error-not-accepting-jobs",
    0x0507: "server-error-busy", 0x0508: "server-error-job-canceled",
}
NOT_FOUND = 0x0406

#: job-state (RFC 8011 section 5.3.7) and printer-state (5.4.11) enums.
JOB_STATES = {3: "pending", 4: "pending-held", 5: "processing", 6: "processing-stopped", 7: "canceled",
              8: "aborted", 9: "completed"}
PRINTER_STATES = {3: "idle", 4: "processing", 5: "stopped"}


class IPPError(ValueError):
    """Bytes that are not a well-formed IPP message (truncated, or a length that runs past the end)."""


# ---------------------------------------------------------------------------------------------- encoding


@dataclass(frozen=True)
class Attr:
    """One attribute to send: its value tag, name and one or more values (several make a 1setOf)."""

    tag: int
    name: str
    values: tuple

    def __init__(self, tag: int, name: str, *values):
        object.__setattr__(self, "tag", tag)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "values", values)


def _encode_value(tag: int, value) -> bytes:
    if tag in _INTEGER_TAGS:
        return struct.pack(">i", int(value))
    if tag == BOOLEAN:
        return b"\x01" if value else b"\x00"
    if tag in _STRING_TAGS:
        return str(value).encode("utf-8")
    if tag in _OUT_OF_BAND:
        return b""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    raise ValueError(f"cannot encode value tag 0x{tag:02x}")


def _encode_attr(attr: Attr) -> bytes:
    if not attr.values and attr.tag not in _OUT_OF_BAND:
        raise ValueError(f"attribute {attr.name} has no value")
    out = bytearray()
    for i, value in enumerate(attr.values or (None,)):
        name = attr.name.encode("ascii") if i == 0 else b""
        raw = _encode_value(attr.tag, value)
        if len(name) > 0xFFFF or len(raw) > 0xFFFF:
            raise ValueError(f"attribute {attr.name} is too long for IPP")
        out += struct.pack(">BH", attr.tag, len(name)) + name + struct.pack(">H", len(raw)) + raw
    return bytes(out)


def encode_request(operation: int, request_id: int, groups: Iterable[tuple[int, Iterable[Attr]]],
                   data: bytes = b"", version: tuple[int, int] = (2, 0)) -> bytes:
    """An IPP request: header, each (delimiter tag, attributes) group in order, end tag, then the document."""
    out = bytearray(struct.pack(">BBHI", version[0], version[1], operation, request_id))
    for delimiter, attrs in groups:
        out.append(delimiter)
        for attr in attrs:
            out += _encode_attr(attr)
    out.append(END_OF_ATTRIBUTES)
    return bytes(out) + data


def operation_attributes(*attrs: Attr, language: str = "en") -> tuple[int, list[Attr]]:
    """The operation group, led by the attributes-charset and -natural-language every request must start with."""
    return OPERATION_ATTRIBUTES, [Attr(CHARSET, "attributes-charset", "utf-8"),
                                  Attr(NATURAL_LANGUAGE, "attributes-natural-language", language), *attrs]


# ---------------------------------------------------------------------------------------------- decoding


@dataclass
class Group:
    """An attribute group of a response: its delimiter tag and {name: [values]}."""

    tag: int
    attributes: dict[str, list] = field(default_factory=dict)

    def get(self, name: str, default=None):
        """The first value of an attribute, or `default`."""
        values = self.attributes.get(name)
        return values[0] if values else default

    def all(self, name: str) -> list:
        """Every value of an attribute (a 1setOf), [] when absent."""
        return list(self.attributes.get(name, []))


@dataclass
class Response:
    """A decoded IPP response."""

    version: tuple[int, int]
    status: int
    request_id: int
    groups: list[Group]
    data: bytes = b""

    @property
    def ok(self) -> bool:
        """True for the successful-ok family (0x0000-0x00ff)."""
        return self.status < 0x0100

    @property
    def status_name(self) -> str:
        return STATUS_NAMES.get(self.status, f"0x{self.status:04x}")

    @property
    def status_message(self) -> str:
        """The operation group's status-message (what the server says went wrong), or ""."""
        for group in self.groups_of(OPERATION_ATTRIBUTES):
            message = group.get("status-message")
            if message:
                return str(message)
        return ""

    def groups_of(self, tag: int) -> list[Group]:
        """Every group with this delimiter tag, in order (CUPS-Get-Printers answers one per printer)."""
        return [g for g in self.groups if g.tag == tag]


class _Reader:
    def __init__(self, data: bytes):
        self.data = memoryview(data)
        self.pos = 0

    def take(self, n: int, what: str) -> bytes:
        if self.pos + n > len(self.data):
            raise IPPError(f"IPP message truncated in {what} (byte {self.pos} of {len(self.data)}, "
                           f"{n} more needed)")
        chunk = bytes(self.data[self.pos:self.pos + n])
        self.pos += n
        return chunk

    def peek(self, what: str) -> int:
        if self.pos >= len(self.data):
            raise IPPError(f"IPP message truncated before {what} (no end-of-attributes tag)")
        return self.data[self.pos]


def _decode_value(tag: int, raw: bytes):
    if tag in _INTEGER_TAGS:
        if len(raw) != 4:
            raise IPPError(f"an integer value of {len(raw)} bytes")
        return struct.unpack(">i", raw)[0]
    if tag == BOOLEAN:
        if len(raw) != 1:
            raise IPPError(f"a boolean value of {len(raw)} bytes")
        return raw != b"\x00"
    if tag in _STRING_TAGS:
        return raw.decode("utf-8", "replace")
    if tag in (TEXT_WITH_LANGUAGE, NAME_WITH_LANGUAGE):
        # language length, language, text length, text: we keep the text
        if len(raw) < 4:
            raise IPPError("a text-with-language value too short")
        lang_len = struct.unpack(">H", raw[:2])[0]
        text_start = 2 + lang_len + 2
        if text_start > len(raw):
            raise IPPError("a text-with-language value too short")
        text_len = struct.unpack(">H", raw[2 + lang_len:text_start])[0]
        return raw[text_start:text_start + text_len].decode("utf-8", "replace")
    if tag == RANGE_OF_INTEGER and len(raw) == 8:
        return struct.unpack(">ii", raw)
    if tag == RESOLUTION and len(raw) == 9:
        return struct.unpack(">iib", raw)
    if tag in _OUT_OF_BAND:
        return None
    return raw  # octetString, dateTime and extensions: the bytes as sent


def _read_attribute(reader: _Reader) -> tuple[int, str, bytes]:
    tag = reader.take(1, "a value tag")[0]
    if tag == EXTENSION:  # the real tag follows in 4 bytes (RFC 8010 section 3.5.2)
        tag = struct.unpack(">I", reader.take(4, "an extension tag"))[0]
    name_len = struct.unpack(">H", reader.take(2, "a name length"))[0]
    name = reader.take(name_len, "an attribute name").decode("utf-8", "replace")
    value_len = struct.unpack(">H", reader.take(2, "a value length"))[0]
    return tag, name, reader.take(value_len, f"the value of {name or 'an attribute'}")


def _read_collection(reader: _Reader) -> dict:
    """The members of a collection after its begCollection, up to and including its endCollection."""
    members: dict[str, list] = {}
    current = None
    while True:
        if reader.peek("the end of a collection") <= 0x0F:
            raise IPPError("a collection not closed before the next attribute group")
        tag, name, raw = _read_attribute(reader)
        if tag == END_COLLECTION:
            return members
        if tag == MEMBER_ATTR_NAME:
            current = members.setdefault(raw.decode("utf-8", "replace"), [])
            continue
        if current is None:
            raise IPPError("a collection value without a member name")
        current.append(_read_collection(reader) if tag == BEGIN_COLLECTION else _decode_value(tag, raw))


def decode_response(data: bytes) -> Response:
    """Decode an IPP response; IPPError (with what was cut where) if it is not a whole IPP message.

    1setOf values become lists; collections become dicts of member name -> values (nested as sent).
    """
    reader = _Reader(data)
    major, minor, status, request_id = struct.unpack(">BBHI", reader.take(8, "the header"))
    groups: list[Group] = []
    group: Group | None = None
    last: list | None = None
    while True:
        tag = reader.peek("an attribute")
        if tag <= 0x0F:  # a delimiter
            reader.pos += 1
            if tag == END_OF_ATTRIBUTES:
                break
            group = Group(tag)
            groups.append(group)
            last = None
            continue
        if group is None:
            raise IPPError("an attribute before any attribute group")
        tag, name, raw = _read_attribute(reader)
        value = _read_collection(reader) if tag == BEGIN_COLLECTION else _decode_value(tag, raw)
        if name:
            last = group.attributes.setdefault(name, [])
        elif last is None:
            raise IPPError("an additional value with no attribute before it")
        last.append(value)
    return Response((major, minor), status, request_id, groups, bytes(reader.data[reader.pos:]))


# ------------------------------------------------------------------------------- encoding a response (tests)


def encode_response(status: int, request_id: int, groups: Iterable[tuple[int, Iterable[Attr]]],
                    version: tuple[int, int] = (2, 0)) -> bytes:
    """A response in the same layout as a request (the status code where the operation id goes): for tests."""
    return encode_request(status, request_id, groups, version=version)
