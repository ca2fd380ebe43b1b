"""Real time: every message is logged with a per-event seq, then pushed over Socket.IO after commit."""
from .bus import publish, room_name

__all__ = ["publish", "room_name"]
