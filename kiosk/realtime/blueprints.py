"""The real-time capability's pages: the live screen, the phone page and the staff dashboard."""
from ..me.views import bp as me_bp
from ..screen.views import bp as screen_bp
from .views import bp as live_bp

BLUEPRINTS = (me_bp, screen_bp, live_bp)
