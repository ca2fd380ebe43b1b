"""Configuration from environment variables, with safe defaults for one laptop at the venue."""
from __future__ import annotations

import os
import secrets
import unicodedata
from pathlib import Path

from . import resources

#: Environment variables read by `Config.from_env`, with what each one sets.
ENV_VARS = {
    "GIVETAKE_DATABASE_URL": "SQLAlchemy URL (default: SQLite under instance/)",
    "GIVETAKE_SECRET_KEY": "signs sessions and CSRF tokens (default: generated once, kept in instance/secret_key)",
    "GIVETAKE_PUBLIC_URL": "the address printed in badge QR codes, e.g. https://event.example.org",
    "GIVETAKE_REDIS_URL": "Redis for scale-out: Socket.IO message queue, matcher queue, rate limits",
    "GIVETAKE_SMTP_HOST": "mail server that `givetake mail` sends attendee summaries through (unset: no mail)",
    "GIVETAKE_SMTP_PORT": "mail server port (default 587; 465 with GIVETAKE_SMTP_SECURITY=ssl)",
    "GIVETAKE_SMTP_USER": "mail login (unset: no login)",
    "GIVETAKE_SMTP_PASSWORD": "mail password",
    "GIVETAKE_SMTP_FROM": "sender of the mails, e.g. 'Example Conf <hello@example.org>' (required with a host)",
    "GIVETAKE_SMTP_SECURITY": "starttls (the default), ssl (TLS from the start, port 465) or none (plain text: "
                              "only for a relay on this machine, 127.0.0.1; a login would cross the wire readable)",
    "GIVETAKE_SMTP_TIMEOUT": "seconds to wait for the mail server before giving up on it (default 30)",
    "GIVETAKE_PRINTER": "default CUPS queue for badges",
    "GIVETAKE_MATCHER": "inprocess (a thread, the laptop default), redis (a separate `givetake matcher`) or off",
    "GIVETAKE_ASYNC_MODE": "how `givetake serve` runs: auto (gevent when installed, the default), gevent, threading",
    "GIVETAKE_INSTANCE_PATH": "absolute folder for the SQLite database, secret key and generated files (default: "
                              "instance/ in a checkout, <environment>/var/givetake-instance when installed)",
    "GIVETAKE_KIOSK_IDLE_SECONDS": "seconds without a touch before a kiosk clears itself (default 90)",
    "GIVETAKE_KIOSK_DONE_SECONDS": "seconds the kiosk's last screen (the personal QR) stays (default 25)",
    "GIVETAKE_PROXY_HOPS": "reverse proxies in front of the app (nginx: 1) whose X-Forwarded-* headers to trust",
}


class ConfigError(ValueError):
    """A setting that cannot be used as given; the message names the setting and what to give instead."""


#: No folder a person picks contains these, but a Python repr that leaked into a path does
#: (`(PosixPath('/tmp/x'), 'output')` once made a folder of that name in the checkout).
_REPR_CHARACTERS = frozenset("()'\"")


def instance_path(config: dict, environ) -> str:
    """The instance folder: `INSTANCE_PATH` in `config`, else GIVETAKE_INSTANCE_PATH, else the default
    (`resources.default_instance_dir`). A configured one must be absolute (after `~`) and plain."""
    for setting, raw in (("INSTANCE_PATH", config.get("INSTANCE_PATH")),
                         ("GIVETAKE_INSTANCE_PATH", environ.get("GIVETAKE_INSTANCE_PATH"))):
        if raw:
            return checked_instance_path(raw, setting)
    return str(resources.default_instance_dir())


def checked_instance_path(raw, setting: str = "GIVETAKE_INSTANCE_PATH") -> str:
    """`raw` with `~` expanded and normalized; ConfigError when it is not a path, relative, or odd."""
    try:
        path = os.path.expanduser(os.fspath(raw))
    except TypeError:
        raise ConfigError(f"{setting} must be a folder path, not a {type(raw).__name__}: {raw!r}") from None
    odd = sorted({c for c in path if c in _REPR_CHARACTERS or unicodedata.category(c) == "Cc"})
    if odd:
        raise ConfigError(f"{setting} {path!r} contains {' '.join(map(repr, odd))}: give a plain folder path "
                          "such as /var/lib/givetake (was something other than a path turned into text?)")
    if not os.path.isabs(path):
        raise ConfigError(f"{setting} {path!r} is relative: give an absolute folder path such as "
                          "/var/lib/givetake (a relative one lands wherever the command happens to start)")
    return os.path.normpath(path)


