"""Badges: PDF rendering (render, with qr, text_fit, fonts, layouts) and CUPS printing over IPP (printing, ipp)."""
