"""Regions dock: draw, import and assign tissue regions."""