def load_or_create_secret_key(instance_path: str) -> str:
    """Return the secret key kept in `instance/secret_key`, creating it (mode 0600) on first use."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        key = path.read_text().strip()
        if key:
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key


#: How the connection to the mail server is protected (GIVETAKE_SMTP_SECURITY), and each one's usual port.
SMTP_SECURITY_PORTS = {"starttls": 587, "ssl": 465, "none": 587}


def smtp_settings(env) -> dict:
    """The SMTP_* settings from GIVETAKE_SMTP_*; ConfigError for a value that cannot work (before any mail)."""
    host = (env.get("GIVETAKE_SMTP_HOST") or "").strip() or None
    security = (env.get("GIVETAKE_SMTP_SECURITY") or "starttls").strip().lower()
    if security not in SMTP_SECURITY_PORTS:
        raise ConfigError(f"GIVETAKE_SMTP_SECURITY {security!r} is not one of starttls, ssl, none")
    numbers = {}
    for name, default in (("PORT", SMTP_SECURITY_PORTS[security]), ("TIMEOUT", 30)):
        raw = (env.get(f"GIVETAKE_SMTP_{name}") or "").strip()
        try:
            numbers[name] = int(raw) if raw else default
        except ValueError:
            raise ConfigError(f"GIVETAKE_SMTP_{name} {raw!r} is not a whole number") from None
        if numbers[name] <= 0:
            raise ConfigError(f"GIVETAKE_SMTP_{name} must be above 0, not {raw}")
    sender = (env.get("GIVETAKE_SMTP_FROM") or "").strip() or None
    if host and not sender:
        raise ConfigError("GIVETAKE_SMTP_FROM is required with GIVETAKE_SMTP_HOST: the sender attendees see and "
                          "reply to, e.g. 'Example Conf <hello@example.org>'")
    if sender:
        _check_sender(sender)
    return {"SMTP_HOST": host, "SMTP_PORT": numbers["PORT"], "SMTP_USER": env.get("GIVETAKE_SMTP_USER") or None,
            "SMTP_PASSWORD": env.get("GIVETAKE_SMTP_PASSWORD") or None, "SMTP_FROM": sender,
            "SMTP_SECURITY": security, "SMTP_TIMEOUT": numbers["TIMEOUT"]}


def _check_sender(sender: str) -> None:
    from email.utils import parseaddr
    address = parseaddr(sender)[1]
    if any(c in sender for c in "\r\n") or "@" not in address or any(c.isspace() for c in address):
        raise ConfigError(f"GIVETAKE_SMTP_FROM {sender!r} is not one address: give e.g. hello@example.org or "
                          "'Example Conf <hello@example.org>'")


def from_env(instance_path: str, environ: dict[str, str] | None = None) -> dict:
    """Build the app's config mapping from environment variables, filling in laptop defaults."""
    env = os.environ if environ is None else environ
    database_url = env.get("GIVETAKE_DATABASE_URL") or f"sqlite:///{Path(instance_path) / 'givetake.db'}"
    return {
        "DATABASE_URL": database_url,
        "SECRET_KEY": env.get("GIVETAKE_SECRET_KEY") or load_or_create_secret_key(instance_path),
        "PUBLIC_URL": (env.get("GIVETAKE_PUBLIC_URL") or "").rstrip("/") or None,
        "REDIS_URL": env.get("GIVETAKE_REDIS_URL") or None,
        **smtp_settings(env),
        "PRINTER": env.get("GIVETAKE_PRINTER") or None,
        "MATCHER": env.get("GIVETAKE_MATCHER") or None,
        # Cookies: HttpOnly always, SameSite=Lax so the personal-QR link still opens a session from the camera app.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        # The month-long "remember me" cookie is always Secure: over the venue's plain http an organizer simply stays
        # logged in for the browser session. The session cookie is marked Secure per request when it came over
        # HTTPS (kiosk.app): a tablet on the venue's plain-http address must still be able to pair and keep one.
        "REMEMBER_COOKIE_SECURE": True,
        "REMEMBER_COOKIE_DURATION": 30 * 24 * 3600,
        "KIOSK_IDLE_SECONDS": int(env.get("GIVETAKE_KIOSK_IDLE_SECONDS") or 90),
        "KIOSK_DONE_SECONDS": int(env.get("GIVETAKE_KIOSK_DONE_SECONDS") or 25),
        "PROXY_HOPS": int(env.get("GIVETAKE_PROXY_HOPS") or 0),
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,  # CSV imports and logos; nothing legitimate is bigger
        "WTF_CSRF_TIME_LIMIT": None,  # a kiosk form may stay open all day; the token is still per-session
    }
