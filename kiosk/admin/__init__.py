"""Organizer pages: events, tags, attendees, import and export."""
