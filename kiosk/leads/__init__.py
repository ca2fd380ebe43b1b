"""Sponsor and exhibitor leads: sponsors with qualifier questions, their badge scanners, leads and exports."""
