"""The Study dock: a cohort of slides -> one plate plan -> one MS matrix -> statistics."""
