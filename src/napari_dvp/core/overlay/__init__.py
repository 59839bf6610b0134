"""Values per cell painted onto the labels: lookup tables, protein/score overlays."""
