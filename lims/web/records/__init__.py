"""Changing records from their pages: edit, retire, notes, metadata; history and retirements."""
