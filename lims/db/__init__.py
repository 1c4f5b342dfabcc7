"""Database plumbing: declarative base, column types, engine/session factories, unit of work."""
