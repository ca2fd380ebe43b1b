"""The attendee's phone page: opened from the personal QR, live matches, cards, rounds."""
