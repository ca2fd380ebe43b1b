"""The live match screen on a projector or TV, paired like a kiosk."""
