"""Attendees: records, cards, search, erasure, CSV import and export."""
