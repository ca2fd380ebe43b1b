"""Backups: copies of the SQLite database taken while the server runs (`givetake backup`), and the last one's record."""
