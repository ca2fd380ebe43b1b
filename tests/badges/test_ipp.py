"""The IPP codec on its own: requests byte for byte, responses with sets, collections and broken input."""
from __future__ import annotations

import struct

import pytest

from kiosk.badges import ipp
from kiosk.badges.ipp import Attr


def _attr(tag: int, name: str, value: bytes) -> bytes:
    return struct.pack(">BH", tag, len(name)) + name.encode() + struct.pack(">H", len(value)) + value


def test_a_request_is_encoded_as_rfc_8010_lays_it_out():
    body = ipp.encode_request(ipp.CANCEL_JOB, 7, [ipp.operation_attributes(
        Attr(ipp.URI, "job-uri", "ipp://localhost/jobs/12"), Attr(ipp.INTEGER, "job-id", 12))], b"%PDF")
    expected = (b"\x02\x00" + b"\x00\x08" + b"\x00\x00\x00\x07" + b"\x01"
                + _attr(0x47, "attributes-charset", b"utf-8") + _attr(0x48, "attributes-natural-language", b"en")
                + _attr(0x45, "job-uri", b"ipp://localhost/jobs/12") + _attr(0x21, "job-id", b"\x00\x00\x00\x0c")
                + b"\x03" + b"%PDF")
    assert body == expected


def test_additional_values_of_a_set_repeat_the_tag_with_an_empty_name():
    body = ipp.encode_request(ipp.CUPS_GET_PRINTERS, 1, [(ipp.OPERATION_ATTRIBUTES, [
        Attr(ipp.KEYWORD, "requested-attributes", "printer-name", "printer-state")])])
    assert body[9:] == (_attr(0x44, "requested-attributes", b"printer-name") + _attr(0x44, "", b"printer-state")
                        + b"\x03")


def test_every_tag_we_send_round_trips():
    attrs = [Attr(ipp.INTEGER, "copies", 2), Attr(ipp.INTEGER, "negative", -5), Attr(ipp.BOOLEAN, "yes", True),
             Attr(ipp.BOOLEAN, "no", False), Attr(ipp.ENUM, "printer-state", 5),
             Attr(ipp.KEYWORD, "reasons", "paused", "media-empty"), Attr(ipp.NAME, "job-name", "Zoë 山田"),
             Attr(ipp.TEXT, "printer-info", "Front desk"), Attr(ipp.URI, "printer-uri", "ipp://h/printers/A"),
             Attr(ipp.CHARSET, "cs", "utf-8"), Attr(ipp.NATURAL_LANGUAGE, "nl", "de-de"),
             Attr(ipp.MIME_MEDIA_TYPE, "document-format", "application/pdf")]
    data = ipp.encode_response(0x0001, 99, [ipp.operation_attributes(), (ipp.PRINTER_ATTRIBUTES, attrs),
                                            (ipp.PRINTER_ATTRIBUTES, [Attr(ipp.NAME, "printer-name", "B")])])
    response = ipp.decode_response(data + b"trailing document")
    assert (response.version, response.status, response.request_id) == ((2, 0), 1, 99)
    assert response.ok and response.status_name == "successful-ok-ignored-or-substituted-attributes"
    first, second = response.groups_of(ipp.PRINTER_ATTRIBUTES)
    assert {name: values for name, values in first.attributes.items()} == {
        "copies": [2], "negative": [-5], "yes": [True], "no": [False], "printer-state": [5],
        "reasons": ["paused", "media-empty"], "job-name": ["Zoë 山田"], "printer-info": ["Front desk"],
        "printer-uri": ["ipp://h/printers/A"], "cs": ["utf-8"], "nl": ["de-de"],
        "document-format": ["application/pdf"]}
    assert second.get("printer-name") == "B" and first.all("reasons") == ["paused", "media-empty"]
    assert response.data == b"trailing document"


