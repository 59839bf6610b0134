"""LMD export dock: plan samples, calibrate, export Leica/PALM files."""
