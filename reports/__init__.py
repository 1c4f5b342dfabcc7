"""PDF reports (reportlab), their signing and verification."""
