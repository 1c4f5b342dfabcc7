"""Login, logout and the guard that keeps every other page behind a login."""
