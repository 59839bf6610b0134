"""Proteins-on-tissue dock: read MS results, match runs, paint scores."""
