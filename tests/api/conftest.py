"""Reuse the check-in fixtures (an event with people, a paired kiosk)."""
from tests.checkin.conftest import event_people, kiosk_client  # noqa: F401
