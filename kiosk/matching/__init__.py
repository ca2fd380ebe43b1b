"""Matching in the app: the single-writer matcher loop (`loop`), its work queue (`queue`), how services hand it
work (`submit`), how the app chooses where it runs (`runtime`) and the database side of matches (`service`)."""
