"""The cell table, the hub of the pipeline: its column names and its files."""
