"""Flask extension objects, created once and bound to the app in `create_app`."""
from __future__ import annotations

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_socketio import SocketIO
from flask_wtf import CSRFProtect

socketio = SocketIO()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# Limits are set per route (lookups, scans, login); none by default so kiosks behind one NAT are not throttled.
limiter = Limiter(key_func=get_remote_address, default_limits=[])
