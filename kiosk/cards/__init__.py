"""The two cards, "I can offer" and "I'm looking for": one encoding of their items and tags for every page."""
