"""Organizer accounts: creation, password checks (Argon2id) and the login loader."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db import db
from ..errors import Conflict, ValidationFailed
from ..models import Organizer, utcnow
from ..validation import clean_email

_hasher = PasswordHasher()  # argon2-cffi defaults follow RFC 9106's recommendations
# A hash to verify against when the email is unknown, so a wrong email takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a real password")

MIN_PASSWORD_LENGTH = 10



def create_organizer(session: Session, email: str, password: str, name: str = "") -> Organizer:
    """Create an organizer account; the password needs at least MIN_PASSWORD_LENGTH characters."""
    email = clean_email(email, required=True).lower()
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"The password needs at least {MIN_PASSWORD_LENGTH} characters.",
                               details={"password": "too short"})
    if session.scalar(select(Organizer).where(Organizer.email == email)):
        raise Conflict(f"An organizer with the email {email} exists already.")
    organizer = Organizer(email=email, password_hash=_hasher.hash(password), name=name.strip())
    session.add(organizer)
    session.flush()
    return organizer


def set_password(organizer: Organizer, password: str) -> None:
    """Replace an organizer's password."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"The password needs at least {MIN_PASSWORD_LENGTH} characters.",
                               details={"password": "too short"})
    organizer.password_hash = _hasher.hash(password)


def authenticate(session: Session, email: str, password: str) -> Organizer | None:
    """The organizer with these credentials, or None; upgrades the hash when Argon2 parameters changed."""
    email = (email or "").strip().lower()
    organizer = session.scalar(select(Organizer).where(func.lower(Organizer.email) == email))
    try:
        _hasher.verify(organizer.password_hash if organizer else _DUMMY_HASH, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if organizer is None:
        return None
    if _hasher.check_needs_rehash(organizer.password_hash):
        organizer.password_hash = _hasher.hash(password)
    organizer.last_login_at = utcnow()
    return organizer


def load_organizer(user_id: str) -> Organizer | None:
    """Flask-Login's user loader."""
    try:
        return db.session.get(Organizer, int(user_id))
    except (TypeError, ValueError):
        return None
