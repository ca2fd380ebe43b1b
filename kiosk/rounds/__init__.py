"""Networking rounds: everyone present paired at once, a meeting point each, a countdown on every screen."""
