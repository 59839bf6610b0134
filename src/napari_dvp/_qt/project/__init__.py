"""Project dock: save, open, autosave and recover."""
