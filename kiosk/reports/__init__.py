"""Post-event reports: the organizer's PDF, one summary PDF per attendee, and mailing them."""
