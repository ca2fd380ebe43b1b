"""One transaction per request, opened and committed in one place (in the spirit of Indico's request handler).

Every blueprint is a `Blueprint` from here: each of its views runs inside `one_transaction`, so views never commit
or roll back by hand. A view that returns a success or a redirect commits what the services it called did; an
exception, or an answer with an error status (a form shown again with its error, a JSON error), rolls everything
back, and so does a view that called `discard()` before answering with a redirect (a flash message saying what
went wrong). After-commit actions (emits, matcher work, print jobs) therefore go out only for what was committed.
When the commit itself fails (the disk is full, PostgreSQL went away), the view's answer is dropped for the error
page, and so is what the view put in the browser's session: a kiosk must not go on serving a walk-in whose row was
never written (on SQLite the next walk-in would get that id).
"""
from __future__ import annotations

import copy
import functools

import flask
from flask import current_app, g

from .db import db


def discard() -> None:
    """Roll back this request's writes whatever the view answers (for a redirect after a failed change)."""
    g.gt_discard = True


def one_transaction(view):
    """Run `view` in the request's transaction: commit on success (status < 400), roll back otherwise."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        session = db.session
        cookie = copy.deepcopy(flask.session.copy())  # a plain copy: reading it would mark the session accessed
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except BaseException:
            session.rollback()
            raise
        if response.status_code >= 400 or g.pop("gt_discard", False):
            session.rollback()
            return response
        try:
            session.commit()
        except BaseException:
            session.rollback()
            flask.session.clear()
            flask.session.update(cookie)
            raise
        return response
    return wrapper


class Blueprint(flask.Blueprint):
    """A Flask blueprint whose every view runs in `one_transaction`."""

    def add_url_rule(self, rule, endpoint=None, view_func=None, provide_automatic_options=None, **options):
        if view_func is not None:
            # One wrapper per view, however many routes it has (Flask refuses two functions for one endpoint).
            wrapped = view_func.__dict__.get("_in_one_transaction")
            if wrapped is None:
                wrapped = view_func._in_one_transaction = one_transaction(view_func)
            view_func = wrapped
        super().add_url_rule(rule, endpoint, view_func, provide_automatic_options, **options)
