"""Alembic environment and revisions; triggers and privileges are written by hand here."""
