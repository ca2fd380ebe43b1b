"""Badges: PDF rendering (render, with qr, text_fit, fonts, layouts) and printing through CUPS (printing)."""
