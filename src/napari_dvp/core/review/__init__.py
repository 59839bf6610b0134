"""Review of a segmentation: QC flags, edits with undo, walking through flagged cells."""
