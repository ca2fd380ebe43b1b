"""The API's one blueprint, with the routes of every module that adds to it (kiosk.api.views for kiosks and
organizers, kiosk.api.leads for sponsors' scanners, kiosk.api.phone for attendees' phones), registered once."""
from __future__ import annotations

from . import leads, phone, views  # noqa: F401  (importing them adds their routes to `views.bp`)


def init_app(app) -> None:
    """Register the API."""
    app.register_blueprint(views.bp)
