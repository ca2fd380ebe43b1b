"""Badges: PDF rendering (render, layouts, fonts) and printing through CUPS (printing)."""
