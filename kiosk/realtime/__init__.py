"""Real time: every message is logged with a per-event seq, then pushed over Socket.IO after commit."""
from .bus import EventBus, InProcessBus, RedisBus, current_bus, publish, room_name

__all__ = ["EventBus", "InProcessBus", "RedisBus", "current_bus", "publish", "room_name"]
