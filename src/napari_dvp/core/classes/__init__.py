"""Cell classes: marker gating, the random-forest classifier, class colours on the labels."""
