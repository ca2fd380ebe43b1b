"""Where the app's files are, from a checkout (editable install) and from an installed wheel alike.

A checkout keeps templates/ and static/ at the repository root, next to kiosk/ (DESIGN.md's layout); the wheel
carries them inside the package as kiosk/templates and kiosk/static (setup.py maps them there). Everything else
(translations, migrations) lives inside the package in both.
"""
from __future__ import annotations

import sys
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
#: True when running from an installed wheel, False from the source tree.
INSTALLED = (_PACKAGE / "templates").is_dir()
_WEB_ROOT = _PACKAGE if INSTALLED else _PACKAGE.parent


def templates_dir() -> Path:
    """Jinja templates, a folder per capability."""
    return _WEB_ROOT / "templates"


def static_dir() -> Path:
    """CSS, JS, fonts and vendored browser libraries, served under /static."""
    return _WEB_ROOT / "static"


def fonts_dir() -> Path:
    """The bundled Unicode fonts badges and PDFs are drawn with (the same files the pages serve)."""
    return static_dir() / "fonts"


def translations_dir() -> Path:
    """Compiled gettext catalogues (`<lang>/LC_MESSAGES/messages.mo`)."""
    return _PACKAGE / "translations"


def migrations_dir() -> Path:
    """Alembic's script directory: env.py, script.py.mako and versions/."""
    return _PACKAGE / "migrations"


def default_instance_dir() -> Path:
    """Where the database and secret key go when GIVETAKE_INSTANCE_PATH is unset: `instance/` in a checkout,
    `<environment>/var/givetake-instance` for an installed wheel (Flask's place for an installed app's instance
    folder: site-packages is no place for a database)."""
    if INSTALLED:
        return Path(sys.prefix) / "var" / "givetake-instance"
    return _PACKAGE.parent / "instance"
