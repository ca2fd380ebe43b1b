"""Unguessable tokens for badges, personal pages and devices.

Tokens come from an alphabet without look-alike characters (no 0/O, 1/I/L) so a person can read one off a
badge, and they are case-insensitive; 20 characters carry 100 bits, never derived from ids.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # 31 symbols: no 0 O 1 I L
BADGE_TOKEN_LENGTH = 21  # log2(31) * 21 = 104 bits
PERSONAL_TOKEN_LENGTH = 26  # 129 bits
DEVICE_TOKEN_LENGTH = 32  # 158 bits
PAIRING_CODE_LENGTH = 6  # short-lived; typed on a tablet, so short; guarded by expiry and rate limits


def new_token(length: int = BADGE_TOKEN_LENGTH) -> str:
    """A random token of `length` symbols from the unambiguous alphabet."""
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def normalize_token(raw: str) -> str:
    """Canonical form of a token someone typed or scanned: upper case, without spaces or dashes."""
    return "".join(ch for ch in (raw or "").upper() if ch not in " -_\t\r\n")


def is_well_formed(token: str, length: int) -> bool:
    """True if `token` has the length and alphabet of our tokens (cheap check before any lookup)."""
    return len(token) == length and all(ch in ALPHABET for ch in token)


def hash_token(token: str) -> str:
    """SHA-256 of a secret token: what we store for personal and device tokens, so a database leak opens nothing."""
    return hashlib.sha256(token.encode("ascii", "ignore")).hexdigest()


def tokens_equal(a: str, b: str) -> bool:
    """Compare two tokens in constant time."""
    return hmac.compare_digest(a.encode(), b.encode())
