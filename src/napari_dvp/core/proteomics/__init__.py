"""Proteomics back onto the tissue: read, match to LMD samples, process, score."""
