"""Replayable writes: the first answer to a request with an idempotency key, given again to its retries.

A kiosk or phone on venue Wi-Fi cannot tell a request that never arrived from an answer that was lost on the way
back, so it sends again with the same key. Both the JSON API (the `Idempotency-Key` header, kiosk.api.views) and
the kiosk's and phone's HTML forms (a hidden `idem` field, `replayable` below) store the first successful answer in
the request's own transaction and answer a retry with it, doing nothing again: no second check-in, print job,
walk-in or accept.

Answers are scoped to whoever sent them (a device, an attendee's phone, an organizer; a browser's own session for
the pairing page) and the route, so a key from another device never replays someone else's answer. Only a hash of
the key is stored, and what the answer carried that is secret (a personal token, the session it set, a device
cookie) is sealed under the key itself: the database alone opens nothing. Answers expire after `KEEP_ANSWERS`.
"""
from __future__ import annotations

import copy
import functools
import json
import secrets
from collections.abc import Callable
from datetime import timedelta

import flask
from flask import current_app, g, jsonify, redirect, request
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .db import db
from .errors import DomainError, ValidationFailed
from .extensions import limiter
from .models import IdempotentResponse, utcnow
from .tokens import hash_token, seal, unseal

#: How long the first answer to a key is kept for retries (and a key's reuse is answered from it).
KEEP_ANSWERS = timedelta(hours=24)
#: Longest key accepted (the API's header and the forms' field alike).
MAX_KEY_LENGTH = 100
#: The hidden form field that carries a form's key.
FORM_FIELD = "idem"
#: The session entry naming this browser, for pages a browser uses before it is a device (the pairing page).
BROWSER = "browser"
#: Seconds a form attempt (its key and what it sent) is remembered for rate limits (`first_attempt`).
ATTEMPT_WINDOW = 600


def checked_key(raw: str | None, *, status: int = 422) -> str:
    """The key a client sent ('' for none), or a clear error when it is too long or not printable."""
    key = (raw or "").strip()
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationFailed(f"An idempotency key must be at most {MAX_KEY_LENGTH} printable characters.",
                               code="bad_idempotency_key", status=status)
    return key


def new_key() -> str:
    """A fresh random key for one form as rendered (128 bits)."""
    return secrets.token_urlsafe(16)


def actor_scope(*, device=None, attendee=None, organizer=None) -> str | None:
    """Who sent a write, as stored answers are scoped: one attendee's phone, one device, one organizer."""
    if attendee is not None:
        return f"attendee:{attendee.id}"
    if device is not None:
        return f"device:{device.id}"
    if organizer is not None:
        return f"organizer:{organizer.id}"
    return None


def browser_scope() -> str | None:
    """This browser, by the random name its signed session carries (see `form_key`), before it is a device."""
    name = flask.session.get(BROWSER)
    return f"browser:{name}" if isinstance(name, str) and name else None


def _column(scope: str) -> str:
    # The column holds 120 characters: a longer scope (a long path) keeps its start and a digest of the whole.
    return scope if len(scope) <= 120 else scope[:56] + hash_token(scope)


def stored_answer(session: Session, scope: str, key: str) -> IdempotentResponse | None:
    """The first answer given to `key` in `scope`, unless it has expired."""
    return session.scalar(select(IdempotentResponse).where(
        IdempotentResponse.scope == _column(scope), IdempotentResponse.key == hash_token(key),
        IdempotentResponse.created_at >= utcnow() - KEEP_ANSWERS))


def remember(session: Session, scope: str, key: str, status: int, body: dict) -> None:
    """Store the first answer to `key` in this request's transaction (and drop expired answers, whoever gave them).
    Raises IntegrityError when a concurrent attempt with the same key stored its answer first."""
    session.execute(delete(IdempotentResponse).where(IdempotentResponse.created_at < utcnow() - KEEP_ANSWERS))
    session.add(IdempotentResponse(scope=_column(scope), key=hash_token(key), status_code=status, body=body))
    session.flush()


def sealed(body: dict, key: str, secret_fields: tuple[str, ...]) -> dict:
    """`body` with its secret fields moved into one value sealed under the key."""
    secrets_ = {k: body[k] for k in secret_fields if body.get(k)}
    if not secrets_:
        return body
    return {**{k: v for k, v in body.items() if k not in secrets_}, "_sealed": seal(json.dumps(secrets_), key)}


