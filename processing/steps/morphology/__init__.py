"""Grey-level morphology: opening and closing."""
