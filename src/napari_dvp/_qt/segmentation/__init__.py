"""Segment dock: channels, method, region of the current slide; run; the slide's cells."""
