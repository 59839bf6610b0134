"""Gating and classifier docks: sort cells into classes."""
