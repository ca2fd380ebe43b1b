"""Domain errors raised by services, and the one place that maps them to HTML pages and JSON answers."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException


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

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        message = "Something went wrong on our side. Nothing was saved half-way; please try again."
        if wants_json():
            return jsonify({"code": "internal_error", "message": message}), 500
        return _page(500, "Unexpected error", message)
