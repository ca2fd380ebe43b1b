"""Domain errors raised by services, and the one place that maps them to HTML pages and JSON answers."""
from __future__ import annotations

from flask import Flask, current_app, jsonify, render_template, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from .db import storage_failure


class DomainError(Exception):
    """A failure a user can understand: a stable `code`, a human `message`, an HTTP `status`."""

    code = "error"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None, details=None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.details = details

    def to_dict(self) -> dict:
        body = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class ValidationFailed(DomainError):
    """Input that does not fit: `details` maps field names (or row/column places) to what is wrong."""

    code = "invalid"
    status = 422


class NotFound(DomainError):
    """The thing asked for does not exist (or is not visible to this caller)."""

    code = "not_found"
    status = 404


class Forbidden(DomainError):
    """The caller is known but may not do this."""

    code = "forbidden"
    status = 403


class Conflict(DomainError):
    """The request clashes with the current state (already checked in, duplicate slug...)."""

    code = "conflict"
    status = 409


def wants_json() -> bool:
    """True for API calls and clients that ask for JSON."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


#: Pages that devices and attendees see (kiosk, screen, phone, badge card, pairing, a sponsor's scanner): their error pages carry no
#: organizer chrome and no link into admin.
PUBLIC_PREFIXES = ("/kiosk", "/screen", "/me", "/m/", "/b/", "/pair", "/badges/", "/leads")


def _page(status: int, title: str, message: str, details=None):
    public = request.path.startswith(PUBLIC_PREFIXES)
    return render_template("errors/error.html", status=status, title=title, message=message, details=details,
                           public=public), status


#: Seconds a client is asked to wait (Retry-After) before sending again while the database is unavailable.
RETRY_AFTER_SECONDS = 3

#: code, HTTP status, page title and message for each `storage_failure`.
STORAGE_FAILURES = {
    "unavailable": ("database_unavailable", 503, "Try again in a moment",
                    "The database is not answering right now (it may be restarting). Nothing was saved; "
                    "try again in a moment."),
    "full": ("storage_full", 507, "The disk is full",
             "The disk that holds the database is full, so nothing was saved. Organizer: free some disk space on "
             "the computer running Give & Take, then try again."),
}


def _page_without_database(status: int, title: str, message: str):
    # The app's context processors would load the signed-in organizer for the header from the database that just
    # failed (and the rollback expired it): render the public page from the template alone.
    page = current_app.jinja_env.get_template("errors/error.html")
    return page.render(status=status, title=title, message=message, details=None, public=True), status


def register_error_handlers(app: Flask) -> None:
    """Map domain errors and HTTP errors to JSON for the API and to helpful pages for people."""

    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError):
        if wants_json():
            return jsonify(exc.to_dict()), exc.status
        return _page(exc.status, exc.message, exc.message, exc.details)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        status = exc.code or 500
        code = (exc.name or "error").lower().replace(" ", "_")
        message = exc.description or exc.name
        if wants_json():
            return jsonify({"code": code, "message": message}), status
        return _page(status, exc.name, message)

    @app.errorhandler(SQLAlchemyError)
    def _database_error(exc: SQLAlchemyError):
        failure = storage_failure(exc)
        if failure is None:
            return _unexpected(exc)
        code, status, title, message = STORAGE_FAILURES[failure]
        app.logger.warning("%s on %s %s: %s", code, request.method, request.path,
                           str(getattr(exc, "orig", None) or exc).strip().partition("\n")[0])
        if wants_json():
            response = jsonify({"code": code, "message": message})
        else:
            response = app.make_response(_page_without_database(status, title, message))
        response.status_code = status
        if status == 503:
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        message = "Something went wrong on our side. Nothing was saved half-way; please try again."
        if wants_json():
            return jsonify({"code": "internal_error", "message": message}), 500
        return _page(500, "Unexpected error", message)
