"""Addresses people open with their phones: the public base URL, the personal link and its QR code."""
from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import qrcode
import qrcode.image.svg
from flask import current_app, has_request_context, request
from markupsafe import Markup, escape

from .models import Event

#: Path of the link in the personal QR; the phone-page capability serves it (it sets a session and redirects).
PERSONAL_PATH = "/m/"
#: Path of the link in a badge QR.
BADGE_PATH = "/b/"
#: Path of the pre-event link (cards filled at home); the pre-event capability serves it like the personal link.
PREPARE_PATH = "/p/"


def public_base(event: Event | None = None) -> str:
    """Where phones reach this app: the event's public URL, else GIVETAKE_PUBLIC_URL, else the address in use."""
    if event is not None and event.public_url:
        return event.public_url.rstrip("/")
    if current_app.config.get("PUBLIC_URL"):
        return current_app.config["PUBLIC_URL"].rstrip("/")
    if has_request_context():
        return request.host_url.rstrip("/")
    return "http://127.0.0.1:5000"


def is_loopback(url: str) -> bool:
    """True for an address only this machine can open (127.x, localhost, ::1): useless in a printed QR code."""
    host = (urlsplit(url).hostname or "").lower()
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host.endswith(".localhost")


def lan_address() -> str | None:
    """This machine's address on the local network (what phones at the venue can reach), if it has one.

    Asks the kernel which interface would route to a private address; nothing is sent.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 9))
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if ipaddress.ip_address(address).is_loopback else address


def public_url_problem(event: Event | None = None) -> str | None:
    """Why QR codes would not open on phones, or None: no public URL set, or one only this machine can open."""
    configured = (event.public_url if event is not None else None) or current_app.config.get("PUBLIC_URL")
    if not configured:
        return ("No public URL is set: QR codes point at whatever address this page was opened with. Set "
                "GIVETAKE_PUBLIC_URL (or the event's public URL) to the address phones use.")
    if is_loopback(configured):
        return (f"The public URL {configured} opens only on this laptop: phones scanning a badge or the kiosk's "
                "code cannot reach it. Use the laptop's address on the venue network.")
    return None


def public_url_help(event: Event | None = None) -> dict:
    """What admin pages show about the public URL: the problem, if any, and this machine's LAN address."""
    problem = public_url_problem(event)
    port = (request.host.rpartition(":")[2] if has_request_context() and ":" in request.host else "5000")
    return {"url_problem": problem, "lan": lan_address() if problem else None, "port": port}


def personal_url(token: str, event: Event | None = None) -> str:
    """The private link that opens an attendee's phone page."""
    return f"{public_base(event)}{PERSONAL_PATH}{token}"


def prepare_url(token: str, event: Event | None = None) -> str:
    """The private pre-event link that opens an attendee's card page before the event (mailed, or in a shop)."""
    return f"{public_base(event)}{PREPARE_PATH}{token}"


def badge_url(token: str, event: Event | None = None) -> str:
    """The public link printed as a badge's QR code (the token only: no name, no email)."""
    return f"{public_base(event)}{BADGE_PATH}{token}"


def qr_svg(url: str, label: str) -> Markup:
    """An inline SVG QR code of `url` (no request, so a token in it never lands in a server log as a URL)."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2, box_size=10,
                       image_factory=qrcode.image.svg.SvgPathImage)
    qr.add_data(url)
    svg = qr.make_image().to_string(encoding="unicode")
    return Markup(svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1))


def personal_qr_svg(url: str) -> Markup:
    """The QR code that opens an attendee's phone page."""
    return qr_svg(url, "QR code for your personal page")
