"""Review dock: QC flags, merge/split/delete, undo."""
