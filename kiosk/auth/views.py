"""Login and logout pages for organizers."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_login import login_required, login_user, logout_user

from ..db import db
from ..extensions import limiter
from ..transactions import Blueprint
from .service import authenticate

bp = Blueprint("auth", __name__)


def init_app(app) -> None:
    """Register this capability's pages."""
    app.register_blueprint(bp)


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an attacker's ?next=https://evil.example must not become an open redirect.
    if (target and target.startswith("/") and not target.startswith("//") and "\\" not in target
            and not urlsplit(target).netloc):
        return target
    return url_for("admin.home")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute; 100 per hour", methods=["POST"])
def login():
    """Organizer login form."""
    if request.method == "POST":
        session = db.session
        organizer = authenticate(session, request.form.get("email", ""), request.form.get("password", ""))
        if organizer is not None:
            login_user(organizer, remember=bool(request.form.get("remember")))
            return redirect(_safe_next(request.args.get("next")))
        flash("That email and password do not match an organizer account.", "error")
        return render_template("auth/login.html", email=request.form.get("email", "")), 401
    return render_template("auth/login.html", email="")


@bp.post("/logout")
@login_required
def logout():
    """Log out (POST with a CSRF token, so a link on another site cannot log you out)."""
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))
