"""Segment dock: run cellpose or the built-in segmenter."""
