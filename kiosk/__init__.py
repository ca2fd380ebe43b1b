"""Give & Take: the Flask app (kiosk, screen, phone pages, admin, API) and its services.

This module imports nothing heavy: `givetake serve` in gevent mode must monkey-patch the standard library before
Flask, SQLAlchemy or anything that creates locks is imported (see kiosk.launch).
"""
from __future__ import annotations


def create_app(config: dict | None = None):
    """Build the app: config from the environment (overridden by `config`), database, extensions, blueprints."""
    from .app import create_app as build
    return build(config)
