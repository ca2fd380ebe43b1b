"""Organizer accounts: passwords, login and logout."""
