"""Slide dock: open a slide, its channels and pixel size."""
