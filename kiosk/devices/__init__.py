"""Paired devices: kiosks, screens and scanners, with their bearer tokens."""
