"""Pairing devices (a short code typed or scanned on the tablet) and authenticating them by token."""
from __future__ import annotations

from datetime import timedelta

from flask import current_app, g, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import Forbidden, NotFound, ValidationFailed
from ..models import Device, DeviceKind, Event, utcnow
from ..tokens import DEVICE_TOKEN_LENGTH, PAIRING_CODE_LENGTH, hash_token, new_token, normalize_token
from ..validation import clean_line

PAIRING_TTL = timedelta(minutes=15)
COOKIE = "gt_device"
#: How often a device's last_seen_at is written (every request would make every page view a write).
SEEN_EVERY = timedelta(minutes=1)


def create_device(session: Session, event: Event, kind: DeviceKind | str, name: str = "") -> Device:
    """A new device waiting to be paired, with a short pairing code valid for PAIRING_TTL."""
    kind = DeviceKind(kind)
    name = clean_line(name, field="name", max_length=100) or f"{kind.value.title()} {_count(session, event, kind) + 1}"
    device = Device(event_id=event.id, kind=kind, name=name, printers=[],
                    pairing_code=new_token(PAIRING_CODE_LENGTH), pairing_expires_at=utcnow() + PAIRING_TTL)
    session.add(device)
    session.flush()
    return device


def _count(session: Session, event: Event, kind: DeviceKind) -> int:
    return len(session.scalars(select(Device.id).where(Device.event_id == event.id, Device.kind == kind)).all())


def new_pairing_code(device: Device) -> str:
    """Issue a fresh code for an existing device (re-pairing a replaced tablet); its old token stops working."""
    device.pairing_code = new_token(PAIRING_CODE_LENGTH)
    device.pairing_expires_at = utcnow() + PAIRING_TTL
    device.token_hash = None
    device.revoked_at = None
    return device.pairing_code


def pair(session: Session, code: str) -> tuple[Device, str]:
    """Exchange a pairing code for a device token (returned once; only its hash is stored)."""
    code = normalize_token(code)
    if len(code) != PAIRING_CODE_LENGTH:
        raise ValidationFailed(f"A pairing code has {PAIRING_CODE_LENGTH} letters and digits.",
                               details={"code": "wrong length"})
    device = session.scalar(select(Device).where(Device.pairing_code == code))
    if device is None or device.revoked_at is not None:
        raise NotFound("That pairing code is not valid. Check it in admin, under Devices.", code="bad_pairing_code")
    if device.pairing_expires_at is None or device.pairing_expires_at < utcnow():
        raise ValidationFailed("That pairing code has expired. Make a new one in admin, under Devices.",
                               code="pairing_code_expired")
    token = new_token(DEVICE_TOKEN_LENGTH)
    device.token_hash = hash_token(token)
    device.pairing_code = None
    device.pairing_expires_at = None
    device.last_seen_at = utcnow()
    session.flush()
    return device, token


def revoke(device: Device) -> None:
    """Unpair a device: its token stops working at once."""
    device.revoked_at = utcnow()
    device.token_hash = None
    device.pairing_code = None


def device_from_token(session: Session, token: str | None) -> Device | None:
    """The active device with this token, or None."""
    token = normalize_token(token or "")
    if len(token) != DEVICE_TOKEN_LENGTH:
        return None
    device = session.scalar(select(Device).where(Device.token_hash == hash_token(token)))
    if device is None or device.revoked_at is not None:
        return None
    return device


def request_token() -> str | None:
    """The device token of this request: `Authorization: Bearer ...` or the paired-browser cookie."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(COOKIE)


def current_device(session: Session) -> Device | None:
    """The paired device making this request (cached on `g`), marking it as seen now and then."""
    if "gt_device" not in g:
        device = device_from_token(session, request_token())
        if device is not None and (device.last_seen_at is None or utcnow() - device.last_seen_at > SEEN_EVERY):
            device.last_seen_at = utcnow()  # written by the request's transaction (a short write once a minute)
        g.gt_device = device
    return g.gt_device


def require_device(session: Session, *kinds: DeviceKind) -> Device:
    """The current device, which must be one of `kinds`, or Forbidden."""
    device = current_device(session)
    if device is None:
        raise Forbidden("This device is not paired. Ask an organizer for a pairing code.", code="not_paired")
    if kinds and device.kind not in kinds:
        raise Forbidden(f"A {device.kind.value} cannot do this.", code="wrong_device")
    return device


def set_device_cookie(response, token: str) -> None:
    """Remember the pairing in this browser: HttpOnly (scripts never see the token), a year long."""
    response.set_cookie(COOKIE, token, max_age=365 * 24 * 3600, httponly=True, samesite="Lax",
                        secure=request.is_secure)


def note_phone_check() -> None:
    """Remember that a phone opened the ready panel's test QR just now (in this process: the laptop tier's one)."""
    current_app.extensions["givetake.phone_check"] = utcnow()


def phone_check_seen():
    """When a phone last opened the test QR's page, or None."""
    return current_app.extensions.get("givetake.phone_check")
