"""Pre-event links: attendees fill their cards and consents at home; the kiosk shows them for a quick check."""