def test_a_response_with_collections_languages_and_out_of_band_values_decodes():
    media_col = (_attr(0x34, "media-col-default", b"")
                 + _attr(0x4A, "", b"media-size") + _attr(0x34, "", b"")
                 + _attr(0x4A, "", b"x-dimension") + _attr(0x21, "", struct.pack(">i", 10160))
                 + _attr(0x4A, "", b"y-dimension") + _attr(0x21, "", struct.pack(">i", 7620))
                 + _attr(0x37, "", b"")
                 + _attr(0x4A, "", b"media-type") + _attr(0x44, "", b"labels")
                 + _attr(0x37, "", b""))
    text_lang = struct.pack(">H", 5) + b"fr-fr" + struct.pack(">H", 7) + "Bourré".encode()
    data = (b"\x02\x00\x00\x00\x00\x00\x00\x01" + b"\x01"
            + _attr(0x47, "attributes-charset", b"utf-8")
            + _attr(0x35, "status-message", text_lang)
            + b"\x04"
            + media_col
            + _attr(0x13, "printer-alert", b"")
            + _attr(0x33, "copies-supported", struct.pack(">ii", 1, 9999))
            + _attr(0x31, "printer-current-time", b"\x07\xea\x0c\x01\x15\x1e\x00\x00+\x00\x00")
            + _attr(0x44, "printer-name-after", b"ok")
            + b"\x03")
    response = ipp.decode_response(data)
    printer = response.groups_of(ipp.PRINTER_ATTRIBUTES)[0]
    assert printer.get("media-col-default") == {"media-size": [{"x-dimension": [10160], "y-dimension": [7620]}],
                                                "media-type": ["labels"]}
    assert printer.attributes["printer-alert"] == [None]
    assert printer.get("copies-supported") == (1, 9999)
    assert isinstance(printer.get("printer-current-time"), bytes)
    assert printer.get("printer-name-after") == "ok"  # decoding went on after the collection
    assert response.status_message == "Bourré"


def test_an_error_status_keeps_its_name_and_message():
    data = ipp.encode_response(0x0406, 3, [ipp.operation_attributes(
        Attr(ipp.TEXT, "status-message", "The printer or class does not exist."))])
    response = ipp.decode_response(data)
    assert not response.ok and response.status_name == "client-error-not-found"
    assert response.status_message == "The printer or class does not exist."
    assert ipp.decode_response(ipp.encode_response(0x0777, 3, [])).status_name == "0x0777"


@pytest.mark.parametrize("cut", [0, 5, 9, 12, 30, -1])
def test_a_truncated_response_is_a_clear_ipp_error(cut):
    whole = ipp.encode_response(0, 1, [ipp.operation_attributes(Attr(ipp.TEXT, "status-message", "fine"))])
    with pytest.raises(ipp.IPPError, match="truncated"):
        ipp.decode_response(whole[:cut])


@pytest.mark.parametrize("data, says", [
    (b"\x02\x00\x00\x00\x00\x00\x00\x01" + _attr(0x21, "job-id", b"\x00\x00\x00\x01") + b"\x03",
     "before any attribute group"),
    (b"\x02\x00\x00\x00\x00\x00\x00\x01\x02" + _attr(0x21, "job-id", b"\x00\x01") + b"\x03", "integer value of 2"),
    (b"\x02\x00\x00\x00\x00\x00\x00\x01\x02" + _attr(0x44, "", b"x") + b"\x03", "no attribute before it"),
    (b"\x02\x00\x00\x00\x00\x00\x00\x01\x04" + _attr(0x34, "c", b"") + _attr(0x44, "", b"x") + b"\x03",
     "without a member name"),
    (b"\x02\x00\x00\x00\x00\x00\x00\x01\x04" + _attr(0x34, "c", b"") + b"\x03", "not closed"),
])
def test_malformed_responses_say_what_is_wrong(data, says):
    with pytest.raises(ipp.IPPError, match=says):
        ipp.decode_response(data)


def test_values_that_cannot_be_sent_are_refused():
    with pytest.raises(ValueError, match="too long"):
        ipp.encode_request(ipp.PRINT_JOB, 1, [ipp.operation_attributes(Attr(ipp.NAME, "job-name", "x" * 70000))])
    with pytest.raises(ValueError, match="no value"):
        ipp.encode_request(ipp.PRINT_JOB, 1, [ipp.operation_attributes(Attr(ipp.NAME, "job-name"))])
