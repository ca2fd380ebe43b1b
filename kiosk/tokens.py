"""Unguessable tokens for badges, personal pages and devices.

Tokens come from an alphabet without look-alike characters (no 0/O, 1/I/L) so a person can read one off a
badge, and they are case-insensitive; 20 characters carry 100 bits, never derived from ids.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # 31 symbols: no 0 O 1 I L
BADGE_TOKEN_LENGTH = 21  # log2(31) * 21 = 104 bits
PERSONAL_TOKEN_LENGTH = 26  # 129 bits
DEVICE_TOKEN_LENGTH = 32  # 158 bits
PAIRING_CODE_LENGTH = 6
#: Symbols of a badge token printed under its QR, to type when a camera cannot read it (with the badge number;
#: 31^6 = 887 million codes per badge, behind per-attendee and per-address rate limits).
SHORT_CODE_LENGTH = 6  # short-lived; typed on a tablet, so short; guarded by expiry and rate limits


def new_token(length: int = BADGE_TOKEN_LENGTH) -> str:
    """A random token of `length` symbols from the unambiguous alphabet."""
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def derived_token(purpose: str, nonce: str, length: int = PERSONAL_TOKEN_LENGTH) -> str:
    """A token recomputed from a random stored `nonce` and the app's secret key (HMAC-SHA256, in our alphabet).

    For links an organizer must be able to copy again (the pre-event link): the database keeps the nonce and the
    token's hash, so a database alone opens nothing; 26 symbols carry 129 bits, as a personal token does.
    """
    digest = hmac.new(current_app.secret_key.encode(), f"givetake.{purpose}.{nonce}".encode(), hashlib.sha256)
    number, symbols = int.from_bytes(digest.digest(), "big"), []
    for _ in range(length):
        number, index = divmod(number, len(ALPHABET))
        symbols.append(ALPHABET[index])
    return "".join(symbols)


def short_code(badge_token: str) -> str:
    """The code printed under a badge's QR, "K7M-Q2P": the first symbols of its (random) token, readable."""
    code = badge_token[:SHORT_CODE_LENGTH]
    return f"{code[:3]}-{code[3:]}"


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


def sign(payload: dict, purpose: str) -> str:
    """A short-lived, tamper-proof token carrying `payload` for one `purpose` (signed with the app's key)."""
    return URLSafeTimedSerializer(current_app.secret_key, salt=f"givetake.{purpose}").dumps(payload)


def unsign(token: str, purpose: str, max_age: int) -> dict | None:
    """The payload of a token made by `sign` for this purpose, or None when it is forged, garbled or too old."""
    if not isinstance(token, str) or len(token) > 500:
        return None
    try:
        payload = URLSafeTimedSerializer(current_app.secret_key, salt=f"givetake.{purpose}").loads(
            token, max_age=max_age)
    except BadData:
        return None
    return payload if isinstance(payload, dict) else None


def fingerprint(token_hash: str | None) -> str | None:
    """Which generation of a personal token a phone session was opened with (a prefix of its stored hash)."""
    return token_hash[:16] if token_hash else None


def _keystream(key: str, length: int) -> bytes:
    blocks = (hmac.new(key.encode(), f"givetake.seal.{i}".encode(), hashlib.sha256).digest()
              for i in range(-(-length // 32)))
    return b"".join(blocks)[:length]


def seal(secret: str, key: str) -> str:
    """`secret` encrypted under `key` (hex), for a value stored once per key: a stored API answer keeps its
    personal token sealed under the client's Idempotency-Key, of which only a hash is stored, so the database
    alone opens nothing. (A one-time pad from HMAC-SHA256 as the keystream: sound because a key seals one value.)"""
    data = secret.encode()
    return bytes(a ^ b for a, b in zip(data, _keystream(key, len(data)))).hex()


def unseal(sealed: str, key: str) -> str | None:
    """What `seal` sealed, given the same key; None when it does not decode."""
    try:
        data = bytes.fromhex(sealed)
        return bytes(a ^ b for a, b in zip(data, _keystream(key, len(data)))).decode()
    except (ValueError, UnicodeDecodeError):
        return None


def instance_fingerprint() -> str:
    """A short public name of this installation (derived from its secret key, which it does not reveal): how
    `givetake doctor` and the ready panel know that the server answering at the public URL is this one."""
    return hmac.new(current_app.secret_key.encode(), b"givetake.instance", hashlib.sha256).hexdigest()[:16]
