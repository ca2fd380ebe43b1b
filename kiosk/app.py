"""The app factory: config, database, extensions, blueprints, error pages and security headers."""
from __future__ import annotations

import logging
import os
from zoneinfo import ZoneInfo

from flask import Flask, has_request_context, redirect, request, session, url_for
from flask.globals import request_ctx
from flask.sessions import SecureCookieSessionInterface
from flask_babel import get_locale
from werkzeug.middleware.proxy_fix import ProxyFix

from . import config as config_module
from . import idempotency
from . import resources, serving
from .admin import commands as admin_commands
from .admin import views as admin_views
from .api import blueprint as api
from .attendees import commands as attendee_commands
from .auth import views as auth_views
from .auth.service import load_organizer
from .backups import commands as backup_commands
from .badges import commands as badge_commands
from .badges import service as badges
from .badges import views as badge_views
from .checkin import views as kiosk_views
from .concurrency import async_mode
from .db import Database
from .devices import views as device_views
from .errors import register_error_handlers
from .extensions import babel, csrf, limiter, login_manager, socketio
from .tokens import instance_fingerprint
from .leads import views as lead_views
from .matching import commands as matcher_commands
from .matching import runtime as matching
from .me import views as phone_views
from .prepare import views as prepare_views
from .realtime import views as realtime_views
from .reports import commands as report_commands
from .reports import views as report_views
from .retention import commands as retention_commands
from .rounds import commands as round_commands
from .scanning import views as scanning_views
from .screen import views as screen_views

#: Every capability, wired through its `init_app` (blueprints, commands, workers), in this order.
CAPABILITIES = (idempotency, matching, badges, auth_views, admin_views, api, badge_views, device_views, kiosk_views,
                lead_views, realtime_views, phone_views, prepare_views, report_views, scanning_views, screen_views,
                serving,
                admin_commands, attendee_commands, backup_commands, badge_commands, matcher_commands,
                report_commands, retention_commands, round_commands)

LANGUAGES = ["en", "de"]


#: Sent by static/js/forms.js with the forms it posts in the background.
BACKGROUND_FORM_HEADER = "X-Background-Form"


def create_app(config: dict | None = None) -> Flask:
    """Build the app: config from the environment (overridden by `config`), database, extensions, blueprints."""
    instance_path = config_module.instance_path(config or {}, os.environ)
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True,
                template_folder=str(resources.templates_dir()), static_folder=str(resources.static_dir()))
    os.makedirs(app.instance_path, exist_ok=True)
    settings = config_module.from_env(app.instance_path, {**os.environ, **_env_overrides(config)})
    app.config.from_mapping(settings)
    app.config["LANGUAGES"] = LANGUAGES
    if config:
        app.config.update(config)
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("alembic").setLevel(logging.WARNING)

    database = Database(app.config["DATABASE_URL"])
    app.extensions["givetake.db"] = database

    @app.teardown_appcontext
    def _remove_session(_exc=None):
        database.scoped.remove()

    app.session_interface = _PerRequestSecureSessions()
    _init_extensions(app)
    if app.config.get("PROXY_HOPS"):
        # Behind nginx: trust its X-Forwarded-For/Proto/Host so rate limits, URLs and Secure cookies are right.
        hops = int(app.config["PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    for capability in CAPABILITIES:
        capability.init_app(app)
    register_error_handlers(app)

    @app.template_filter("local")
    def _local_time(value, event=None, fmt: str = "%H:%M"):
        """A stored UTC time shown in the event's time zone (the venue's clock)."""
        if value is None:
            return "—"
        zone = ZoneInfo(getattr(event, "timezone", None) or "UTC")
        return value.astimezone(zone).strftime(fmt)

    @app.get("/")
    def index():
        return redirect(url_for("admin.home"))

    @app.get("/healthz")
    def healthz():
        """For the load balancer's health checks, monitoring, `givetake doctor` and the ready panel: which server
        answers (`instance`: a digest of the secret key, the same in every process of one deployment), this
        process and how many live sockets it holds. No database call: a database outage must not take every
        process out of the balancer's pool."""
        held = len(getattr(getattr(socketio, "server", None) and socketio.server.eio, "sockets", {}) or {})
        return {"app": "givetake", "ok": True, "instance": instance_fingerprint(), "pid": os.getpid(),
                "sockets": held}

    @app.after_request
    def _flashes_outlive_the_background_fetch(response):
        """static/js/forms.js posts a form with fetch, which follows the redirect and so renders (and uses up) the
        next page's messages ("Saved."), then has the browser load that page itself. The followed GET still carries
        the post's `X-Background-Form` header (fetch keeps headers across a redirect): give the messages it read
        back to the session, for the load that shows them."""
        if request.method == "GET" and request.headers.get(BACKGROUND_FORM_HEADER):
            read = getattr(request_ctx, "flashes", None)
            if read:
                session["_flashes"] = list(read)
        return response

    @app.after_request
    def _security_headers(response):
        if not request.path.startswith("/static/"):
            # Pages show people's details (kiosk, phone, admin): never kept in a shared browser's cache or history.
            response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; "
            "script-src 'self'; connect-src 'self' ws: wss:; frame-ancestors 'none'")
        return response

    return app


class _PerRequestSecureSessions(SecureCookieSessionInterface):
    """Mark the session cookie Secure when the request came over HTTPS: phones may use the public https URL
    while tablets reach the laptop on the venue's plain-http address, and both need a working session."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure


def _env_overrides(config: dict | None) -> dict:
    # Tests and scripts pass GIVETAKE_* keys in `config`; treat them as environment for from_env.
    return {k: str(v) for k, v in (config or {}).items() if k.startswith("GIVETAKE_") and v is not None}


def _select_locale() -> str:
    if not has_request_context():
        return "en"  # CLI, matcher thread: messages go to organizers' logs
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or "en"


def _init_extensions(app: Flask) -> None:
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale,
                   default_translation_directories=str(resources.translations_dir()))
    app.jinja_env.globals["get_locale"] = get_locale
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in as an organizer to continue."
    login_manager.session_protection = "strong"
    login_manager.user_loader(load_organizer)

    redis_url = app.config.get("REDIS_URL")
    app.config.setdefault("RATELIMIT_STORAGE_URI", redis_url or "memory://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    # Redis restarting must not stop check-ins: limits are kept in memory meanwhile, per process.
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    limiter.init_app(app)
    socketio.init_app(app, async_mode=async_mode(), message_queue=redis_url,
                      cors_allowed_origins=app.config.get("SOCKETIO_CORS_ORIGINS", []) or None)
