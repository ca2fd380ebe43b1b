"""Check-in: the kiosk pages and the atomic check-in."""
