"""Addresses people open with their phones: the public base URL, the personal link and its QR code."""
from __future__ import annotations

import qrcode
import qrcode.image.svg
from flask import current_app, has_request_context, request
from markupsafe import Markup

from .models import Event

#: Path of the link in the personal QR; the phone-page capability serves it (it sets a session and redirects).
PERSONAL_PATH = "/m/"
#: Path of the link in a badge QR.
BADGE_PATH = "/b/"


def public_base(event: Event | None = None) -> str:
    """Where phones reach this app: the event's public URL, else GIVETAKE_PUBLIC_URL, else the address in use."""
    if event is not None and event.public_url:
        return event.public_url.rstrip("/")
    if current_app.config.get("PUBLIC_URL"):
        return current_app.config["PUBLIC_URL"].rstrip("/")
    if has_request_context():
        return request.host_url.rstrip("/")
    return "http://127.0.0.1:5000"


def personal_url(token: str, event: Event | None = None) -> str:
    """The private link that opens an attendee's phone page."""
    return f"{public_base(event)}{PERSONAL_PATH}{token}"


def badge_url(token: str, event: Event | None = None) -> str:
    """The public link printed as a badge's QR code (the token only: no name, no email)."""
    return f"{public_base(event)}{BADGE_PATH}{token}"


def personal_qr_svg(url: str) -> Markup:
    """An inline SVG QR code (no request, so the token never lands in a server log as a URL)."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2, box_size=10,
                       image_factory=qrcode.image.svg.SvgPathImage)
    qr.add_data(url)
    svg = qr.make_image().to_string(encoding="unicode")
    return Markup(svg.replace("<svg ", '<svg role="img" aria-label="QR code for your personal page" ', 1))
