"""Retention: contacts and leads are kept for a set number of days after an event, then purged."""
