"""The audit trail pages: search, export (CSV, PDF) and chain verification."""
