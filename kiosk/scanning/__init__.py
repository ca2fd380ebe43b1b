"""Badge scanning: the public card behind a badge's QR, contacts between attendees, vCards."""