def unsealed(stored: dict, key: str) -> dict:
    """A stored body with its sealed fields opened again."""
    body = dict(stored)
    packed = body.pop("_sealed", None)
    if packed is not None:
        body.update(json.loads(unseal(packed, key) or "{}"))
    return body


def first_attempt(*sent: str) -> bool:
    """True unless this form key already sent exactly `sent` within ATTEMPT_WINDOW: a retry of an attempt that
    was answered (say a wrong pairing code whose answer was lost) must not count again toward a rate limit, while
    the same key with anything else sent counts as a new attempt. Kept in the rate limiter's storage (memory on
    a laptop, Redis in scale-out), since an answer with an error status rolls back the database."""
    key = request.form.get(FORM_FIELD, "")
    if not key:
        return True
    marker = hash_token("\x1f".join((request.endpoint or "", browser_scope() or request.remote_addr or "", key,
                                     *sent)))
    return limiter.storage.incr(f"givetake/attempt/{marker}", ATTEMPT_WINDOW) <= 1


def form_key() -> str:
    """A key for a form being rendered (the template global `idem_key`); names this browser in its session too."""
    flask.session.setdefault(BROWSER, new_key())
    return new_key()


def init_app(app) -> None:
    """Templates render `<input type="hidden" name="idem" value="{{ idem_key() }}">` in replayable forms."""
    app.add_template_global(form_key, "idem_key")


def _session_changes(before: dict) -> dict:
    after = dict(flask.session)
    return {"set": {k: v for k, v in after.items() if k not in before or before[k] != v},
            "drop": [k for k in before if k not in after]}


def _restore_session(before: dict) -> None:
    flask.session.clear()
    flask.session.update(before)


def _answer(response, before: dict, key: str) -> dict | None:
    """What to store of a form view's answer: its redirect target or its JSON, and, sealed, the session and
    cookies it set (the walk-in being served, the personal token for the done screen, a device's cookie), since
    a retry comes exactly when those were lost with the answer. None for answers not worth keeping."""
    if response.status_code >= 400 or g.get("gt_discard"):
        return None  # errors roll back: the retry runs again and gets the same error
    if 300 <= response.status_code < 400 and response.location:
        body = {"location": response.location}
    elif response.is_json:
        body = {"json": response.get_json()}
    else:
        return None
    extra = {**_session_changes(before), "cookies": response.headers.getlist("Set-Cookie")}
    return {**body, "_sealed": seal(json.dumps(extra), key)}


def _replay(first: IdempotentResponse, key: str):
    body = unsealed(first.body, key)
    for name in body.get("drop", []):
        flask.session.pop(name, None)
    flask.session.update(body.get("set", {}))
    if "location" in body:
        response = redirect(body["location"], first.status_code)
    else:
        response = jsonify(body.get("json"))
        response.status_code = first.status_code
    for cookie in body.get("cookies", []):
        response.headers.add("Set-Cookie", cookie)
    return response


def replayable(scope_of: Callable[[], str | None]):
    """Make a form POST view replayable by its hidden `idem` field, within `scope_of()` (None: not replayable,
    say a phone that is signed out). The first successful answer (a redirect, or JSON for me.js) is stored in the
    request's transaction; a retry with the same key gets it again without running the view. A retry that raced
    the first attempt and lost (its check-in conflicts, or its stored answer clashes) gets the winner's answer."""
    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if request.method != "POST":
                return view(*args, **kwargs)
            key = checked_key(request.form.get(FORM_FIELD), status=400)
            who = scope_of() if key else None
            if not who:
                return view(*args, **kwargs)
            session = db.session
            scope = f"{who}:{request.endpoint}:{request.path}"
            if (first := stored_answer(session, scope, key)) is not None:
                return _replay(first, key)
            before = copy.deepcopy(dict(flask.session))
            try:
                response = current_app.make_response(view(*args, **kwargs))
                if (body := _answer(response, before, key)) is not None:
                    remember(session, scope, key, response.status_code, body)
            except (DomainError, IntegrityError):
                session.rollback()
                if (first := stored_answer(session, scope, key)) is not None:
                    _restore_session(before)
                    return _replay(first, key)
                raise
            return response
        return wrapper
    return decorate
